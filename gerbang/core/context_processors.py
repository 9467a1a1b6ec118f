from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def gerbang(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    is_staff_member = bool(user is not None and user.is_authenticated and getattr(user, "kind", "") == "staff")
    return {"is_staff_member": is_staff_member}
