from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.security import django_auth

from gerbang.access.permissions import Perm, office_or_404
from gerbang.accounts.models import GrantStatus, RoleGrant, User

from . import actions
from .models import Counter, Office, ServiceUnit

router = Router(tags=["organisation"])


class OfficeOut(Schema):
    code: str
    name: str
    office_class: str
    city: str
    province: str
    province_code: str
    timezone: str


@router.get("/offices", response=list[OfficeOut], summary="Immigration offices (public)")
def list_offices(request: HttpRequest) -> list[dict[str, str]]:
    return [
        {
            "code": o.code,
            "name": o.name,
            "office_class": o.office_class,
            "city": o.city,
            "province": o.division.province,
            "province_code": o.division.province_code,
            "timezone": o.timezone,
        }
        for o in Office.objects.filter(is_active=True).select_related("division")
    ]


class StaffMemberOut(Schema):
    id: int
    full_name: str
    roles: list[str]
    is_active: bool


@router.get(
    "/staff/offices/{code}/staff",
    response=list[StaffMemberOut],
    auth=django_auth,
    summary="Staff of an office and their roles there (supervisors)",
)
def office_staff(request: HttpRequest, code: str) -> list[dict[str, object]]:
    office = office_or_404(request.user, Perm.VIEW_STAFF, code)
    roles: dict[int, list[str]] = {}
    for grant in RoleGrant.objects.filter(office=office, status=GrantStatus.ACTIVE):
        roles.setdefault(grant.user_id, []).append(grant.role)
    people = User.objects.filter(kind=User.Kind.STAFF, home_office=office).order_by("full_name")
    return [
        {"id": p.pk, "full_name": p.full_name, "roles": sorted(roles.get(p.pk, [])), "is_active": p.is_active}
        for p in people
    ]


class CounterIn(Schema):
    unit_id: int
    number: int = Field(..., ge=1, le=999)
    label: str = Field("", max_length=100)


class CounterOut(Schema):
    id: int
    unit_id: int
    number: int
    label: str


@router.post(
    "/staff/offices/{code}/counters",
    response={201: CounterOut},
    auth=django_auth,
    summary="Register a counter in one of the office's service units (office head)",
)
def add_counter(request: HttpRequest, code: str, payload: CounterIn) -> tuple[int, Counter]:
    office = office_or_404(request.user, Perm.MANAGE_COUNTERS, code)
    unit = ServiceUnit.objects.filter(office=office, pk=payload.unit_id).first()
    if unit is None:
        raise ValidationError({"unit_id": _("No such service unit in this office.")})
    counter = actions.add_counter(unit, number=payload.number, label=payload.label, actor=request.user)  # type: ignore[arg-type]
    return 201, counter
