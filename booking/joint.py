"""Lessons free for several schools at once, as pure functions: a host lesson is a joint
candidate when it lies within every participant's school day (each by its own bells, in its
own zone), and free when every site has a terminal free over it (set-up included).

The service (`booking.services.joint`) resolves the schools, their bells and calendars,
fetches the busy rows with one query for every terminal of every site over the range, and
asks these functions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from booking.availability import bookable, setup_start
from booking.bells import BellSchedule, LessonSlot, lesson_number_at, within_school_day
from booking.bookings import Reservation
from booking.conflicts import BusyIndex
from booking.organisations import Organisation


@dataclass(frozen=True)
class LocalLesson:
    """A joint slot as one school sees it: its wall clock and its own lesson number."""

    school_id: str
    local_date: date
    local_start: datetime  # aware, the school's zone
    local_end: datetime
    lesson_number: int | None  # by the school's own bells (None: across a break)


@dataclass(frozen=True)
class JointSlot:
    """A host lesson free for every participant, on one date or (weekly) on every date of
    its weekday in the range."""

    host_lesson_number: int | None
    weekday: int  # 0 = Monday, the host's local weekday
    dates: tuple[date, ...]  # the host's local dates it is free on
    start: datetime  # UTC, of the first date
    end: datetime
    schools: tuple[LocalLesson, ...]  # the first date, for each school in the asked order
    terminal_ids: Mapping[str, tuple[str, ...]]  # free terminals by site, on the first date


@dataclass(frozen=True)
class SchoolBells:
    """A participant with its bells and whether the date concerned is shortened for it."""

    school: Organisation
    bells: BellSchedule
    shortened: bool = False


def in_every_day(lesson: LessonSlot, schools: Sequence[SchoolBells]) -> tuple[LocalLesson, ...]:
    """The lesson in every school's local time and numbering, or () if it falls outside
    any school's day."""
    found = []
    for item in schools:
        zone = item.school.zone
        if not within_school_day(
            item.bells, zone, lesson.start, lesson.end, shortened=item.shortened
        ):
            return ()
        local_start = lesson.start.astimezone(zone)
        found.append(
            LocalLesson(
                item.school.id,
                local_start.date(),
                local_start,
                lesson.end.astimezone(zone),
                lesson_number_at(item.bells, zone, lesson.start, shortened=item.shortened),
            )
        )
    return tuple(found)


def joint_free(
    candidates: Iterable[tuple[LessonSlot, tuple[LocalLesson, ...]]],
    terminals_by_site: Mapping[str, Sequence[str]],
    reservations: Iterable[Reservation],
    *,
    setup_minutes: int,
    not_before: datetime | None = None,
    weekly: bool = False,
) -> list[JointSlot]:
    """The candidates free at every site. Weekly: one slot per (weekday, host lesson)
    kept only if free on every one of its candidate dates."""
    index = BusyIndex(reservations)
    free: list[JointSlot] = []
    refused: set[tuple[int, int | None]] = set()
    for lesson, schools in candidates:
        key = (lesson.local_date.weekday(), lesson.lesson_number)
        if not_before is not None and not bookable(lesson.start, setup_minutes, not_before):
            continue
        taken_from = setup_start(lesson.start, setup_minutes)
        by_site = {
            site: tuple(t for t in ids if index.is_free(t, taken_from, lesson.end))
            for site, ids in terminals_by_site.items()
        }
        if not all(by_site.values()):
            refused.add(key)
            continue
        free.append(
            JointSlot(
                lesson.lesson_number,
                key[0],
                (lesson.local_date,),
                lesson.start,
                lesson.end,
                schools,
                by_site,
            )
        )
    if not weekly:
        return free
    merged: dict[tuple[int, int | None], JointSlot] = {}
    for slot in free:
        key = (slot.weekday, slot.host_lesson_number)
        if key in refused:
            continue
        first = merged.get(key)
        merged[key] = (
            slot
            if first is None
            else JointSlot(
                first.host_lesson_number,
                first.weekday,
                (*first.dates, *slot.dates),
                first.start,
                first.end,
                first.schools,
                first.terminal_ids,
            )
        )
    return sorted(merged.values(), key=lambda s: (s.weekday, s.host_lesson_number or 0))


def named_for(slot: JointSlot, hidden_sites: set[str]) -> JointSlot:
    """The slot without the terminal ids of the sites the reader may not see."""
    return replace(
        slot,
        terminal_ids={
            site: () if site in hidden_sites else ids for site, ids in slot.terminal_ids.items()
        },
    )
