"""The official channel in the applicant JSON API (the mobile client): the same actions and answers as the pages."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema

from gerbang.accounts.api_auth import APPLICANT_AUTH
from gerbang.applications.selectors import application_for_filer
from gerbang.core.api_types import errors
from gerbang.core.errors import FieldError

from . import actions, notifications
from .models import Message
from .views import CODE_LENGTH, check_answer, conversation, normalise_code

router = Router(tags=["channel"], auth=APPLICANT_AUTH)

# Line breaks and tabs are text; other control characters (NUL above all: PostgreSQL cannot store it) are not.
MESSAGE_TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


class MessageOut(Schema):
    id: int
    sender: Literal["applicant", "office"] = Field(
        ..., description="applicant: you; office: the immigration office (officers are never named)"
    )
    body: str
    sent_at: dt.datetime


class MessageIn(Schema):
    body: str = Field(
        ...,
        max_length=4 * actions.MAX_LENGTH,
        pattern=MESSAGE_TEXT,
        description="1 to 2000 characters once trimmed (CR LF counts as one)",
    )


class CheckIn(Schema):
    code: str = Field(
        ..., max_length=40, description="The check code at the end of an e-mail or SMS; case, spaces and dashes ignored"
    )


class CheckOut(Schema):
    genuine: bool = Field(..., description="Gerbang sent a notification with this code to you")
    sent_at: dt.datetime | None = Field(None, description="When it was sent (or queued, if not sent yet)")
    channel: Literal["email", "sms"] | None = None
    reference: str = Field("", description="The application it is about, if any")
    subject: str = ""
    body: str = Field("", description="What it said: compare it with the message received")


def _message(message: Message) -> dict[str, Any]:
    return {"id": message.pk, "sender": message.sender, "body": message.body, "sent_at": message.sent_at}


@router.get(
    "/applications/{application_id}/messages",
    response={200: list[MessageOut], **errors(401, 404, 422)},
    summary="The messages with the office about an application, oldest first",
)
def list_messages(request: HttpRequest, application_id: uuid.UUID) -> list[dict[str, Any]]:
    application = application_for_filer(request.user, application_id)
    return [_message(m) for m in conversation(application)]


@router.post(
    "/applications/{application_id}/messages",
    response={201: MessageOut, **errors(400, 401, 404, 422)},
    summary="Write to the office about an application",
)
def send_message(request: HttpRequest, application_id: uuid.UUID, payload: MessageIn) -> tuple[int, dict[str, Any]]:
    application = application_for_filer(request.user, application_id)
    message = actions.send_from_applicant(application, actor=request.user, body=payload.body)
    return 201, _message(message)


@router.post(
    "/notifications/check",
    response={200: CheckOut, **errors(400, 401, 422)},
    summary="Is this e-mail or SMS really from Gerbang? Checks a code against the notifications sent to you",
)
def check_notification(request: HttpRequest, payload: CheckIn) -> dict[str, Any]:
    code = normalise_code(payload.code)
    if len(code) != CODE_LENGTH:
        raise FieldError("code", "A check code has 8 letters and digits.", location="body")
    return check_answer(notifications.check_code(request.user, code))
