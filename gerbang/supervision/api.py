"""The question after a counter visit in the JSON API (the mobile client): the open questions, and the answer."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import Http404, HttpRequest
from django.urls import reverse
from ninja import Field, Router, Schema
from pydantic import StrictBool, StrictInt

from gerbang.accounts.api_auth import APPLICANT_AUTH
from gerbang.accounts.models import User
from gerbang.core.api_types import errors

from .feedback import AlreadyAnswered, TooLate, answer_by, answer_feedback, answer_url, open_prompts
from .models import VisitFeedback

router = Router(tags=["feedback"], auth=APPLICANT_AUTH)


class FeedbackPromptOut(Schema):
    token: str = Field(..., description="Answer with POST /api/v1/feedback/{token}")
    office: str = Field(..., description="The office's name")
    office_code: str
    counter: int | None = Field(None, description="The counter that served you")
    visit_date: dt.date = Field(..., description="The day of the visit (office time)")
    prompted_at: dt.datetime
    answer_by: dt.datetime = Field(..., description="Answers are accepted until then, once")
    url: str = Field(..., description="The same question as a web page")


class FeedbackAnswerIn(Schema):
    asked_for_money: StrictBool = Field(..., description="Did anyone ask you for money or a gift?")
    satisfaction: StrictInt = Field(..., ge=1, le=5, description="How satisfied were you: 1 (not at all) to 5 (very)")


class FeedbackAnswerOut(Schema):
    token: str
    asked_for_money: bool
    satisfaction: int
    answered_at: dt.datetime
    report_url: str | None = Field(
        None, description="When someone asked for money: the anonymous report form, to say what happened"
    )


def _prompt(feedback: VisitFeedback) -> dict[str, Any]:
    return {
        "token": feedback.token,
        "office": feedback.office.name,
        "office_code": feedback.office.code,
        "counter": feedback.counter.number if feedback.counter else None,
        "visit_date": feedback.visit.day,
        "prompted_at": feedback.prompted_at,
        "answer_by": answer_by(feedback),
        "url": answer_url(feedback),
    }


@router.get(
    "/",
    response={200: list[FeedbackPromptOut], **errors(401)},
    summary="Your visits still waiting for the one-tap question: asked for money? how satisfied?",
)
def list_prompts(request: HttpRequest) -> list[dict[str, Any]]:
    user: User = request.user  # type: ignore[assignment]
    return [_prompt(f) for f in open_prompts(user)]


@router.post(
    "/{token}",
    response={200: FeedbackAnswerOut, **errors(400, 401, 404, 409, 422)},
    summary="Answer both questions about a visit, once",
)
def answer_prompt(request: HttpRequest, token: str, payload: FeedbackAnswerIn) -> Any:
    user: User = request.user  # type: ignore[assignment]
    feedback = VisitFeedback.objects.filter(token=token, applicant=user).select_related("office").first()
    if feedback is None:
        raise Http404
    try:
        answered = answer_feedback(
            feedback, actor=user, asked_for_money=payload.asked_for_money, satisfaction=payload.satisfaction
        )
    except AlreadyAnswered:
        return 409, {"detail": "This visit's question has already been answered."}
    except TooLate:
        return 409, {"detail": "Answers to this question are no longer accepted (7 days after it was asked)."}
    return {
        "token": answered.token,
        "asked_for_money": answered.asked_for_money,
        "satisfaction": answered.satisfaction,
        "answered_at": answered.answered_at,
        "report_url": request.build_absolute_uri(reverse("public:report_new")) if answered.asked_for_money else None,
    }
