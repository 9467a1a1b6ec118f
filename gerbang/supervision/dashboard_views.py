"""The supervision dashboards: the directorate, a division, an office, its counters, one officer's cases.

Each page needs ``Perm.SUPERVISE`` over its unit (an office head over the office, a regional supervisor over
the division, a directorate auditor everywhere); anything else answers 404 as if it did not exist. The
figures come from :mod:`gerbang.supervision.metrics`; ``?days=`` (7, 30, 90) chooses the period and
``?format=csv`` gives the page's table as a CSV file.
"""

from __future__ import annotations

import csv
import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from gerbang.access.permissions import PERMISSIONS, Perm, active_grants, may, may_anywhere, office_or_404, offices_for
from gerbang.accounts.decorators import staff_required
from gerbang.accounts.models import Scope, User
from gerbang.audit.actions import record_view
from gerbang.organisation.models import Division, Office

from . import metrics
from .charts import Bar, bar_chart
from .metrics import Figures

# Columns of a division's or an office's row in the CSV export: (header, figure).
UNIT_COLUMNS: list[tuple[str, Callable[[Figures], Any]]] = [
    ("passports_submitted", lambda f: f.passports_submitted),
    ("passports_paid", lambda f: f.passports_paid),
    ("visas_submitted", lambda f: f.visas_submitted),
    ("backlog_passports", lambda f: f.backlog_passports),
    ("backlog_visas", lambda f: f.backlog_visas),
    ("late_open", lambda f: f.late_open),
    ("passports_printed", lambda f: f.printed),
    ("printed_on_time", lambda f: f.on_time),
    ("on_time_pct", lambda f: f.on_time_pct),
    ("no_shows", lambda f: f.no_shows),
    ("attended", lambda f: f.attended),
    ("no_show_pct", lambda f: f.no_show_pct),
    ("payment_exceptions_opened", lambda f: f.exceptions_opened),
    ("payment_exceptions_open", lambda f: f.exceptions_open),
    ("counter_sessions", lambda f: f.sessions_opened),
    ("counter_sessions_refused", lambda f: f.sessions_refused),
    ("refused_without_deposit", lambda f: f.refused_no_deposit),
    ("counter_acts", lambda f: f.counter_acts),
    ("acts_without_deposit", lambda f: f.acts_without_deposit),
    ("locker_compliance_pct", lambda f: f.locker_compliance_pct),
    ("spot_checks", lambda f: f.spot_checks),
    ("spot_check_findings", lambda f: f.spot_findings),
    ("complaints_received", lambda f: f.reports_received),
    ("complaints_closed", lambda f: f.reports_closed),
    ("complaints_overdue", lambda f: f.reports_overdue),
    ("feedback_asked", lambda f: f.feedback_prompted),
    ("feedback_answered", lambda f: f.feedback_answered),
    ("satisfaction_avg", lambda f: f.satisfaction),
    ("asked_for_money", lambda f: f.money_asked),
    ("signals_open", lambda f: f.signals_open),
]
# The office page's table: a row per officer ("days" is inserted after the name by _table_csv).
OFFICER_COLUMNS: list[tuple[str, Callable[[Any], Any]]] = [
    ("officer_id", lambda r: r.officer_id),
    ("name", lambda r: r.name),
    ("steps_taken", lambda r: r.steps_taken),
    ("steps_done", lambda r: r.steps_done),
    ("steps_open", lambda r: r.steps_open),
    ("median_hours_held", lambda r: None if r.median_held_h is None else round(r.median_held_h, 1)),
    ("decisions", lambda r: r.decisions),
    ("refusals", lambda r: r.refusals),
    ("asked_for_more_documents", lambda r: r.asked_more),
    ("visits_served", lambda r: r.visits_served),
    ("counter_acts", lambda r: r.counter_acts),
    ("acts_without_deposit", lambda r: r.acts_without_deposit),
    ("spot_check_findings", lambda r: r.spot_findings),
    ("feedback_answered", lambda r: r.feedback_answered),
    ("satisfaction_avg", lambda r: r.satisfaction),
    ("asked_for_money", lambda r: r.money_asked),
]
# The counters page's table ("days" after the number).
COUNTER_COLUMNS: list[tuple[str, Callable[[Any], Any]]] = [
    ("counter_id", lambda r: r.counter_id),
    ("unit", lambda r: r.unit),
    ("number", lambda r: r.number),
    ("counter_sessions", lambda r: r.sessions),
    ("sessions_refused", lambda r: r.refused),
    ("visits_served", lambda r: r.visits_served),
    ("feedback_answered", lambda r: r.feedback_answered),
    ("satisfaction_avg", lambda r: r.satisfaction),
    ("asked_for_money", lambda r: r.money_asked),
    ("spot_checks", lambda r: r.spot_checks),
    ("spot_check_findings", lambda r: r.spot_findings),
    ("counter_acts", lambda r: r.counter_acts),
    ("acts_without_deposit", lambda r: r.acts_without_deposit),
]


# --- Small helpers: the period, the CSV answer, the charts --------------------------------------------------


def _period(request: HttpRequest) -> metrics.Period:
    return metrics.period(request.GET.get("days"))


def _wants_csv(request: HttpRequest) -> bool:
    return request.GET.get("format") == "csv"


def csv_cell(value: Any) -> Any:
    """A CSV cell; text that a spreadsheet would run as a formula is quoted with an apostrophe."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _csv(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]], *, hide_feedback: bool = False
) -> HttpResponse:
    keep = [i for i, name in enumerate(header) if not (hide_feedback and name in FEEDBACK_COLUMNS)]
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow([header[i] for i in keep])
    for row in rows:
        writer.writerow([csv_cell(row[i]) for i in keep])
    return response


# What applicants answer after a visit goes to the level above the office (issue 9): an office-level
# supervisor sees these columns empty.
FEEDBACK_COLUMNS = frozenset({"feedback_asked", "feedback_answered", "satisfaction_avg", "asked_for_money"})


def feedback_hidden(user: User, office: Office | None = None) -> bool:
    """True unless the user supervises the office's division (or, without an office, some division) or more."""
    if office is not None:
        return not may(user, Perm.SUPERVISE, office.division)
    roles = PERMISSIONS[Perm.SUPERVISE]
    return not any(g.role in roles and g.scope != Scope.OFFICE for g in active_grants(user))


def _unit_csv(
    filename: str,
    p: metrics.Period,
    units: Sequence[tuple[str, str, Figures]],
    *,
    hide_feedback: bool = False,
    blank_feedback: frozenset[str] | set[str] = frozenset(),
) -> HttpResponse:
    """A row per unit; ``blank_feedback``: codes of units whose feedback cells stay empty (see ``overview``)."""
    header = ["code", "name", "days", *(name for name, _get in UNIT_COLUMNS)]
    rows = (
        [
            code,
            name,
            p.days,
            *(None if code in blank_feedback and col in FEEDBACK_COLUMNS else get(f) for col, get in UNIT_COLUMNS),
        ]
        for code, name, f in units
    )
    return _csv(filename, header, rows, hide_feedback=hide_feedback)


def _table_csv(
    filename: str,
    p: metrics.Period,
    columns: Sequence[tuple[str, Callable[[Any], Any]]],
    rows: Iterable[Any],
    *,
    ident: int,
    hide_feedback: bool = False,
) -> HttpResponse:
    """A page's table as CSV: the ``ident`` columns naming a row, the period's days, then the figures."""
    header = [*(n for n, _g in columns[:ident]), "days", *(n for n, _g in columns[ident:])]
    data = ([*(g(r) for _n, g in columns[:ident]), p.days, *(g(r) for _n, g in columns[ident:])] for r in rows)
    return _csv(filename, header, data, hide_feedback=hide_feedback)


def _with_query(url: str, request: HttpRequest) -> str:
    query = {k: str(request.GET[k]) for k in ("days", "format") if k in request.GET}
    return url + ("?" + urlencode(query) if query else "")


def _unit_charts(
    units: Sequence[tuple[str, str, Figures]],
    *,
    hide_feedback: bool = False,
    blank_feedback: frozenset[str] | set[str] = frozenset(),
) -> list[SafeString]:
    """Backlog, on-time share, satisfaction and money asked, one bar per division or office (none for the units
    in ``blank_feedback`` in the last two)."""
    answered = [(code, name, f) for code, name, f in units if code not in blank_feedback]
    charts = [
        bar_chart(_("Open cases after payment (backlog)"), [Bar(name, f.backlog) for _c, name, f in units]),
        bar_chart(
            _("Passports printed by the promised day (%)"),
            [Bar(name, f.on_time_pct, f"{f.on_time_pct}%") for _c, name, f in units if f.on_time_pct is not None],
            max_value=100,
            tone="good",
        ),
        bar_chart(
            _("Satisfaction after a visit (1 to 5)"),
            [Bar(name, f.satisfaction) for _c, name, f in answered if f.satisfaction is not None],
            max_value=5,
        ),
        bar_chart(
            _("Applicants who say they were asked for money"),
            [Bar(name, f.money_asked) for _c, name, f in answered],
            tone="alert",
        ),
    ]
    return charts[:2] if hide_feedback else charts


def _step_chart(title: str, steps: list[metrics.StepStat]) -> SafeString:
    """The median as the bar, the 95th percentile as a lighter bar behind it."""
    bars = [
        Bar(
            s.label,
            s.median_h or 0,
            _("%(median)s (95%%: %(p95)s)") % {"median": s.median_text, "p95": s.p95_text},
            s.p95_h,
        )
        for s in steps
    ]
    return bar_chart(title, bars)


def _supervisor(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    if not may_anywhere(user, Perm.SUPERVISE):
        raise Http404
    return user


def _base_context(p: metrics.Period, **extra: Any) -> dict[str, Any]:
    return {"period": p, "periods": metrics.PERIODS, **extra}


# --- Pages ------------------------------------------------------------------------------------------------


@staff_required
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    """The directorate: a row per division (and per office held outside a whole division)."""
    user = _supervisor(request)
    offices = offices_for(user, Perm.SUPERVISE)
    everywhere = may(user, Perm.SUPERVISE, None)
    if everywhere:
        divisions = list(Division.objects.all())
        loose: list[Office] = []
    else:
        divisions = [d for d in Division.objects.filter(offices__in=offices).distinct() if may(user, Perm.SUPERVISE, d)]
        loose = list(offices.exclude(division__in=divisions).select_related("division"))
        if len(divisions) == 1 and not loose:
            url = reverse("staff:supervision_division", args=[divisions[0].province_code])
            return redirect(_with_query(url, request))
        if not divisions and len(loose) == 1:
            return redirect(_with_query(reverse("staff:supervision_office", args=[loose[0].code]), request))
    p = _period(request)
    figures = metrics.office_figures(offices, p)
    division_of = dict(offices.values_list("pk", "division_id"))
    units: list[tuple[str, str, Figures]] = []
    for d in divisions:
        parts = (f for o, f in figures.items() if o is not None and division_of.get(o) == d.pk)
        units.append((d.province_code, d.name, metrics.merged(parts)))
    # An office held outside a whole division is one the user only heads: its applicants' answers are not theirs
    # to see (they go to the level above the office), in its row and in the total alike.
    units += [(o.code, o.name, metrics.without_feedback(figures.get(o.pk, Figures()))) for o in loose]
    headed_only = {o.code for o in loose}
    unattributed = figures.get(None, Figures()) if everywhere else Figures()
    hidden = feedback_hidden(user)
    if _wants_csv(request):
        rows = list(units)
        if everywhere:
            rows.append(("", _("No office"), unattributed))
        return _unit_csv(
            f"supervision-directorate-{p.days}d.csv", p, rows, hide_feedback=hidden, blank_feedback=headed_only
        )
    total = metrics.merged([*(f for _c, _n, f in units), unattributed])
    context = _base_context(
        p,
        everywhere=everywhere,
        rows=[
            {
                "code": code,
                "name": name,
                "figures": f,
                "feedback_hidden": code in headed_only,
                "url": reverse("staff:supervision_division", args=[code])
                if i < len(divisions)
                else reverse("staff:supervision_office", args=[code]),
            }
            for i, (code, name, f) in enumerate(units)
        ],
        total=total,
        unattributed=unattributed,
        feedback_hidden=hidden,
        charts=_unit_charts(units, hide_feedback=hidden, blank_feedback=headed_only),
        volumes=metrics.service_volumes(total),
        audit=metrics.audit_health(),
    )
    return render(request, "supervision/dashboard_overview.html", context)


@staff_required
@require_GET
def division(request: HttpRequest, province_code: str) -> HttpResponse:
    """A division: a row per office."""
    user = _supervisor(request)
    unit = Division.objects.filter(province_code=province_code).first()
    if unit is None or not may(user, Perm.SUPERVISE, unit):
        raise Http404
    p = _period(request)
    offices = Office.objects.filter(division=unit)
    figures = metrics.office_figures(offices, p)
    units = [(o.code, o.name, figures.get(o.pk, Figures())) for o in offices]
    if _wants_csv(request):
        return _unit_csv(f"supervision-division-{unit.province_code}-{p.days}d.csv", p, units)
    total = metrics.merged(f for _c, _n, f in units)
    context = _base_context(
        p,
        division=unit,
        everywhere=may(user, Perm.SUPERVISE, None),
        rows=[
            {"code": code, "name": name, "figures": f, "url": reverse("staff:supervision_office", args=[code])}
            for code, name, f in units
        ],
        total=total,
        charts=_unit_charts(units),
        volumes=metrics.service_volumes(total),
        audit=metrics.audit_health(),
    )
    return render(request, "supervision/dashboard_division.html", context)


@staff_required
@require_GET
def office(request: HttpRequest, code: str) -> HttpResponse:
    """An office: its figures, the time in each step, and a row per officer who worked there."""
    user = _supervisor(request)
    unit = office_or_404(user, Perm.SUPERVISE, code)
    hidden = feedback_hidden(user, unit)
    p = _period(request)
    officers = metrics.officer_rows(unit, p)
    if _wants_csv(request):
        name = f"supervision-office-{unit.code}-{p.days}d.csv"
        return _table_csv(name, p, OFFICER_COLUMNS, officers, ident=2, hide_feedback=hidden)
    f = metrics.office_figures(Office.objects.filter(pk=unit.pk), p).get(unit.pk, Figures())
    passport_steps, visa_steps = f.steps("passport"), f.steps("visa")
    volumes = metrics.service_volumes(f)
    context = _base_context(
        p,
        office=unit,
        feedback_hidden=hidden,
        may_see_division=may(user, Perm.SUPERVISE, unit.division),
        figures=f,
        passport_steps=passport_steps,
        visa_steps=visa_steps,
        volumes=volumes,
        officers=officers,
        charts=[
            bar_chart(_("Applications by service"), [Bar(label, n) for label, n in volumes]),
            *(
                [_step_chart(_("Passports: time in each step, median and 95th percentile"), passport_steps)]
                if passport_steps
                else []
            ),
            *(
                [_step_chart(_("Visas and permits: time in each step, median and 95th percentile"), visa_steps)]
                if visa_steps
                else []
            ),
        ],
        audit=metrics.audit_health(),
    )
    return render(request, "supervision/dashboard_office.html", context)


@staff_required
@require_GET
def counters(request: HttpRequest, code: str) -> HttpResponse:
    """An office's counters: visits served, the applicants' answers, spot checks and locker use."""
    user = _supervisor(request)
    unit = office_or_404(user, Perm.SUPERVISE, code)
    hidden = feedback_hidden(user, unit)
    p = _period(request)
    rows = metrics.counter_rows(unit, p)
    if _wants_csv(request):
        name = f"supervision-counters-{unit.code}-{p.days}d.csv"
        return _table_csv(name, p, COUNTER_COLUMNS, rows, ident=3, hide_feedback=hidden)
    context = _base_context(
        p,
        office=unit,
        rows=rows,
        feedback_hidden=hidden,
        charts=[
            *(
                []
                if hidden
                else [
                    bar_chart(
                        _("Satisfaction after a visit, by counter (1 to 5)"),
                        [Bar(r.name, r.satisfaction) for r in rows if r.satisfaction is not None],
                        max_value=5,
                    ),
                    bar_chart(
                        _("Applicants who say they were asked for money, by counter"),
                        [Bar(r.name, r.money_asked) for r in rows],
                        tone="alert",
                    ),
                ]
            ),
            bar_chart(_("Visits served, by counter"), [Bar(r.name, r.visits_served) for r in rows]),
        ],
    )
    return render(request, "supervision/dashboard_counters.html", context)


@staff_required
@require_GET
def officer(request: HttpRequest, code: str, officer_id: int) -> HttpResponse:
    """One officer's steps held from this office in the period, each linked to its case."""
    user = _supervisor(request)
    unit = office_or_404(user, Perm.SUPERVISE, code)
    person = User.objects.filter(pk=officer_id, kind=User.Kind.STAFF).first()
    if person is None or not metrics.worked_at(unit, person.pk):
        raise Http404
    p = _period(request)
    cases = metrics.officer_cases(unit, person.pk, p)
    record_view(
        "supervision.officer_viewed",
        actor=user,
        obj=person,
        office=unit,
        details={"days": p.days, "cases": len(cases), "csv": _wants_csv(request)},
    )
    if _wants_csv(request):
        zone = zoneinfo.ZoneInfo(unit.timezone)
        header = ["kind", "reference", "status", "step", "assigned_at", "ended_at", "ended_because", "hours_held"]
        rows = (
            [
                "visa" if c.visa else "passport",
                c.reference,
                c.status,
                c.duty,
                timezone.localtime(c.assigned_at, zone).isoformat(),
                "" if c.ended_at is None else timezone.localtime(c.ended_at, zone).isoformat(),
                c.ended_because,
                None if c.held_h is None else round(c.held_h, 1),
            ]
            for c in cases
        )
        return _csv(f"supervision-officer-{person.pk}-{unit.code}-{p.days}d.csv", header, rows)
    summary = next((r for r in metrics.officer_rows(unit, p) if r.officer_id == person.pk), None)
    context = _base_context(
        p,
        office=unit,
        person=person,
        cases=cases,
        summary=summary,
        limit=metrics.CASES_SHOWN,
        feedback_hidden=feedback_hidden(user, unit),
    )
    return render(request, "supervision/dashboard_officer.html", context)
