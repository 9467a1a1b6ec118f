"""The official channel for visa and stay-permit cases, over HTTP: the sponsor's messages page, the officer's
form on the visa case page (screened), who may write, the applicant API, and messages that cannot be changed."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client

from gerbang.accounts.actions import issue_api_token
from gerbang.accounts.models import User
from gerbang.applications import references
from gerbang.audit.models import AuditEvent
from gerbang.casework.models import Assignment, Duty
from gerbang.casework.tests.support import Stage, two_offices
from gerbang.channel import actions as channel
from gerbang.channel.models import BlockedMessage, Message, Notification
from gerbang.conftest import last_audit_id, staff_client
from gerbang.visas.models import Sponsor, Status, VisaApplication

from .support import company_sponsor, filed, load_data, pay, sponsored

pytestmark = pytest.mark.django_db

EN = {"Accept-Language": "en"}
NOTICE = "Officers never contact you by phone, WhatsApp or other chats, and never ask for money"
SCREENING_HINT = "Phone numbers cannot be sent."


@pytest.fixture
def stage() -> Stage:
    load_data()
    return two_offices(province_code="31")


def applicant(user: User | None = None) -> Client:
    client = Client(headers=EN)
    if user is not None:
        client.force_login(user)
    return client


def staff(user: User) -> Client:
    client = staff_client(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def page(application: VisaApplication) -> str:
    return f"/visa/permohonan/{application.public_id}/pesan/"


def case_url(application: VisaApplication) -> str:
    return f"/staf/visa/kasus/{application.reference}/"


def text(response: Any) -> str:
    """The page's text without tags, whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def events(action: str, since: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, id__gt=since))


def paid_case(stage: Stage, tmp_path: Any) -> tuple[Sponsor, VisaApplication]:
    """A company's E23 for its worker, paid: the casework engine drew a verifier at the home office."""
    sponsor = company_sponsor()
    application = filed(sponsor.account, sponsored(sponsor), "e23", stage.home)
    pay(application, tmp_path)
    assert application.status == Status.PAID
    return sponsor, application


def drawn_verifier(application: VisaApplication) -> User:
    return Assignment.objects.get(visa_application=application, duty=Duty.VERIFICATION, ended_at__isnull=True).officer


# --- The sponsor and the drawn officer write to each other ----------------------------------------------------


def test_the_sponsor_writes_the_drawn_verifier_answers_on_the_case_page_and_the_sponsor_sees_it(
    stage: Stage, tmp_path: Any
) -> None:
    sponsor, application = paid_case(stage, tmp_path)
    verifier = drawn_verifier(application)
    client = applicant(sponsor.account)

    # The sponsor's page: the notice, the application it is about, the way back, and no messages yet.
    empty = client.get(page(application))
    assert empty.status_code == 200
    shown = text(empty)
    assert NOTICE in shown and "No messages yet." in shown
    reference = references.display(application.reference)
    assert f"About the visa or stay-permit application {reference} for {application.foreigner.full_name}." in shown
    assert "passport application" not in shown
    assert f'href="/visa/permohonan/{application.public_id}/"' in empty.content.decode()

    since = last_audit_id()
    sent = client.post(page(application), {"body": "  Kapan kontraknya perlu diunggah ulang?\r\nTerima kasih.  "})
    assert sent.status_code == 302 and sent["Location"] == page(application)
    (question,) = Message.objects.filter(visa_application=application)
    assert question.application_id is None and question.sender == Message.Sender.APPLICANT
    assert question.author_id == sponsor.account_id
    assert question.body == "Kapan kontraknya perlu diunggah ulang?\nTerima kasih."
    (event,) = events("channel.message_sent", since)
    assert event.actor_id == sponsor.account_id
    assert event.details["visa_application"] == application.pk and event.details["sender"] == "applicant"

    # The drawn verifier reads it on the case page and answers there.
    officer = staff(verifier)
    case_page = officer.get(case_url(application))
    assert case_page.status_code == 200
    assert "Kapan kontraknya perlu diunggah ulang?" in text(case_page)
    assert 'name="do" value="message"' in case_page.content.decode()
    answered = officer.post(
        case_url(application),
        {"do": "message", "message-body": "Silakan unggah kontrak yang sudah ditandatangani di halaman permohonan."},
    )
    assert answered.status_code == 302 and answered["Location"] == case_url(application)
    assert "Your message was sent through Gerbang." in text(officer.get(case_url(application)))
    answer = Message.objects.get(visa_application=application, sender=Message.Sender.OFFICE)
    assert answer.author_id == verifier.pk
    # The filer is told a message is waiting (with a check code), about this reference.
    assert Notification.objects.filter(recipient=sponsor.account, subject__contains=application.reference).exists()

    # The sponsor sees the answer from "Immigration office", oldest first, never the officer's name.
    after = client.get(page(application))
    shown = text(after)
    assert re.search(r"You · .*Kapan kontraknya.*Immigration office · .*Silakan unggah kontrak", shown)
    assert verifier.full_name not in after.content.decode() and verifier.email not in after.content.decode()

    # The application page links to the conversation, with the number of messages.
    status_page = client.get(f"/visa/permohonan/{application.public_id}/")
    assert "Messages with the office (2)" in text(status_page)
    assert f'href="{page(application)}"' in status_page.content.decode()


def test_a_draft_has_no_link_and_cannot_be_written_about_yet(stage: Stage) -> None:
    sponsor = company_sponsor()
    draft = filed(sponsor.account, sponsored(sponsor), "e23", stage.home, submit=False)
    client = applicant(sponsor.account)
    assert "Messages with the office" not in text(client.get(f"/visa/permohonan/{draft.public_id}/"))
    refused = client.post(page(draft), {"body": "Halo"})
    assert refused.status_code == 200
    assert "You can write to the office once your application is submitted." in text(refused)
    assert not Message.objects.filter(visa_application=draft).exists()


# --- Screening -------------------------------------------------------------------------------------------------


def test_an_officers_message_with_a_phone_number_is_refused_explained_kept_and_audited(
    stage: Stage, tmp_path: Any
) -> None:
    sponsor, application = paid_case(stage, tmp_path)
    verifier = drawn_verifier(application)
    told_before = Notification.objects.filter(recipient=sponsor.account).count()
    since = last_audit_id()
    refused = staff(verifier).post(
        case_url(application), {"do": "message", "message-body": "call me on 0812 3456 7890"}
    )
    assert refused.status_code == 400
    error = re.search(r'<p class="error" id="id_message-body_error">([^<]*)</p>', refused.content.decode())
    assert error is not None and SCREENING_HINT in error.group(1)
    assert not Message.objects.filter(visa_application=application).exists()
    (blocked,) = BlockedMessage.objects.filter(visa_application=application)
    assert blocked.application_id is None and blocked.author_id == verifier.pk
    assert "phone" in blocked.categories and blocked.body == "call me on 0812 3456 7890"
    (event,) = events("channel.message_blocked", since)
    assert event.actor_id == verifier.pk and event.details["visa_application"] == application.pk
    assert "phone" in event.details["categories"]
    assert not events("channel.message_sent", since)
    assert Notification.objects.filter(recipient=sponsor.account).count() == told_before
    assert "0812" not in applicant(sponsor.account).get(page(application)).content.decode()


# --- Who may write ---------------------------------------------------------------------------------------------


def test_an_officer_with_no_part_in_the_case_cannot_write(stage: Stage, tmp_path: Any) -> None:
    _sponsor, application = paid_case(stage, tmp_path)
    message = {"do": "message", "message-body": "Mohon lengkapi dokumen."}
    # Same office, another role, drawn for nothing: the case does not exist for them.
    for name in ("interviewer", "front_desk", "adjudicator"):
        assert staff(stage.staff[name]).post(case_url(application), message).status_code == 404, name
    # The regional supervisor opens the case but holds no step and is not the office head: no form, and 404.
    supervisor = staff(stage.staff["supervisor"])
    seen = supervisor.get(case_url(application))
    assert seen.status_code == 200 and 'value="message"' not in seen.content.decode()
    assert supervisor.post(case_url(application), message).status_code == 404
    assert not channel.officer_may_write(application, stage.staff["interviewer"])
    assert not Message.objects.filter(visa_application=application).exists()
    # The office head supervises the office's cases and may write.
    head = staff(stage.staff["head"])
    assert 'value="message"' in head.get(case_url(application)).content.decode()
    assert head.post(case_url(application), message).status_code == 302
    assert Message.objects.filter(visa_application=application, author=stage.staff["head"]).count() == 1


def test_another_sponsor_gets_404_on_the_messages_page(stage: Stage, tmp_path: Any) -> None:
    sponsor, application = paid_case(stage, tmp_path)
    channel.send_from_office(application, actor=drawn_verifier(application), body="Hanya untuk penjamin ini.")
    other = applicant(company_sponsor().account)
    assert other.get(page(application)).status_code == 404
    assert other.post(page(application), {"body": "Halo"}).status_code == 404
    assert applicant(sponsor.account).get(page(application)).status_code == 200
    anonymous = applicant().get(page(application))
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/akun/masuk/")
    assert applicant(sponsor.account).get("/visa/permohonan/not-a-uuid/pesan/").status_code == 404
    assert list(Message.objects.filter(visa_application=application).values_list("sender", flat=True)) == ["office"]


# --- The JSON API ----------------------------------------------------------------------------------------------


class Api:
    def __init__(self, user: User) -> None:
        raw, _token = issue_api_token(user)
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {raw}", **EN}

    def get(self, path: str) -> Any:
        return self.client.get("/api/v1/visas" + path, headers=self.headers)

    def post(self, path: str, body: Any) -> Any:
        return self.client.post("/api/v1/visas" + path, body, "application/json", headers=self.headers)


def test_the_api_lists_and_posts_the_callers_own_messages(stage: Stage, tmp_path: Any) -> None:
    sponsor, application = paid_case(stage, tmp_path)
    channel.send_from_office(application, actor=drawn_verifier(application), body="Mohon unggah kontrak kerja.")
    api = Api(sponsor.account)
    path = f"/applications/{application.public_id}/messages"

    since = last_audit_id()
    posted = api.post(path, {"body": "Sudah saya unggah.\r\nTerima kasih."})
    assert posted.status_code == 201
    assert posted.json()["sender"] == "applicant" and posted.json()["body"] == "Sudah saya unggah.\nTerima kasih."
    (event,) = events("channel.message_sent", since)
    assert event.details["visa_application"] == application.pk

    listed = api.get(path)
    assert listed.status_code == 200
    rows = listed.json()
    assert [(m["sender"], m["body"]) for m in rows] == [
        ("office", "Mohon unggah kontrak kerja."),
        ("applicant", "Sudah saya unggah.\nTerima kasih."),
    ]
    assert set(rows[0]) == {"id", "sender", "body", "sent_at"}

    empty = api.post(path, {"body": "   "})
    assert empty.status_code == 422
    (item,) = empty.json()["detail"]
    assert item["loc"][-1] == "body" and "Write a message." in item["msg"]

    # Someone else's application is the same 404 as none; no token is 401.
    other = Api(company_sponsor().account)
    assert other.get(path).status_code == 404
    assert other.post(path, {"body": "Halo"}).status_code == 404
    assert Client().get("/api/v1/visas" + path).status_code == 401
    assert Message.objects.filter(visa_application=application).count() == 2


# --- Append-only -----------------------------------------------------------------------------------------------


def test_a_visa_message_and_a_blocked_attempt_cannot_be_rewritten(stage: Stage, tmp_path: Any) -> None:
    sponsor, application = paid_case(stage, tmp_path)
    message = channel.send_from_applicant(application, actor=sponsor.account, body="Halo")
    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.filter(pk=message.pk).update(body="Something else")
    message.refresh_from_db()
    assert message.body == "Halo"

    with pytest.raises(ValidationError):  # refused by screening; the attempt is kept
        channel.send_from_office(application, actor=drawn_verifier(application), body="WA saya 0812 3456 7890")
    (blocked,) = BlockedMessage.objects.filter(visa_application=application)
    with pytest.raises(IntegrityError), transaction.atomic():
        BlockedMessage.objects.filter(pk=blocked.pk).update(body="nothing to see")
    blocked.refresh_from_db()
    assert "0812" in blocked.body
