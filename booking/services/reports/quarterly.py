"""The base school's quarterly report (seed 004: «по итогам учебной четверти», a quarter
of the academic year, or a calendar quarter): the service it gave as the host of distance
lessons — per distance teacher and course, the lessons given, the schools and
pupils served, the presence of the classes, and the problems (failed, partly held, late)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from booking.access import Action, Principal, authorize
from booking.organisations import OrgKind
from booking.outcomes import OutcomeKind
from booking.services.reports.figures import Figures, total
from booking.services.reports.monthly import Sources, org
from booking.services.reports.outcomes import refresh_outcomes
from booking.services.reports.periods import period_of

KIND = "quarterly"


def quarterly_report(
    sources: Sources, principal: Principal, school_id: str, quarter: str, *, now: datetime
) -> dict[str, Any]:
    school = org(sources.uow, school_id, (OrgKind.SCHOOL,))
    authorize(principal, Action.READ_REPORTS, [school])
    period = period_of(sources.uow, quarter)
    months, zone = period.months, school.zone
    courses: dict[tuple[str, str], Figures] = {}
    served: dict[tuple[str, str], set[str]] = {}
    lessons_given: dict[tuple[str, str], int] = {}
    for month in months:
        refresh_outcomes(sources.uow, sources.history, sources.store, month, now=now)
        for lesson in sources.store.lessons(month, None):
            if lesson.host_school_id != school.id:
                continue
            if not period.holds(lesson.start.astimezone(zone).date()):
                continue  # a day of the month outside the quarter (after the holidays)
            key = (lesson.teacher, lesson.subject or lesson.title)
            lessons_given[key] = lessons_given.get(key, 0) + (
                1
                if lesson.kind in (OutcomeKind.ON_TIME, OutcomeKind.LATE, OutcomeKind.PARTIAL)
                else 0
            )
            figures = courses.setdefault(key, Figures())
            for row in lesson.schools:
                if row.school_id == school.id:
                    continue
                figures.add(row, lesson.online_s, lesson.moved_from is not None)
                served.setdefault(key, set()).add(row.school_id)
    rows = [
        {
            "teacher": teacher,
            "course": course,
            "lessons_given": lessons_given[(teacher, course)],
            "schools_served": len(served.get((teacher, course), set())),
            **figures.as_dict(),
        }
        for (teacher, course), figures in sorted(courses.items())
    ]
    return {
        "report": KIND,
        "school_id": school.id,
        "school": school.name,
        "quarter": period.key,
        "period": period.name,
        "months": months,
        "generated_at": now.isoformat(),
        "courses": rows,
        "totals": {
            "lessons_given": sum(lessons_given.values()),
            "schools_served": len(set().union(*served.values())) if served else 0,
            **total(courses.values()).as_dict(),
        },
    }
