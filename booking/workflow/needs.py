"""The search "from need": which offers of any network fit a school's need.

A lesson fits when it lands, in the needing school's own local time and bells, inside one
of its lessons (a UTC+7 school's 3rd lesson, 09:40 in Kemerovo, is 05:40 in Insar: no
lesson at all; its 6th, 12:20, is Insar's 1st at 08:20), on an acceptable weekday and
lesson, with places left. Fitting offers are ranked — the same lesson number at both
schools first, then fewer dates on which the school's terminals are busy, then time zones
closer together — and each result says why, in Russian and English.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from booking.bells import BellSchedule, lesson_number_at
from booking.errors import IllegalTransition
from booking.workflow.offers import Offer
from booking.workflow.requests import Need


@dataclass(frozen=True)
class School:
    """A school as the search sees it: its clock and bells."""

    id: str
    zone: ZoneInfo
    bells: BellSchedule | None


@dataclass
class NeedMatch:
    offer_id: str
    network_id: str
    score: float
    host_lesson: int | None  # the lesson number at the host school
    school_lesson: int  # the lesson it is at the needing school
    weekday: int  # the needing school's local weekday
    local_start: str  # "08:20" at the needing school
    host_start: str  # "12:20" at the host school
    zone_hours: float  # how far apart the two clocks are
    conflicting_dates: int | None = None  # dates on which the school's terminals are busy
    places_left: int = 0
    reasons_ru: list[str] = field(default_factory=list)
    reasons_en: list[str] = field(default_factory=list)


def match(
    need: Need,
    school: School,
    offer: Offer,
    host: School,
    *,
    places_left: int,
    conflicting_dates: int | None = None,
) -> NeedMatch | None:
    """The fit of one offer for the need, or None when it does not fit at all."""
    if offer.subject.casefold() != need.subject.casefold() or offer.grade != need.grade:
        return None
    if places_left <= 0 or school.bells is None:
        return None
    rec = offer.recurrence
    if rec.lesson_number is not None:
        if host.bells is None or rec.lesson_number not in host.bells.lessons:
            return None
        start_t, end_t = host.bells.lessons[rec.lesson_number]
    elif rec.start_time is not None and rec.end_time is not None:
        start_t, end_t = rec.start_time, rec.end_time
    else:
        return None
    best: NeedMatch | None = None
    for weekday in rec.weekdays:
        day = rec.starts_on + timedelta(days=(weekday - rec.starts_on.weekday()) % 7)
        start = datetime.combine(day, start_t, tzinfo=host.zone).astimezone(UTC)
        end = datetime.combine(day, end_t, tzinfo=host.zone).astimezone(UTC)
        here = start.astimezone(school.zone)
        number = lesson_number_at(school.bells, school.zone, start)
        end_number = lesson_number_at(school.bells, school.zone, end - timedelta(minutes=1))
        if number is None or end_number != number:
            continue  # outside the school's day, across a break or two lessons
        if need.weekdays and here.weekday() not in need.weekdays:
            continue
        if need.lesson_numbers and number not in need.lesson_numbers:
            continue
        if need.earliest and here.time() < need.earliest:
            continue
        if need.latest and here.time() > need.latest:
            continue
        offset = (here.utcoffset() or timedelta()) - (
            start.astimezone(host.zone).utcoffset() or timedelta()
        )
        hours = abs(offset.total_seconds()) / 3600
        result = NeedMatch(
            offer_id=offer.id,
            network_id=offer.network_id,
            score=100.0,
            host_lesson=rec.lesson_number,
            school_lesson=number,
            weekday=here.weekday(),
            local_start=f"{here:%H:%M}",
            host_start=f"{start.astimezone(host.zone):%H:%M}",
            zone_hours=hours,
            conflicting_dates=conflicting_dates,
            places_left=places_left,
        )
        _explain(result)
        if best is None or result.score > best.score:
            best = result
    return best


def _explain(m: NeedMatch) -> None:
    m.reasons_ru.append(f"урок {m.school_lesson} в школе ({m.local_start} по местному времени)")
    m.reasons_en.append(f"lesson {m.school_lesson} at the school ({m.local_start} local time)")
    if m.host_lesson is not None and m.host_lesson == m.school_lesson:
        m.score += 30
        m.reasons_ru.append("тот же номер урока в обеих школах")
        m.reasons_en.append("the same lesson number at both schools")
    elif m.host_lesson is not None:
        m.reasons_ru.append(f"у ведущей школы это урок {m.host_lesson} ({m.host_start})")
        m.reasons_en.append(f"the host school's lesson {m.host_lesson} ({m.host_start})")
    if m.conflicting_dates:
        m.score -= 3 * m.conflicting_dates
        m.reasons_ru.append(f"терминал школы занят в {m.conflicting_dates} дн.")
        m.reasons_en.append(f"the school's terminals are busy on {m.conflicting_dates} date(s)")
    elif m.conflicting_dates == 0:
        m.reasons_ru.append("терминал школы свободен во все даты")
        m.reasons_en.append("the school's terminal is free on every date")
    if m.zone_hours:
        m.score -= 5 * m.zone_hours
        m.reasons_ru.append(f"разница во времени {m.zone_hours:g} ч")
        m.reasons_en.append(f"{m.zone_hours:g} h apart")
    else:
        m.reasons_ru.append("один часовой пояс")
        m.reasons_en.append("the same time zone")
    m.reasons_ru.append(f"свободных мест: {m.places_left}")
    m.reasons_en.append(f"{m.places_left} place(s) left")


def rank(
    need: Need,
    school: School,
    offers: Iterable[Offer],
    hosts: Mapping[str, School],
    places_left: Mapping[str, int],
    conflicting_dates: Mapping[str, int] | None = None,
) -> list[NeedMatch]:
    """The fitting offers, best first (ties: by offer id)."""
    found = []
    for offer in offers:
        host = hosts.get(offer.host_school_id)
        if host is None:
            continue
        m = match(
            need,
            school,
            offer,
            host,
            places_left=places_left.get(offer.id, offer.places),
            conflicting_dates=(conflicting_dates or {}).get(offer.id),
        )
        if m is not None:
            found.append(m)
    found.sort(key=lambda m: (-m.score, m.offer_id))
    return found


@dataclass
class NeedInvitation:
    """The RCC (or the base school) picked an offer for a need: the offering network's
    administrator is asked to take the school into their timetable."""

    id: str
    offer_id: str
    network_id: str  # the offering network
    school_id: str  # the school with the need
    need: Need
    invited_by: str
    class_name: str = ""  # the class that would join («9Б»)
    pupils: int = 1
    state: str = "sent"  # sent | accepted | declined
    answer: str = ""
    version: int = 1

    def answer_it(self, *, accept: bool, answer: str = "") -> None:
        if self.state != "sent":
            raise IllegalTransition(
                f"invitation {self.id} was already {self.state}",
                state=self.state,
                action="accept" if accept else "decline",
            )
        self.state = "accepted" if accept else "declined"
        self.answer = answer
        self.version += 1
