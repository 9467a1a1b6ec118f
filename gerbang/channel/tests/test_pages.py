"""The applicant's side of the official channel, through HTTP: the messages page, the check code page, the API."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.test import Client
from django.utils import timezone

from gerbang.accounts.actions import issue_api_token
from gerbang.accounts.models import Role, User
from gerbang.applications import references
from gerbang.applications.models import PassportApplication
from gerbang.audit.models import AuditEvent
from gerbang.casework.models import Assignment
from gerbang.channel import actions, notifications
from gerbang.channel.models import BlockedMessage, Message, Notification
from gerbang.conftest import build_office, build_staff, last_audit_id
from gerbang.payments.tests.support import submitted_application

pytestmark = pytest.mark.django_db

EN = {"Accept-Language": "en"}
NIKS = iter(f"3173015708{n:06d}" for n in range(880001, 999999))
OFFICER_NAME = "Bambang Petugas Verifikasi"
FAKE_WARNING = "may be a fake"


def application() -> PassportApplication:
    submitted, _no_bill = submitted_application(next(NIKS), bill=False)
    office = build_office()
    PassportApplication.objects.filter(pk=submitted.pk).update(office=office)
    submitted.refresh_from_db()
    return submitted


def assigned_officer(app: PassportApplication) -> User:
    """A document verifier holding the case's verification step (as Gerbang's draw would leave it)."""
    assert app.office is not None
    officer = build_staff(Role.DOCUMENT_VERIFIER, office=app.office)
    User.objects.filter(pk=officer.pk).update(full_name=OFFICER_NAME)
    officer.refresh_from_db()
    officer.is_verified = lambda: True  # type: ignore[attr-defined]
    Assignment.objects.create(
        application=app, duty="verification", officer=officer, office=app.office, assigned_at=timezone.now()
    )
    return officer


def signed_in(user: User) -> Client:
    client = Client(headers=EN)
    client.force_login(user)
    return client


def page(app: PassportApplication) -> str:
    return f"/permohonan/{app.public_id}/pesan/"


def text(response: Any) -> str:
    """The page's text without tags, whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def events(action: str, since: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, id__gt=since))


# --- The messages page --------------------------------------------------------------------------------------------


def test_an_office_message_shows_as_from_the_office_without_the_officers_name() -> None:
    app = application()
    officer = assigned_officer(app)
    actions.send_from_office(app, actor=officer, body="Mohon unggah ulang foto KTP yang lebih jelas.")
    response = signed_in(app.filer).get(page(app))
    assert response.status_code == 200
    shown = text(response)
    assert "Immigration office" in shown and "Mohon unggah ulang foto KTP yang lebih jelas." in shown
    assert OFFICER_NAME not in response.content.decode() and officer.email not in response.content.decode()
    assert references.display(app.reference) in shown
    # The applicant was told a message is waiting, with a check code.
    assert Notification.objects.filter(recipient=app.filer, application=app).exists()


def test_the_conversation_is_oldest_first_and_the_status_page_section_counts_office_messages() -> None:
    app = application()
    officer = assigned_officer(app)
    actions.send_from_office(app, actor=officer, body="Pesan pertama dari kantor.")
    actions.send_from_applicant(app, actor=app.filer, body="Balasan saya.")
    actions.send_from_office(app, actor=officer, body="Pesan kedua dari kantor.")
    shown = text(signed_in(app.filer).get(page(app)))
    first, reply, second = (shown.index(s) for s in ("Pesan pertama", "Balasan saya", "Pesan kedua"))
    assert first < reply < second
    assert re.search(r"You · .*Balasan saya", shown)
    section = " ".join(render_to_string("channel/_applicant.html", {"application": app}).split())
    assert "2 messages from the immigration office." in section
    assert page(app) in section and "/akun/cek-pesan/" in section
    empty = " ".join(render_to_string("channel/_applicant.html", {"application": application()}).split())
    assert "No messages from the immigration office yet." in empty


def test_the_applicant_replies_on_the_page() -> None:
    app = application()
    client = signed_in(app.filer)
    since = last_audit_id()
    response = client.post(page(app), {"body": "  Sudah saya unggah ulang.\r\nTerima kasih.  "})
    assert response.status_code == 302 and response["Location"] == page(app)
    (message,) = Message.objects.filter(application=app)
    assert message.sender == Message.Sender.APPLICANT and message.author_id == app.filer_id
    assert message.body == "Sudah saya unggah ulang.\nTerima kasih."
    (event,) = events("channel.message_sent", since)
    assert event.actor_id == app.filer_id and event.details["sender"] == "applicant"
    after = client.get(page(app))
    assert "Your message was sent to the office." in text(after) and "Sudah saya unggah ulang." in text(after)


@pytest.mark.parametrize(
    ("body", "error"), [("   \r\n ", "Write a message."), ("x" * 2001, "A message has at most 2000 characters.")]
)
def test_an_empty_or_too_long_reply_is_a_field_error_and_nothing_is_stored(body: str, error: str) -> None:
    app = application()
    since = last_audit_id()
    response = signed_in(app.filer).post(page(app), {"body": body})
    assert response.status_code == 200
    assert re.search(rf'<p class="error" id="id_body_error">{re.escape(error)}</p>', response.content.decode())
    assert not Message.objects.filter(application=app).exists()
    assert not events("channel.message_sent", since)


def test_only_the_filer_sees_and_writes_to_their_applications_messages() -> None:
    app = application()
    officer = assigned_officer(app)
    actions.send_from_office(app, actor=officer, body="Pesan untuk pemohon ini saja.")
    other = signed_in(application().filer)
    assert other.get(page(app)).status_code == 404
    assert other.post(page(app), {"body": "Halo"}).status_code == 404
    anonymous = Client().get(page(app))
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/akun/masuk/")
    staff = signed_in(officer).get(page(app))  # staff have no applicant pages, not even for their own cases
    assert staff.status_code == 302 and staff["Location"].startswith("/akun/masuk/")
    assert list(Message.objects.filter(application=app).values_list("sender", flat=True)) == ["office"]


def test_an_officers_message_with_a_phone_number_is_refused_kept_and_audited() -> None:
    app = application()
    officer = assigned_officer(app)
    since = last_audit_id()
    with pytest.raises(ValidationError) as refused:
        actions.send_from_office(app, actor=officer, body="Kalau mau cepat, WA saya 0812-3456-7890")
    assert "Phone numbers cannot be sent" in " ".join(refused.value.messages)
    assert not Message.objects.filter(application=app).exists()
    (blocked,) = BlockedMessage.objects.filter(application=app)
    assert blocked.author_id == officer.pk and "phone" in blocked.categories
    (event,) = events("channel.message_blocked", since)
    assert event.actor_id == officer.pk and event.details["application"] == app.pk
    assert not events("channel.message_sent", since)
    assert not Notification.objects.filter(recipient=app.filer).exists()
    assert "0812" not in signed_in(app.filer).get(page(app)).content.decode()


# --- Is this message really from the office? --------------------------------------------------------------------

CHECK = "/akun/cek-pesan/"


def notification_for(user: User, app: PassportApplication | None = None) -> Notification:
    with transaction.atomic():
        (pk, *_rest) = notifications.notify(
            user, subject="Dokumen Anda perlu diunggah ulang", body="Lihat pesan dari kantor.", application=app
        )
    return Notification.objects.get(pk=pk)


def spaced_lower(code: str) -> str:
    return f" {code[:4].lower()} {code[4:].lower()} "


def test_the_check_page_confirms_a_code_gerbang_sent_to_this_applicant() -> None:
    app = application()
    sent = notification_for(app.filer, app)
    response = signed_in(app.filer).post(CHECK, {"code": spaced_lower(sent.code)})
    assert response.status_code == 200
    shown = text(response)
    assert "Yes, this message is from Gerbang." in shown
    assert references.display(app.reference) in shown and "Dokumen Anda perlu diunggah ulang" in shown
    assert FAKE_WARNING not in shown


@pytest.mark.parametrize("whose", ["unknown", "another applicant's"])
def test_the_check_page_warns_about_a_code_not_sent_to_this_applicant(whose: str) -> None:
    app = application()
    notification_for(app.filer, app)
    code = "ABCD2345" if whose == "unknown" else notification_for(application().filer).code
    response = signed_in(app.filer).post(CHECK, {"code": code})
    assert response.status_code == 200
    shown = text(response)
    assert f"Gerbang sent you no message with the code {code}." in shown
    assert FAKE_WARNING in shown and "Never pay anyone outside a bank" in shown and "Report it" in shown
    assert "Yes, this message is from Gerbang." not in shown and "Dokumen Anda" not in shown


def test_the_check_page_asks_again_for_a_malformed_code_and_only_for_applicants() -> None:
    app = application()
    response = signed_in(app.filer).post(CHECK, {"code": "ABC"})
    assert "A check code has 8 letters and digits." in text(response) and FAKE_WARNING not in text(response)
    assert signed_in(app.filer).get(CHECK).status_code == 200
    assert Client().get(CHECK)["Location"].startswith("/akun/masuk/")


# --- The JSON API --------------------------------------------------------------------------------------------------


class Api:
    def __init__(self, user: User) -> None:
        token, _row = issue_api_token(user)
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}", **EN}

    def get(self, path: str) -> Any:
        return self.client.get("/api/v1" + path, headers=self.headers)

    def post(self, path: str, body: Any) -> Any:
        return self.client.post("/api/v1" + path, body, "application/json", headers=self.headers)


def test_the_api_lists_and_sends_messages_like_the_page() -> None:
    app = application()
    officer = assigned_officer(app)
    actions.send_from_office(app, actor=officer, body="Mohon lengkapi dokumen.")
    api = Api(app.filer)
    path = f"/applications/{app.public_id}/messages"
    since = last_audit_id()
    sent = api.post(path, {"body": "Baik, segera saya lengkapi."})
    assert sent.status_code == 201 and sent.json()["sender"] == "applicant"
    listed = api.get(path)
    assert listed.status_code == 200
    assert [(m["sender"], m["body"]) for m in listed.json()] == [
        ("office", "Mohon lengkapi dokumen."),
        ("applicant", "Baik, segera saya lengkapi."),
    ]
    assert set(listed.json()[0]) == {"id", "sender", "body", "sent_at"}  # no author, no officer's name
    assert OFFICER_NAME not in listed.content.decode()
    (event,) = events("channel.message_sent", since)
    assert event.details["sender"] == "applicant"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"body": "  "}, "Write a message."),
        ({"body": "x" * 2001}, "A message has at most 2000 characters."),
        ({"body": "ada\x00nol"}, "String should match pattern"),
        ({}, "Field required"),
    ],
)
def test_the_api_refuses_bad_messages_field_by_field(body: dict[str, str], message: str) -> None:
    app = application()
    answer = Api(app.filer).post(f"/applications/{app.public_id}/messages", body)
    assert answer.status_code == 422
    (item,) = answer.json()["detail"]
    assert item["loc"][0] == "body" and item["loc"][-1] == "body" and message in item["msg"]
    assert not Message.objects.filter(application=app).exists()


def test_the_api_answers_404_for_someone_elses_application_and_401_without_a_token() -> None:
    app = application()
    officer = assigned_officer(app)
    actions.send_from_office(app, actor=officer, body="Hanya untuk pemilik permohonan.")
    other = Api(application().filer)
    path = f"/applications/{app.public_id}/messages"
    assert other.get(path).status_code == 404
    assert other.post(path, {"body": "Halo"}).status_code == 404
    assert Client().get("/api/v1" + path).status_code == 401
    assert Message.objects.filter(application=app).count() == 1


def test_the_api_checks_codes_like_the_page() -> None:
    app = application()
    sent = notification_for(app.filer, app)
    foreign = notification_for(application().filer)
    api = Api(app.filer)
    genuine = api.post("/notifications/check", {"code": spaced_lower(sent.code)})
    assert genuine.status_code == 200
    answer = genuine.json()
    assert answer["genuine"] is True and answer["reference"] == references.display(app.reference)
    assert answer["subject"] == "Dokumen Anda perlu diunggah ulang" and answer["sent_at"]
    for code in ("ABCD2345", foreign.code):
        refused = api.post("/notifications/check", {"code": code})
        assert refused.status_code == 200
        assert refused.json()["genuine"] is False and refused.json()["subject"] == ""
    malformed = api.post("/notifications/check", {"code": "ABC"})
    assert malformed.status_code == 422 and malformed.json()["detail"][0]["loc"] == ["body", "code"]
    assert Client().post("/api/v1/notifications/check", {"code": sent.code}, "application/json").status_code == 401
