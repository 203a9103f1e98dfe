"""Whether a lesson lies within every participating school's day: each school's own bells,
read on its own wall clock — the Kemerovo 3rd lesson (09:45 at UTC+7) is 05:45 in Moscow,
before the Mordovian partner's first bell. Planning warns (or, strict, refuses) and the
alternatives keep to every school's day."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from booking.bells import BellSchedule, LessonSlot, school_day_span, within_school_day
from booking.organisations import Organisation, OrgKind
from booking.services.lookups import Lookups
from booking.words import Words


@dataclass(frozen=True)
class SchoolDay:
    school: Organisation
    bells: BellSchedule


def school_days(lookups: Lookups, schools: Iterable[Organisation]) -> list[SchoolDay]:
    """The participating schools that have bells (the others have no day to keep to)."""
    found = []
    for school in {s.id: s for s in schools}.values():
        bells = lookups.bells_of(school) if school.kind == OrgKind.SCHOOL else None
        if bells is not None:
            found.append(SchoolDay(school, bells))
    return found


def _shortened(lookups: Lookups, school: Organisation, slot: LessonSlot) -> bool:
    local_date = slot.start.astimezone(school.zone).date()
    year = lookups.year_covering(local_date)
    return year is not None and year.is_shortened(local_date)


def in_every_day(lookups: Lookups, days: Sequence[SchoolDay], slot: LessonSlot) -> bool:
    return all(
        within_school_day(
            d.bells,
            d.school.zone,
            slot.start,
            slot.end,
            shortened=_shortened(lookups, d.school, slot),
        )
        for d in days
    )


def outside_days(
    lookups: Lookups, days: Sequence[SchoolDay], slots: Sequence[LessonSlot]
) -> list[Words]:
    """One warning per school whose day some slot falls outside, naming the first such date
    in the school's local time and how many dates there are."""
    warnings = []
    for day in days:
        school, zone = day.school, day.school.zone
        outside = [
            s
            for s in slots
            if not within_school_day(
                day.bells, zone, s.start, s.end, shortened=_shortened(lookups, school, s)
            )
        ]
        if not outside:
            continue
        first = outside[0]
        begins, ends = school_day_span(day.bells, shortened=_shortened(lookups, school, first))
        local_start, local_end = first.start.astimezone(zone), first.end.astimezone(zone)
        said = {
            "school": school.name, "start": f"{local_start:%Y-%m-%d %H:%M}",
            "end": f"{local_end:%H:%M}", "zone": zone, "begins": f"{begins:%H:%M}",
            "ends": f"{ends:%H:%M}", "more": len(outside) - 1,
        }  # fmt: skip
        warnings.append(
            Words(
                "%(school)s: %(start)s–%(end)s its local time (%(zone)s) is outside its"
                " school day (%(begins)s–%(ends)s) (and %(more)s more dates)",
                said,
            )
            if len(outside) > 1
            else Words(
                "%(school)s: %(start)s–%(end)s its local time (%(zone)s) is outside its"
                " school day (%(begins)s–%(ends)s)",
                said,
            )
        )
    return warnings
