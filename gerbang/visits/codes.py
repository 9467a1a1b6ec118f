"""The booking's QR code: what the front desk scans. Signed, so it cannot be made up or altered.

The code names the booking only (``GB1:<booking id>:<signature>``); it carries no
personal data, and it is worthless to anyone but the booking's owner, because
check-in also needs the owner's ID card and face.
"""

from __future__ import annotations

import segno
from django.core import signing

from gerbang.appointments.models import Booking

PREFIX = "GB1"
_SIGNER = signing.Signer(salt="gerbang.visits.booking-qr", sep=":")


def booking_code(booking: Booking) -> str:
    return f"{PREFIX}:{_SIGNER.sign(str(booking.pk))}"


def booking_from_code(text: str) -> Booking | None:
    """The booking a scanned (or typed) code names, or ``None`` when it is not a genuine code."""
    text = "".join(text.split())
    prefix, _sep, rest = text.partition(":")
    if prefix.upper() != PREFIX or not rest:
        return None
    try:
        booking_id = _SIGNER.unsign(rest)
    except signing.BadSignature:
        return None
    if not booking_id.isdigit():
        return None
    return Booking.objects.select_related("slot__office", "application").filter(pk=int(booking_id)).first()


def qr_data_uri(text: str) -> str:
    return str(segno.make(text, error="m").svg_data_uri(scale=5))
