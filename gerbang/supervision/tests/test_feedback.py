"""After a counter visit: the one-tap question sent once, answered once, over the page and the mobile API."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone, translation

from gerbang.accounts.actions import issue_api_token
from gerbang.applications.models import PassportApplication
from gerbang.audit.models import AuditEvent
from gerbang.casework.tests.support import Stage, check_in, paid_application, two_offices
from gerbang.channel.models import Notification
from gerbang.conftest import build_user, last_audit_id
from gerbang.duty.selectors import serving_at
from gerbang.duty.tests.support import verified
from gerbang.supervision import feedback
from gerbang.supervision.models import VisitFeedback
from gerbang.visits import actions as visits
from gerbang.visits.models import Visit

pytestmark = pytest.mark.django_db


def _served(stage: Stage, settings: Any, tmp_path: Any) -> Visit:
    """A paid application checked in at the front desk, called to its counter and served there."""
    application = paid_application(stage.home, settings, tmp_path)
    visit = check_in(application, stage.staff["front_desk"])
    officer = verified(stage.staff["front_desk"])
    session = serving_at(officer, stage.home)
    assert session is not None
    called = visits.call_next(counter=session.counter, actor=officer)
    assert called is not None and called.pk == visit.pk
    return visits.finish(visit=called, counter=session.counter, actor=officer, came=True)


def _feedback_notifications(application: PassportApplication) -> Any:
    return Notification.objects.filter(application=application, body__contains="/umpan-balik/")


def test_a_served_visit_is_asked_once_with_a_link_in_the_notification(settings: Any, tmp_path: Any) -> None:
    settings.GERBANG_PUBLIC_URL = "https://gerbang.example/"
    stage = two_offices()
    visit = _served(stage, settings, tmp_path)
    start = last_audit_id()

    assert feedback.ask_due() == 1
    asked = VisitFeedback.objects.get(visit=visit)
    assert asked.office == stage.home and asked.counter == visit.counter
    assert asked.officer == stage.staff["front_desk"] and asked.applicant == visit.application.filer
    assert asked.answered_at is None and asked.asked_for_money is None and len(asked.token) >= 40
    told = _feedback_notifications(visit.application)
    assert told.count() == 1
    note = told.get()
    assert note.recipient == visit.application.filer
    assert f"https://gerbang.example/umpan-balik/{asked.token}/" in note.body
    event = AuditEvent.objects.get(id__gt=start, action="supervision.feedback_asked")
    assert event.object_id == str(asked.pk) and event.actor is None
    assert "asked_for_money" not in event.details and asked.token not in str(event.details)

    # The next run of the schedule, and a second worker racing for the same visit: nothing more.
    assert feedback.ask_due() == 0
    assert feedback.ask(visit) is None
    assert VisitFeedback.objects.filter(visit=visit).count() == 1
    assert _feedback_notifications(visit.application).count() == 1
    assert AuditEvent.objects.filter(id__gt=start, action="supervision.feedback_asked").count() == 1


def test_old_visits_and_people_who_did_not_come_are_not_asked(settings: Any, tmp_path: Any) -> None:
    stage = two_offices()
    visit = _served(stage, settings, tmp_path)
    Visit.objects.filter(pk=visit.pk).update(finished_at=timezone.now() - dt.timedelta(hours=2))
    assert feedback.ask_due() == 0
    # Within the hour: asked, but only about someone who came.
    Visit.objects.filter(pk=visit.pk).update(finished_at=timezone.now() - dt.timedelta(minutes=50))
    Visit.objects.filter(pk=visit.pk).update(status=Visit.Status.ABSENT)
    assert feedback.ask_due() == 0
    Visit.objects.filter(pk=visit.pk).update(status=Visit.Status.SERVED)
    assert feedback.ask_due() == 1
    assert not _feedback_notifications(visit.application).exclude(recipient=visit.application.filer).exists()


def test_one_tap_on_the_page_records_both_answers_once(settings: Any, tmp_path: Any) -> None:
    stage = two_offices()
    visit = _served(stage, settings, tmp_path)
    feedback.ask_due()
    asked = VisitFeedback.objects.get(visit=visit)
    asked.applicant.preferred_language = "en"
    asked.applicant.save(update_fields=["preferred_language"])
    url = f"/umpan-balik/{asked.token}/"
    browser = Client()  # nobody signed in: the link's token is enough

    assert browser.get("/umpan-balik/not-a-token/").status_code == 404
    page = browser.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Nobody asked me for money or a gift" in html and "Someone asked me for money or a gift" in html
    assert html.count('name="answer"') == 10 and 'value="0:5"' in html and 'value="1:1"' in html
    assert stage.home.name in html

    # Something that no button sends: refused, nothing stored.
    bad = browser.post(url, {"answer": "2:9"})
    assert bad.status_code == 400
    asked.refresh_from_db()
    assert asked.answered_at is None

    start = last_audit_id()
    done = browser.post(url, {"answer": "1:2"})
    assert done.status_code == 200
    thanks = done.content.decode()
    assert 'id="feedback-thanks"' in thanks and 'id="feedback-report"' in thanks and 'href="/lapor/"' in thanks
    asked.refresh_from_db()
    assert asked.asked_for_money is True and asked.satisfaction == 2 and asked.answered_at is not None
    event = AuditEvent.objects.get(id__gt=start, action="supervision.feedback_answered")
    assert event.details == {"asked_for_money": True, "satisfaction": 2}
    assert event.office_id == stage.home.pk
    # Whoever opens the link later learns that it was answered, not what: no thanks for a "yes", no warning.
    later = browser.get(url)
    assert later.status_code == 200
    html = later.content.decode()
    assert 'id="feedback-already"' in html and 'href="/lapor/"' in html
    assert 'id="feedback-report"' not in html and 'id="feedback-thanks"' not in html

    # A second answer is refused politely and changes nothing.
    again = browser.post(url, {"answer": "0:5"})
    assert again.status_code == 409 and 'id="feedback-already"' in again.content.decode()
    with translation.override("en"):
        assert "already been answered" in again.content.decode()
    asked.refresh_from_db()
    assert asked.asked_for_money is True and asked.satisfaction == 2


def test_an_answer_after_seven_days_is_refused(settings: Any, tmp_path: Any) -> None:
    stage = two_offices()
    visit = _served(stage, settings, tmp_path)
    feedback.ask_due()
    asked = VisitFeedback.objects.get(visit=visit)
    VisitFeedback.objects.filter(pk=asked.pk).update(prompted_at=timezone.now() - dt.timedelta(days=8))
    url = f"/umpan-balik/{asked.token}/"
    assert Client().get(url).status_code == 410
    late = Client().post(url, {"answer": "0:4"})
    assert late.status_code == 410 and 'id="feedback-late"' in late.content.decode()
    asked.refresh_from_db()
    assert asked.answered_at is None and asked.satisfaction is None


def test_the_mobile_api_lists_open_questions_and_takes_one_answer(settings: Any, tmp_path: Any) -> None:
    stage = two_offices()
    visit = _served(stage, settings, tmp_path)
    feedback.ask_due()
    asked = VisitFeedback.objects.get(visit=visit)
    token, _row = issue_api_token(asked.applicant)
    api = Client(headers={"authorization": f"Bearer {token}", "accept-language": "en"})

    assert Client().get("/api/v1/feedback/").status_code == 401
    listed = api.get("/api/v1/feedback/")
    assert listed.status_code == 200
    [prompt] = listed.json()
    assert prompt["token"] == asked.token and prompt["office"] == stage.home.name
    assert (
        prompt["office_code"] == stage.home.code
        and visit.counter is not None
        and prompt["counter"] == visit.counter.number
    )
    assert prompt["visit_date"] == visit.day.isoformat() and prompt["url"].endswith(f"/umpan-balik/{asked.token}/")

    answer_url = f"/api/v1/feedback/{asked.token}"
    bad = api.post(answer_url, {"asked_for_money": "yes", "satisfaction": 6}, "application/json")
    assert bad.status_code == 422
    fields = {tuple(d["loc"])[-1] for d in bad.json()["detail"]}
    assert fields == {"asked_for_money", "satisfaction"}
    assert api.post(answer_url, {"asked_for_money": False}, "application/json").status_code == 422
    assert api.post(answer_url, {"asked_for_money": 1, "satisfaction": 3}, "application/json").status_code == 422

    # Someone else's question, or a made-up one: not found.
    stranger, _row = issue_api_token(build_user())
    other = Client(headers={"authorization": f"Bearer {stranger}"})
    assert other.post(answer_url, {"asked_for_money": False, "satisfaction": 5}, "application/json").status_code == 404
    assert other.get("/api/v1/feedback/").json() == []
    assert (
        api.post("/api/v1/feedback/nope", {"asked_for_money": False, "satisfaction": 5}, "application/json").status_code
        == 404
    )
    asked.refresh_from_db()
    assert asked.answered_at is None

    answered = api.post(answer_url, {"asked_for_money": False, "satisfaction": 5}, "application/json")
    assert answered.status_code == 200, answered.content
    body = answered.json()
    assert body["asked_for_money"] is False and body["satisfaction"] == 5 and body["report_url"] is None
    asked.refresh_from_db()
    assert asked.asked_for_money is False and asked.satisfaction == 5
    again = api.post(answer_url, {"asked_for_money": True, "satisfaction": 1}, "application/json")
    assert again.status_code == 409
    asked.refresh_from_db()
    assert asked.asked_for_money is False and asked.satisfaction == 5
    assert api.get("/api/v1/feedback/").json() == []
