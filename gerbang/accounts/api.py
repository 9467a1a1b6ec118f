from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth import authenticate
from django.http import HttpRequest
from ninja import Field, Router, Schema
from pydantic import EmailStr

from gerbang.core.api_types import IsoDate, errors
from gerbang.core.errors import ServiceUnavailable
from gerbang.identity.actions import current_identity, register_citizen
from gerbang.identity.registry import RegistryUnavailable

from . import actions
from .api_auth import APPLICANT_AUTH, bearer
from .models import User

router = Router(tags=["accounts"])

LANGUAGE_CODES = "|".join(code for code, _name in settings.LANGUAGES)
DIGITS_16 = r"^[0-9]{16}$"


class RegisterIn(Schema):
    email: EmailStr
    full_name: str = Field(..., min_length=1, max_length=120, description="Exactly as on the ID card")
    password: str = Field(..., min_length=1, max_length=200)
    nik: str = Field(..., pattern=DIGITS_16, description="16-digit NIK")
    kk: str = Field(..., pattern=DIGITS_16, description="16-digit family card number")
    birth_date: IsoDate
    language: str = Field("id", pattern=f"^({LANGUAGE_CODES})$")


class DependantOut(Schema):
    nik: str
    name: str
    birth_date: dt.date


class IdentityOut(Schema):
    status: str = Field(..., description="active, or pending_office_check when the NIK is bound to another account")
    nik: str
    name: str
    birth_date: dt.date
    claim_code: str = Field("", description="Show it at an office to settle a contested NIK")
    dependants: list[DependantOut]


class AccountOut(Schema):
    id: int
    email: str
    full_name: str
    kind: str
    email_verified: bool
    language: str
    identity: IdentityOut | None = None


class TokenIn(Schema):
    email: EmailStr
    password: str = Field(..., min_length=1, max_length=200)


class TokenOut(Schema):
    token: str
    expires_at: dt.datetime


class Message(Schema):
    detail: str


def _account(user: User) -> dict[str, object]:
    identity = current_identity(user, include_pending=True) if user.kind == User.Kind.APPLICANT else None
    return {
        "id": user.pk,
        "email": user.email,
        "full_name": user.full_name,
        "kind": user.kind,
        "email_verified": user.email_verified_at is not None,
        "language": user.preferred_language,
        "identity": None
        if identity is None
        else {
            "status": identity.status,
            "nik": identity.nik,  # the owner sees their own NIK in full
            "name": identity.name,
            "birth_date": identity.birth_date,
            "claim_code": identity.claim_code,
            "dependants": [
                {"nik": d.nik, "name": d.name, "birth_date": d.birth_date} for d in identity.dependants.all()
            ],
        },
    }


@router.post(
    "/accounts/register",
    response={201: AccountOut, 503: Message, **errors(400, 422)},
    summary="Create an applicant account bound to a NIK the population registry confirms",
)
def register(request: HttpRequest, payload: RegisterIn) -> tuple[int, dict[str, object]]:
    try:
        user = register_citizen(
            email=payload.email,
            full_name=payload.full_name,
            password=payload.password,
            language=payload.language,
            nik=payload.nik,
            kk=payload.kk,
            birth_date=payload.birth_date,
        )
    except RegistryUnavailable as exc:
        raise ServiceUnavailable("The population registry cannot be reached; nothing was saved. Try again.") from exc
    return 201, _account(user)


@router.post(
    "/auth/token",
    response={201: TokenOut, **errors(400, 401, 422, 429)},
    summary="Sign in an applicant's mobile app: a bearer token for the Authorization header",
)
def issue_token(request: HttpRequest, payload: TokenIn) -> tuple[int, dict[str, object]]:
    user = authenticate(request, username=payload.email.lower(), password=payload.password)
    if (
        not isinstance(user, User)
        or user.kind != User.Kind.APPLICANT
        or user.email_verified_at is None
        or not user.is_active
    ):
        return 401, {"detail": "Wrong e-mail address or password, or the e-mail address is not confirmed yet."}
    raw, token = actions.issue_api_token(user)
    actions.record_sign_in(user, step="api_token")
    return 201, {"token": raw, "expires_at": token.expires_at}


@router.delete(
    "/auth/token", response={204: None, **errors(401)}, auth=bearer, summary="Sign out: revoke this bearer token"
)
def revoke_token(request: HttpRequest) -> tuple[int, None]:
    user: User = request.user  # type: ignore[assignment]
    actions.revoke_api_token(user._api_token, actor=user)  # type: ignore[attr-defined]
    return 204, None


@router.get("/me", response={200: AccountOut, **errors(401)}, auth=APPLICANT_AUTH, summary="The signed-in account")
def me(request: HttpRequest) -> dict[str, object]:
    return _account(request.user)  # type: ignore[arg-type]
