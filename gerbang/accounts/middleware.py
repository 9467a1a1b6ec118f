"""Staff sessions end after a short idle period (settings.STAFF_IDLE_TIMEOUT)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

SESSION_KEY = "gerbang_last_seen"


class StaffIdleTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and getattr(user, "kind", "") == "staff":
            now = time.time()
            last = request.session.get(SESSION_KEY)
            limit = settings.STAFF_IDLE_TIMEOUT.total_seconds()
            if last is not None and now - float(last) > limit:
                logout(request)
                messages.info(
                    request,
                    _("You were signed out after %(minutes)d minutes without activity.") % {"minutes": limit // 60},
                )
            else:
                request.session[SESSION_KEY] = now
        return self.get_response(request)
