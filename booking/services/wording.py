"""Conflicts in the words of the people who read them: the lesson that holds a terminal or
a class by its title and teacher, with its lesson number and wall-clock time at the school
concerned (that school's bells and zone), the booking id kept for machines.

Applied only to refusals (a booking without conflicts never gets here), with one query for
the other bookings; schools, terminals and bells come from the process's reference copies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from booking.bells import day_lessons
from booking.bookings import BookingBrief
from booking.conflicts import ConflictItem, ConflictKind
from booking.organisations import Organisation
from booking.services.lookups import Lookups
from booking.words import Words


def briefs_wanted(items: Sequence[ConflictItem]) -> set[str]:
    """The bookings whose title and teacher the wording of `items` names."""
    return {i.other_booking_id for i in items if i.other_booking_id is not None}


def reworded(
    lookups: Lookups,
    items: Sequence[ConflictItem],
    briefs: Mapping[str, BookingBrief] | None = None,
) -> list[ConflictItem]:
    """The conflicts, each terminal or class clash told by the lesson it meets (`briefs`:
    those of `briefs_wanted(items)`, already read; else read here)."""
    wanted = briefs_wanted(items)
    if not wanted:
        return list(items)
    others = (  # title and teacher: one read
        lookups.uow.bookings.briefs(wanted, schools=False) if briefs is None else briefs
    )
    terminals = lookups.terminals({i.terminal_id for i in items if i.terminal_id is not None})
    schools = lookups.orgs(
        {t.site_id for t in terminals.values()}
        | {i.school_id for i in items if i.school_id is not None}
    )
    out = []
    for item in items:
        other = others.get(item.other_booking_id or "")
        if other is None or item.other_start is None or item.other_end is None:
            out.append(item)
            continue
        if item.kind == ConflictKind.TERMINAL_BUSY and item.terminal_id is not None:
            school = schools[terminals[item.terminal_id].site_id]
            said = Words(
                "terminal %(terminal)s (%(school)s) is taken %(when)s by %(lesson)s"
                " (booking %(booking)s)",
                {"terminal": item.terminal_id, "school": school.name,
                 "when": _when(lookups, school, item.other_start, item.other_end),
                 "lesson": _lesson(other), "booking": other.id},
            )  # fmt: skip
        elif item.kind == ConflictKind.CLASS_BUSY and item.school_id is not None:
            school = schools[item.school_id]
            said = Words(
                "class %(class_name)s of %(school)s is already in %(lesson)s %(when)s"
                " (booking %(booking)s)",
                {"class_name": item.class_name, "school": school.name, "lesson": _lesson(other),
                 "when": _when(lookups, school, item.other_start, item.other_end),
                 "booking": other.id},
            )  # fmt: skip
        else:
            out.append(item)
            continue
        out.append(replace(item, message=said.text(), words=said))
    return out


def _lesson(booking: BookingBrief) -> str:
    return f"«{booking.title}» ({booking.teacher})"


def _when(lookups: Lookups, school: Organisation, start: datetime, end: datetime) -> Words:
    """`on 2026-09-15, lesson 3, 09:45–10:25 Asia/Novokuznetsk`: the lesson that ends
    with the busy range (which may begin earlier, with the set-up), else the range. The
    day and the zone are kept as such: a page writes them its own way («15.09.2026»,
    «UTC+7, Новокузнецк»), the API's English as above."""
    zone = school.zone
    local_end = end.astimezone(zone)
    day = local_end.date()
    bells = lookups.bells_of(school)
    if bells is not None:
        year = lookups.year_covering(day)
        shortened = year is not None and year.is_shortened(day)
        for slot in day_lessons(bells, zone, day, shortened=shortened):
            if slot.end == end and slot.start >= start:
                return Words(
                    "on %(day)s, lesson %(n)s, %(start)s–%(end)s %(zone)s",
                    {"day": day, "n": slot.lesson_number,
                     "start": f"{slot.local_start:%H:%M}", "end": f"{slot.local_end:%H:%M}",
                     "zone": zone},
                )  # fmt: skip
    return Words(
        "on %(day)s, %(start)s–%(end)s %(zone)s",
        {"day": day, "start": f"{start.astimezone(zone):%H:%M}",
         "end": f"{local_end:%H:%M}", "zone": zone},
    )  # fmt: skip
