"""The only code that binds NIKs to accounts. Each action writes its audit event in the same transaction.

Registration is two steps in one call: the population registry confirms NIK,
family card, name and birth date together (outside any transaction: it is a
network call), then one transaction creates the account and binds the NIK, or
files a pending claim when the NIK is already bound to another account.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.id import nik as stdnum_nik

from gerbang.access.permissions import Perm, require
from gerbang.accounts.models import User
from gerbang.audit.actions import record

from . import registry
from .models import CitizenIdentity, Dependant, OfficeIdentityCheck

if TYPE_CHECKING:
    from gerbang.organisation.models import Office

CLAIM_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def nik_digest(nik: str) -> str:
    """A keyed digest of a NIK for audit details: repeated attempts correlate, the NIK itself is not stored."""
    return hmac.new(settings.SECRET_KEY.encode(), b"nik:" + nik.encode(), hashlib.sha256).hexdigest()[:32]


def clean_nik(value: str, *, field: str = "nik") -> str:
    """The NIK's 16 digits, validated with python-stdnum (region, birth date, women's day + 40)."""
    compact = stdnum_nik.compact(value or "")
    if not compact.isdigit() or len(compact) != 16:
        raise ValidationError({field: _("A NIK has exactly 16 digits.")})
    try:
        stdnum_nik.validate(compact)
    except StdnumError:
        raise ValidationError(
            {field: _("This is not a valid NIK: check the region code and the birth date in it.")}
        ) from None
    return compact


def clean_kk(value: str, *, field: str = "kk") -> str:
    compact = "".join((value or "").split())
    if not compact.isdigit() or len(compact) != 16:
        raise ValidationError({field: _("A family card number has exactly 16 digits.")})
    return compact


MAX_NAME = 120


def clean_name(value: str, *, field: str = "full_name") -> str:
    """A person's name as on the ID card: 1-120 printable characters, spaces collapsed."""
    name = " ".join((value or "").split())
    if not name:
        raise ValidationError({field: _("Enter your full name as on your ID card.")})
    if len(name) > MAX_NAME or any(not ch.isprintable() for ch in name):
        raise ValidationError({field: _("Enter your full name as on your ID card (at most 120 letters).")})
    return name


def check_nik_birth_date(nik: str, birth_date: dt.date) -> None:
    """The NIK carries the birth date (DDMMYY, women: day + 40): a clear message before asking the registry."""
    day = int(nik[6:8])
    day = day - 40 if day > 40 else day
    if (day, int(nik[8:10]), int(nik[10:12])) != (birth_date.day, birth_date.month, birth_date.year % 100):
        raise ValidationError({"birth_date": _("This birth date does not match the one encoded in the NIK.")})


def _confirmed(*, nik: str, kk: str, name: str, birth_date: dt.date) -> registry.Match:
    """Ask the registry; refuse (audited) when it does not confirm all four together."""
    match = registry.verify(nik=nik, kk=kk, name=name, birth_date=birth_date)
    if match is None:
        with transaction.atomic():
            record("identity.registry_refused", actor=None, details={"nik_digest": nik_digest(nik)})
        raise ValidationError(
            _(
                "The population registry does not confirm this NIK, family card number, name and birth date "
                "together. Enter them exactly as on your ID card and family card."
            )
        )
    return match


def _new_claim_code() -> str:
    raw = "".join(secrets.choice(CLAIM_ALPHABET) for _i in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def _bind(user: User, match: registry.Match) -> CitizenIdentity:
    """Inside a transaction: bind the registry's person to ``user``, or file a pending claim."""
    now = timezone.now()
    person = match.person
    claimed = CitizenIdentity.objects.select_for_update().filter(nik=person.nik, status=CitizenIdentity.Status.ACTIVE)
    taken = claimed.exclude(account=user).exists()
    identity = CitizenIdentity.objects.create(
        account=user,
        status=CitizenIdentity.Status.PENDING_OFFICE_CHECK if taken else CitizenIdentity.Status.ACTIVE,
        nik=person.nik,
        kk=person.kk,
        name=person.name,
        birth_place=person.birth_place,
        birth_date=person.birth_date,
        sex=person.sex,
        father_name=person.father_name,
        mother_name=person.mother_name,
        relationship=person.relationship,
        claim_code=_new_claim_code() if taken else "",
        registry_checked_at=now,
        activated_at=None if taken else now,
    )
    for minor in match.minors:
        Dependant.objects.create(
            guardian=identity,
            nik=minor.nik,
            name=minor.name,
            birth_date=minor.birth_date,
            sex=minor.sex,
            listed_at=now,
        )
    record(
        "identity.claim_pending_office_check" if taken else "identity.bound",
        actor=user,
        obj=identity,
        details={"nik_digest": nik_digest(person.nik), "dependants": len(match.minors)},
    )
    return identity


def register_citizen(
    *,
    email: str,
    password: str,
    nik: str,
    kk: str,
    full_name: str,
    birth_date: dt.date,
    language: str = "id",
) -> User:
    """Create an applicant account bound to a NIK the registry confirmed with KK, name and birth date.

    The account can sign in once its e-mail address is verified. When the NIK is
    already bound to another account, the new account holds a pending claim to
    settle at an office (:func:`settle_claim_at_office`).
    """
    email = (email or "").strip().lower()
    nik = clean_nik(nik)
    kk = clean_kk(kk)
    full_name = clean_name(full_name)
    check_nik_birth_date(nik, birth_date)
    candidate = User(email=email, full_name=full_name.strip(), kind=User.Kind.APPLICANT)
    try:
        validate_password(password, candidate)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": _("An account with this e-mail address already exists.")})
    match = _confirmed(nik=nik, kk=kk, name=full_name, birth_date=birth_date)
    from gerbang.accounts.emails import send_verification_email

    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email=email, password=password, full_name=match.person.name, preferred_language=language
            )
            record("accounts.applicant_registered", actor=user, obj=user)
            _bind(user, match)
            transaction.on_commit(lambda: send_verification_email(user))
    except IntegrityError:
        # Two registrations raced for the e-mail address or the NIK: nothing was saved.
        raise ValidationError(_("Another registration with these details just finished. Try again.")) from None
    return user


def bind_identity(user: User, *, nik: str, kk: str, full_name: str, birth_date: dt.date) -> CitizenIdentity:
    """Bind a NIK to an existing applicant account that has none yet (same checks as registration)."""
    if user.kind != User.Kind.APPLICANT:
        raise ValidationError(_("Only applicant accounts hold a NIK."))
    nik = clean_nik(nik)
    kk = clean_kk(kk)
    full_name = clean_name(full_name)
    check_nik_birth_date(nik, birth_date)
    if current_identity(user, include_pending=True) is not None:
        raise ValidationError(_("This account already holds a NIK."))
    match = _confirmed(nik=nik, kk=kk, name=full_name, birth_date=birth_date)
    try:
        with transaction.atomic():
            User.objects.select_for_update().filter(pk=user.pk).first()
            return _bind(user, match)
    except IntegrityError:
        raise ValidationError(_("Another registration with these details just finished. Try again.")) from None


def current_identity(user: User, *, include_pending: bool = False) -> CitizenIdentity | None:
    statuses = [CitizenIdentity.Status.ACTIVE]
    if include_pending:
        statuses.append(CitizenIdentity.Status.PENDING_OFFICE_CHECK)
    return CitizenIdentity.objects.filter(account=user, status__in=statuses).first()


def refresh_dependants(identity: CitizenIdentity, *, actor: User) -> list[Dependant]:
    """Ask the registry again who the minors on the holder's card are (a new baby, a child come of age)."""
    if identity.account_id != actor.pk or identity.status != CitizenIdentity.Status.ACTIVE:
        raise ValidationError(_("Only the verified holder of this NIK can refresh their family."))
    match = _confirmed(nik=identity.nik, kk=identity.kk, name=identity.name, birth_date=identity.birth_date)
    now = timezone.now()
    with transaction.atomic():
        listed = {d.nik: d for d in Dependant.objects.select_for_update().filter(guardian=identity)}
        current = {m.nik for m in match.minors}
        for minor in match.minors:
            if minor.nik not in listed:
                Dependant.objects.create(
                    guardian=identity,
                    nik=minor.nik,
                    name=minor.name,
                    birth_date=minor.birth_date,
                    sex=minor.sex,
                    listed_at=now,
                )
        removed = [nik for nik in listed if nik not in current]
        # Rows stay (applications refer to them by NIK); a child no longer listed is no longer a dependant.
        Dependant.objects.filter(guardian=identity, nik__in=removed).delete()
        record(
            "identity.dependants_refreshed",
            actor=actor,
            obj=identity,
            details={"listed": len(current), "removed": len(removed)},
        )
    return list(identity.dependants.all())


def claim_for_office(claim_code: str) -> CitizenIdentity | None:
    code = (claim_code or "").strip().upper().replace(" ", "")
    if len(code) == 8:
        code = f"{code[:4]}-{code[4:]}"
    return (
        CitizenIdentity.objects.filter(claim_code=code, status=CitizenIdentity.Status.PENDING_OFFICE_CHECK)
        .select_related("account")
        .first()
    )


def settle_claim_at_office(
    claim: CitizenIdentity,
    *,
    actor: User,
    office: Office,
    confirmed: bool,
    document_number: str,
    face_matches: bool,
    note: str,
) -> OfficeIdentityCheck:
    """An officer who saw the person and their ID card settles a contested NIK claim.

    Confirmed: the claim becomes the NIK's active identity, the earlier holder's
    identity is superseded and that account suspended. Refused: the claim ends.
    """
    require(actor, Perm.VERIFY_IDENTITY, office)
    errors: dict[str, str] = {}
    document_number = "".join((document_number or "").split())
    if document_number != claim.nik:
        errors["document_number"] = _("Type the NIK printed on the ID card you checked; it must be the claimed NIK.")
    if not (note or "").strip():
        errors["note"] = _("Describe what you checked.")
    if confirmed and not face_matches:
        errors["face_matches"] = _("A claim can be confirmed only when the face matches the registry photo.")
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    with transaction.atomic():
        claim = CitizenIdentity.objects.select_for_update().get(pk=claim.pk)
        if claim.status != CitizenIdentity.Status.PENDING_OFFICE_CHECK:
            raise ValidationError(_("This claim has already been settled."))
        superseded = None
        if confirmed:
            superseded = (
                CitizenIdentity.objects.select_for_update()
                .filter(nik=claim.nik, status=CitizenIdentity.Status.ACTIVE)
                .select_related("account")
                .first()
            )
            if superseded is not None:
                superseded.status = CitizenIdentity.Status.SUPERSEDED
                superseded.ended_at = now
                superseded.save(update_fields=["status", "ended_at"])
                earlier = superseded.account
                earlier.is_active = False
                earlier.save(update_fields=["is_active"])
                record(
                    "identity.superseded",
                    actor=actor,
                    obj=superseded,
                    office=office,
                    details={"by_claim": claim.pk},
                )
                record(
                    "accounts.suspended",
                    actor=actor,
                    obj=earlier,
                    office=office,
                    details={"reason": "NIK taken over by its owner after an identity check at an office"},
                )
            claim.status = CitizenIdentity.Status.ACTIVE
            claim.activated_at = now
        else:
            claim.status = CitizenIdentity.Status.REFUSED
            claim.ended_at = now
        claim.claim_code = ""
        claim.save(update_fields=["status", "activated_at", "ended_at", "claim_code"])
        check = OfficeIdentityCheck.objects.create(
            claim=claim,
            officer=actor,
            office=office,
            outcome=OfficeIdentityCheck.Outcome.CONFIRMED if confirmed else OfficeIdentityCheck.Outcome.REFUSED,
            document_number=document_number,
            face_matches_registry_photo=face_matches,
            note=note.strip(),
            superseded=superseded,
            checked_at=now,
        )
        record(
            "identity.claim_confirmed_at_office" if confirmed else "identity.claim_refused_at_office",
            actor=actor,
            obj=claim,
            office=office,
            details={"check": check.pk, "superseded": superseded.pk if superseded else None},
        )
    return check
