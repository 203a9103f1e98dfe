"""The region overview for the RCC: the month's figures of every municipality, the region's
totals and their change from the previous month, and the worst schools (lowest on-time
rate) and devices (lowest availability) — where to look first."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from booking.access import Action, Principal, authorize
from booking.organisations import Organisation, OrgKind
from booking.reports_store import SchoolTotal
from booking.services.reports.figures import Figures, change, total
from booking.services.reports.monthly import Sources, figures_by_school, lesson_days_of, weekly
from booking.services.reports.months import parse_month, previous_month
from booking.services.reports.outcomes import refresh_outcomes

KIND = "region"
WORST = 10  # schools and devices listed
MIN_DUE = 3  # a school is ranked once this many of its lessons were due


def region_overview(
    sources: Sources, principal: Principal, month: str, *, now: datetime
) -> dict[str, Any]:
    parse_month(month)
    authorize(principal, Action.READ_REGION_REPORTS)
    return build_region(sources, month, now=now)


def build_region(sources: Sources, month: str, *, now: datetime) -> dict[str, Any]:
    """The overview (no authorization: the scheduled delivery builds it for the RCC).

    The schools come as the store's sums (with each school's path); only the regions and
    municipalities are read as organisations, and the names of the schools listed."""
    for each in (previous_month(month), month):
        refresh_outcomes(sources.uow, sources.history, sources.store, each, now=now)
    lessons, by_day = sources.store.month_totals(month, None)
    before = sources.store.school_totals(previous_month(month), None, by_day=True)
    with sources.uow:
        above = list(sources.uow.organisations.of_kinds((OrgKind.REGION, OrgKind.MUNICIPALITY)))
        terminals = [
            t
            for o in above
            if o.kind is OrgKind.REGION
            for t in sources.uow.terminals.in_subtree(o.path, active_only=True)
        ]
    return overview(sources, above, terminals, lessons, by_day, before, month, now)


def municipality_of(orgs: Mapping[str, Organisation], path: str) -> Organisation | None:
    """The municipality an organisation at `path` lies in (`orgs` by path)."""
    for prefix in _prefixes(path):
        found = orgs.get(prefix)
        if found is not None and found.kind is OrgKind.MUNICIPALITY:
            return found
    return None


def _prefixes(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def overview(
    sources: Sources,
    above: list[Organisation],
    terminals: list[Any],
    lessons: list[SchoolTotal],
    by_day: list[SchoolTotal],
    before: list[SchoolTotal],
    month: str,
    now: datetime,
) -> dict[str, Any]:
    """`above`: the regions and municipalities; `lessons`: the month's sums per school."""
    by_path = {o.path: o for o in above}
    per_school = figures_by_school(lessons)
    path_of = {t.school_id: t.org_path for t in lessons}
    municipality_of_school: dict[str, Organisation] = {}
    above_school: dict[str, Organisation | None] = {}  # by the school's parent's path
    for school_id in per_school:
        parent = path_of[school_id].rpartition("/")[0]
        if parent not in above_school:
            above_school[parent] = municipality_of(by_path, parent)
        found = above_school[parent]
        if found is not None:
            municipality_of_school[school_id] = found
    per_municipality: dict[str, Figures] = {}
    for school_id, figures in per_school.items():
        found = municipality_of_school.get(school_id)
        if found is not None:
            per_municipality.setdefault(found.id, Figures()).merge(figures)
    municipalities = sorted(
        (o for o in above if o.kind is OrgKind.MUNICIPALITY), key=lambda o: o.name
    )
    rows = [
        {
            "municipality_id": m.id,
            "municipality": m.name,
            **per_municipality.get(m.id, Figures()).as_dict(),
        }
        for m in municipalities
    ]
    totals = total(per_school.values()).as_dict()
    previous = total(figures_by_school(before).values()).as_dict()  # per day: one key
    ranked = [
        (figures.on_time_rate, school_id, figures)
        for school_id, figures in per_school.items()
        if figures.on_time_rate is not None and figures.held + figures.failed_total >= MIN_DUE
    ]
    ranked.sort(key=lambda r: (r[0], -r[2].failed_total, r[1]))
    with_lessons = [t for t in terminals if t.site_id in per_school]
    up = sources.availability.availability([t.id for t in with_lessons], lesson_days_of(by_day))
    devices = sorted((t for t in with_lessons if t.id in up), key=lambda t: (up[t.id], t.id))
    devices = devices[:WORST]
    with sources.uow:
        by_id = sources.uow.organisations.get_many(
            [school_id for _, school_id, _ in ranked[:WORST]] + [t.site_id for t in devices]
        )
    worst_schools = [
        {
            "school_id": school_id,
            "school": by_id[school_id].name if school_id in by_id else school_id,
            "municipality": (
                municipality_of_school[school_id].name
                if school_id in municipality_of_school
                else ""
            ),
            **figures.as_dict(),
        }
        for _, school_id, figures in ranked[:WORST]
    ]
    worst_devices = [
        {
            "terminal_id": t.id,
            "terminal": t.name,
            "school_id": t.site_id,
            "school": by_id[t.site_id].name if t.site_id in by_id else t.site_id,
            "availability": up[t.id],
        }
        for t in devices
    ]
    return {
        "report": KIND,
        "month": month,
        "generated_at": now.isoformat(),
        "municipalities": rows,
        "totals": totals,
        "weeks": weekly(by_day),
        "previous_month": previous_month(month),
        "previous": previous,
        "change": change(totals, previous),
        "worst_schools": worst_schools,
        "worst_devices": worst_devices,
    }
