from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.security import django_auth
from pydantic import EmailStr

from . import actions
from .models import User

router = Router(tags=["accounts"])

LANGUAGE_CODES = "|".join(code for code, _name in settings.LANGUAGES)


class RegisterIn(Schema):
    email: EmailStr
    full_name: str = Field(..., min_length=1, max_length=200)
    password: str = Field(..., min_length=1, max_length=200)
    language: str = Field("id", pattern=f"^({LANGUAGE_CODES})$")


class AccountOut(Schema):
    id: int
    email: str
    full_name: str
    kind: str
    email_verified: bool
    language: str


def _account(user: User) -> dict[str, object]:
    return {
        "id": user.pk,
        "email": user.email,
        "full_name": user.full_name,
        "kind": user.kind,
        "email_verified": user.email_verified_at is not None,
        "language": user.preferred_language,
    }


@router.post("/accounts/register", response={201: AccountOut}, summary="Create an applicant account")
def register(request: HttpRequest, payload: RegisterIn) -> tuple[int, dict[str, object]]:
    from django.core.exceptions import ValidationError

    try:
        user = actions.register_applicant(
            email=payload.email, full_name=payload.full_name, password=payload.password, language=payload.language
        )
    except ValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise ValidationError({"password": exc.messages}) from exc
        raise
    return 201, _account(user)


@router.get("/me", response=AccountOut, auth=django_auth, summary="The signed-in account")
def me(request: HttpRequest) -> dict[str, object]:
    return _account(request.user)  # type: ignore[arg-type]
