from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode


def otp_verified(user: Any) -> bool:
    """Past the second factor in this session (django-otp's middleware sets ``is_verified``)."""
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified is not None and is_verified())


def staff_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Staff pages: signed in as staff and past the second factor; otherwise back to the right step."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if not user.is_authenticated or getattr(user, "kind", "") != "staff":
            return redirect(reverse("accounts:staff_login") + "?" + urlencode({"next": request.get_full_path()}))
        if not otp_verified(user):
            return redirect(reverse("accounts:staff_verify") + "?" + urlencode({"next": request.get_full_path()}))
        return view(request, *args, **kwargs)

    return wrapper


def applicant_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if not user.is_authenticated or getattr(user, "kind", "") != "applicant":
            return redirect(reverse("accounts:login") + "?" + urlencode({"next": request.get_full_path()}))
        return view(request, *args, **kwargs)

    return wrapper
