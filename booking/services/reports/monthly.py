"""The monthly municipal report (seed 000 §2.2–2.3): per school of the municipality, the
lessons planned, held on time, late, partly held, failed by cause and cancelled, the
presence of its class, the pupils recorded and its terminals' availability during the
month's lesson days; the totals and the change from the previous month.

A closed month (`closing.py`) is served as it was stored when closed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from booking.access import Action, Principal, authorize
from booking.errors import InvalidInput, NotFound
from booking.organisations import Organisation, OrgKind
from booking.reports_store import LessonRow, ReportStore, SchoolTotal
from booking.repository import UnitOfWork
from booking.services.reports.figures import Figures, change, total
from booking.services.reports.months import days_of, parse_month, previous_month
from booking.services.reports.outcomes import History, refresh_outcomes

KIND = "monthly"


class Availability(Protocol):
    """The share of watched time each terminal was up (`ok` or `degraded`) on these days
    (the health monitor's daily uptime); a terminal never watched is left out."""

    def availability(
        self, terminal_ids: Iterable[str], days: Iterable[date]
    ) -> dict[str, float]: ...


class NoAvailability:
    def availability(self, terminal_ids: Iterable[str], days: Iterable[date]) -> dict[str, float]:
        return {}


@dataclass(frozen=True)
class Sources:
    """Where a report reads from: the booking data, the automation's history, the
    reports' store and the monitor's uptime."""

    uow: UnitOfWork
    history: History
    store: ReportStore
    availability: Availability = field(default_factory=NoAvailability)


def _figures(totals: Iterable[SchoolTotal]) -> list[Figures]:
    out = Figures()
    for t in totals:
        out.add_total(t)
    return [out]


def figures_by_school(totals: Iterable[SchoolTotal]) -> dict[str, Figures]:
    out: dict[str, Figures] = {}
    for t in totals:
        out.setdefault(t.school_id, Figures()).add_total(t)
    return out


def weekly(totals: Iterable[SchoolTotal]) -> list[dict[str, Any]]:
    """The figures of each week (from its Monday): the on-time chart."""
    weeks: dict[date, Figures] = {}
    for t in totals:
        if t.day is None:
            continue
        monday = t.day - timedelta(days=t.day.weekday())
        weeks.setdefault(monday, Figures()).add_total(t)
    return [
        {
            "week": monday.isoformat(),
            "planned": f.planned,
            "on_time": f.on_time,
            "on_time_rate": f.on_time_rate,
        }
        for monday, f in sorted(weeks.items())
    ]


def lesson_days_of(by_day: Iterable[SchoolTotal]) -> list[date]:
    """The days with lessons (availability is measured over them)."""
    return sorted({t.day for t in by_day if t.day is not None})


def lesson_days(lessons: Iterable[LessonRow]) -> dict[str, set[date]]:
    """The days each school had lessons (in UTC: the uptime's days are close enough)."""
    out: dict[str, set[date]] = {}
    for lesson in lessons:
        for row in lesson.schools:
            out.setdefault(row.school_id, set()).add(lesson.start.date())
    return out


def org(uow: UnitOfWork, org_id: str, kinds: tuple[OrgKind, ...]) -> Organisation:
    with uow:
        found = uow.organisations.get(org_id)
    if found is None:
        raise NotFound(f"unknown organisation {org_id}", org_id=org_id)
    if found.kind not in kinds:
        wanted = " or ".join(str(k) for k in kinds)
        raise InvalidInput(f"{org_id} is a {found.kind}, not a {wanted}", field="org_id")
    return found


def monthly_report(
    sources: Sources,
    principal: Principal,
    municipality_id: str,
    month: str,
    *,
    now: datetime,
) -> dict[str, Any]:
    """The monthly report of a municipality (the stored one if the month is closed)."""
    parse_month(month)
    municipality = org(sources.uow, municipality_id, (OrgKind.MUNICIPALITY,))
    authorize(principal, Action.READ_REPORTS, [municipality])
    closed = sources.store.closed_month(municipality.id, month)
    if closed is not None:
        return closed.report
    return build_monthly(sources, municipality, month, now=now)


def build_monthly(
    sources: Sources, municipality: Organisation, month: str, *, now: datetime
) -> dict[str, Any]:
    for each in (previous_month(month), month):
        refresh_outcomes(sources.uow, sources.history, sources.store, each, now=now)
    totals_now, by_day = sources.store.month_totals(month, municipality.path)
    before = sources.store.school_totals(previous_month(month), municipality.path, by_day=True)
    with sources.uow:
        schools = [
            o
            for o in sources.uow.organisations.subtree(municipality.path)
            if o.kind is OrgKind.SCHOOL
        ]
        terminals = sources.uow.terminals.in_subtree(municipality.path)
    per_school = figures_by_school(totals_now)
    terminals_of: dict[str, list[str]] = {}
    for terminal in terminals:
        terminals_of.setdefault(terminal.site_id, []).append(terminal.id)
    up = sources.availability.availability([t.id for t in terminals], lesson_days_of(by_day))
    rows = []
    for school in sorted(schools, key=lambda s: s.name):
        figures = per_school.get(school.id, Figures())
        rows.append(
            {
                "school_id": school.id,
                "school": school.name,
                **figures.as_dict(),
                "availability": _mean(up, terminals_of.get(school.id, [])),
            }
        )
    totals = total(per_school.get(s.id, Figures()) for s in schools).as_dict()
    totals["availability"] = _mean(up, [t.id for t in terminals])
    previous = total(_figures(before)).as_dict()
    return {
        "report": KIND,
        "municipality_id": municipality.id,
        "municipality": municipality.name,
        "month": month,
        "days": [d.isoformat() for d in days_of(month)],
        "generated_at": now.isoformat(),
        "closed": False,
        "schools": rows,
        "totals": totals,
        "weeks": weekly(by_day),
        "previous_month": previous_month(month),
        "previous": previous,
        "change": change(totals, previous),
    }


def _mean(values: Mapping[str, float], ids: Iterable[str]) -> float | None:
    known = [values[i] for i in ids if i in values]
    return round(sum(known) / len(known), 4) if known else None
