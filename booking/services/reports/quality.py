"""The half-year monitoring of service quality (seed 004), per municipality and per
network: the on-time rate, the failure rate by cause, the mean lateness, the terminals'
availability on lesson days, and the server load peak (the most lessons in their rooms at
once)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from booking.access import Action, Principal, authorize
from booking.organisations import Organisation, OrgKind
from booking.reports_store import LessonRow
from booking.services.reports.figures import Figures, total
from booking.services.reports.monthly import Sources, lesson_days
from booking.services.reports.outcomes import refresh_outcomes
from booking.services.reports.periods import period_of

KIND = "quality"


def ancestor(orgs: Mapping[str, Organisation], path: str, kind: OrgKind) -> Organisation | None:
    """The organisation of `kind` on `path` (`orgs` by path)."""
    parts = path.split("/")
    for i in range(len(parts), 0, -1):
        found = orgs.get("/".join(parts[:i]))
        if found is not None and found.kind is kind:
            return found
    return None


def peak(lessons: Iterable[LessonRow]) -> tuple[int, str | None]:
    """The most held lessons whose live links overlapped, and when that was first reached."""
    edges: list[tuple[datetime, int]] = []
    for lesson in lessons:
        if lesson.kind in ("on_time", "late", "partial"):
            edges += [(lesson.start, 1), (lesson.start + timedelta(seconds=lesson.online_s), -1)]
    most, now, when = 0, 0, None
    for at, step in sorted(edges, key=lambda e: (e[0], e[1])):
        now += step
        if now > most:
            most, when = now, at.isoformat()
    return most, when


def quality_report(
    sources: Sources, principal: Principal, half_year: str, *, now: datetime
) -> dict[str, Any]:
    authorize(principal, Action.READ_REGION_REPORTS)
    period = period_of(sources.uow, half_year)
    months = period.months
    with sources.uow:
        orgs = list(sources.uow.organisations.list(0, 10**9))
        terminals = [
            t
            for o in orgs
            if o.kind is OrgKind.REGION
            for t in sources.uow.terminals.in_subtree(o.path, active_only=True)
        ]
    by_path = {o.path: o for o in orgs}
    groups: dict[tuple[OrgKind, str], Figures] = {}
    lessons: list[LessonRow] = []
    zones = {o.id: o.zone for o in orgs if o.kind is OrgKind.SCHOOL}
    for month in months:
        refresh_outcomes(sources.uow, sources.history, sources.store, month, now=now)
        lessons += [
            lesson
            for lesson in sources.store.lessons(month, None)
            if lesson.host_school_id not in zones
            or period.holds(lesson.start.astimezone(zones[lesson.host_school_id]).date())
        ]
    for lesson in lessons:
        for row in lesson.schools:
            for kind in (OrgKind.MUNICIPALITY, OrgKind.NETWORK):
                found = ancestor(by_path, row.org_path, kind)
                if found is not None:
                    groups.setdefault((kind, found.id), Figures()).add(
                        row, lesson.online_s, lesson.moved_from is not None
                    )
    days = lesson_days(lessons)
    all_days = sorted(set().union(*days.values())) if days else []
    with_lessons = [t for t in terminals if t.site_id in days]
    up = sources.availability.availability([t.id for t in with_lessons], all_days)
    site_path = {o.id: o.path for o in orgs}

    def availability(group: Organisation) -> float | None:
        known = [
            up[t.id]
            for t in with_lessons
            if t.id in up and site_path.get(t.site_id, "").startswith(group.path + "/")
        ]
        return round(sum(known) / len(known), 4) if known else None

    def rows(kind: OrgKind) -> list[dict[str, Any]]:
        out = []
        for o in sorted((o for o in orgs if o.kind is kind), key=lambda o: o.name):
            f = groups.get((kind, o.id), Figures())
            out.append(
                {"org_id": o.id, "name": o.name, **_quality(f), "availability": availability(o)}
            )
        return out

    most, when = peak(lessons)
    return {
        "report": KIND,
        "half_year": period.key,
        "period": period.name,
        "months": months,
        "generated_at": now.isoformat(),
        "municipalities": rows(OrgKind.MUNICIPALITY),
        "networks": rows(OrgKind.NETWORK),
        "totals": _quality(total(f for (k, _), f in groups.items() if k is OrgKind.MUNICIPALITY)),
        "peak_lessons": most,
        "peak_at": when,
    }


def _quality(f: Figures) -> dict[str, Any]:
    due = f.held + f.failed_total
    return {
        "planned": f.planned,
        "held": f.held,
        "on_time_rate": f.on_time_rate,
        "failure_rate": f.failure_rate,
        "failure_rate_by_cause": {cause: round(n / due, 4) for cause, n in sorted(f.failed.items())}
        if due
        else {},
        "mean_late_s": f.mean_late_s,
        "presence_rate": f.presence_rate,
    }
