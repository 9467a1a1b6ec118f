"""Today's roster for the demo offices of ``make run`` (development only): shifts, lockers, deposits, sessions.

Everything goes through the actions, as the office head, the locker attendant
and the officers would do it on their pages, so the audit log records it.
Idempotent: whoever is already on duty, has devices in a locker or serves at a
counter is left as they are.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Max
from django.utils import timezone

from gerbang.accounts.demo import DEMO_OFFICE_NAME, DEMO_OTHER_OFFICE_NAME, demo_email
from gerbang.accounts.models import Role, User
from gerbang.organisation.actions import add_counter
from gerbang.organisation.models import Counter, Office, ServiceUnit

from . import actions, selectors
from .models import DeviceDeposit

# (slug, role, counter number or None, office name)
DEMO_ROSTER = [
    ("loket", Role.FRONT_DESK, 1, DEMO_OFFICE_NAME),
    ("verifikator", Role.DOCUMENT_VERIFIER, 2, DEMO_OFFICE_NAME),
    ("wawancara", Role.INTERVIEWER, 3, DEMO_OFFICE_NAME),
    ("penerbit", Role.ISSUING_OFFICER, 4, DEMO_OFFICE_NAME),
    ("loker", Role.LOCKER_ATTENDANT, None, DEMO_OFFICE_NAME),
    # The demo office's own adjudicator is on duty too: a decision on its cases still goes to Jakarta Timur.
    ("adjudikator", Role.ADJUDICATOR, None, DEMO_OFFICE_NAME),
    ("adjudikator-jaktim", Role.ADJUDICATOR, None, DEMO_OTHER_OFFICE_NAME),
    ("adjudikator2-jaktim", Role.ADJUDICATOR, None, DEMO_OTHER_OFFICE_NAME),
]
# Counter staff whose devices go into a locker and whose counter session is opened.
SERVING = ("loket", "verifikator", "wawancara", "penerbit")
HEADS = {DEMO_OFFICE_NAME: "kakanim", DEMO_OTHER_OFFICE_NAME: "kakanim-jaktim"}
SHIFT = dt.timedelta(hours=15)


def verified(user: User) -> User:
    """As if signed in with the hardware token (the pages check that; a command cannot)."""
    user.is_verified = lambda: True  # type: ignore[attr-defined]
    return user


def person(slug: str) -> User:
    user = User.objects.filter(email=demo_email(slug)).first()
    if user is None:
        raise ImproperlyConfigured("run `manage.py seed_demo` first")
    return verified(user)


def _counter(office: Office, number: int, head: User) -> Counter:
    unit = ServiceUnit.objects.filter(office=office).order_by("pk").first()
    if unit is None:
        raise ImproperlyConfigured(f"{office.name} has no service unit")
    found = Counter.objects.filter(unit__office=office, number=number, is_active=True).first()
    if found is None:
        top = Counter.objects.filter(unit=unit).aggregate(top=Max("number"))["top"] or 0
        if top >= number:
            number = top + 1
        found = add_counter(unit, number=number, label="Loket demo", actor=head)
    return Counter.objects.select_related("unit__office").get(pk=found.pk)


def demo_duty_day() -> list[str]:
    """Put the demo staff on today's roster and at their counters. Returns what it did, line by line."""
    if settings.PRODUCTION:
        raise ImproperlyConfigured("the demo roster is never made in production")
    done: list[str] = []
    now = timezone.now()
    offices = {o.name: o for o in Office.objects.filter(name__in=HEADS)}
    for slug, role, number, office_name in DEMO_ROSTER:
        office = offices[office_name]
        head = person(HEADS[office_name])
        officer = person(slug)
        if selectors.shift_now(officer, office, role=role, at=now) is not None:
            continue
        counter = _counter(office, number, head) if number is not None else None
        actions.plan_shift(
            office=office,
            officer=officer,
            role=role,
            counter=counter,
            starts_at=now - dt.timedelta(minutes=1),
            ends_at=now + SHIFT,
            actor=head,
        )
        where = f", counter {counter.number}" if counter else ""
        done.append(f"roster: {officer.full_name} ({role}{where}) at {office.name} until {now + SHIFT:%H:%M} UTC")
    office = offices[DEMO_OFFICE_NAME]
    lockers = actions.ensure_lockers(office, 12, actor=person(HEADS[DEMO_OFFICE_NAME]))
    attendant = person("loker")
    for slug in SERVING:
        officer = person(slug)
        if selectors.serving_at(officer, office) is not None:
            continue
        if selectors.active_deposit(officer) is None:
            used = set(DeviceDeposit.objects.filter(returned_at__isnull=True).values_list("locker_id", flat=True))
            free = next(locker for locker in lockers if locker.pk not in used)
            actions.deposit_devices(locker=free, officer=officer, devices="phone, smartwatch", actor=attendant)
            done.append(
                f"locker {free.number}: {officer.full_name}'s phone and watch, confirmed by {attendant.full_name}"
            )
        shift = selectors.shift_now(officer, office, at=timezone.now())
        if shift is None or shift.counter is None:
            continue
        session = actions.open_counter_session(counter=shift.counter, actor=officer)
        done.append(f"counter {session.counter.number}: {officer.full_name} serving")
    return done
