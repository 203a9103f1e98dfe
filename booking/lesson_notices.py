"""Who hears what the automation and the monitor found about lessons and devices.

- a lesson degraded (a terminal dropped out, a room lost), at risk, or failed: the people
  of its schools and its owner — urgent for degraded and failed, the class is waiting;
- a school's class moved to a backup terminal: that school's people, urgently, told which
  room and terminal the class must go to;
- a monitor alert about a device: the people of the device's school (or the RCC for a
  region's server), with the alert's words (the device's name, school and what to do).
"""

from __future__ import annotations

from booking.access import Role
from booking.booking_notices import OWNER_PEOPLE, SCHOOL_PEOPLE, link
from booking.bookings import Booking
from booking.events import (
    DeviceAlerted,
    LessonAtRisk,
    LessonDegraded,
    LessonFact,
    LessonFailed,
    LessonTerminalSwitched,
)
from booking.notices import Notice, describes
from booking.repository import UnitOfWork

_WORDS: dict[type[LessonFact], tuple[str, str, str, str, bool]] = {
    LessonDegraded: (
        "lesson.degraded",
        "Урок идёт с нарушениями",
        "Lesson degraded",
        "Автоматика переподключает терминал; если урок не восстановится за минуту,"
        " позвоните дежурному РКЦ.",
        True,
    ),
    LessonAtRisk: (
        "lesson.at_risk",
        "Урок под угрозой",
        "Lesson at risk",
        "Проверьте терминал школы до начала урока или свяжитесь с РКЦ.",
        False,
    ),
    LessonFailed: (
        "lesson.failed",
        "Урок не удалось провести",
        "Lesson failed",
        "Свяжитесь с дежурным РКЦ: урок можно запустить вручную или перенести.",
        True,
    ),
}
_TODO_EN = {
    LessonDegraded: "The automation redials the terminal; call the RCC's duty operator if"
    " the lesson is not back within a minute.",
    LessonAtRisk: "Check the school's terminal before the lesson or call the RCC.",
    LessonFailed: "Call the RCC's duty operator: the lesson can be started by hand or moved.",
}


def _when(uow: UnitOfWork, occurrence_id: str, booking: Booking) -> tuple[str, str]:
    occurrence = uow.occurrences.get(occurrence_id)
    host = uow.organisations.get(booking.host_school_id)
    if occurrence is None or host is None:
        return "", ""
    local = occurrence.start.astimezone(host.zone)
    number = f", {occurrence.lesson_number}-й урок" if occurrence.lesson_number else ""
    number_en = f", lesson {occurrence.lesson_number}" if occurrence.lesson_number else ""
    return (
        f"{local:%d.%m.%Y %H:%M}{number} ({host.name})",
        f"{local:%Y-%m-%d %H:%M}{number_en} ({host.name})",
    )


def _lesson(event: LessonFact, uow: UnitOfWork) -> list[Notice]:
    booking = uow.bookings.get(event.booking_id)
    if booking is None:
        return []
    kind, title_ru, title_en, todo_ru, urgent = _WORDS[type(event)]
    when_ru, when_en = _when(uow, event.occurrence_id, booking)
    schools = list(
        dict.fromkeys([booking.host_school_id, *(p.school_id for p in booking.participants)])
    )
    orgs = {s: SCHOOL_PEOPLE for s in schools}
    orgs[booking.owner_org_id] = OWNER_PEOPLE
    return [
        Notice(
            kind=kind,
            key=f"{kind}:{event.fact_id}",
            org_id=org_id,
            roles=roles,
            title_ru=f"{title_ru}: «{booking.title}» {when_ru}".rstrip(),
            title_en=f"{title_en}: “{booking.title}” {when_en}".rstrip(),
            body_ru=f"Причина: {event.reason_ru or event.reason}\nЧто делать: {todo_ru}",
            body_en=f"Why: {event.reason}\nWhat to do: {_TODO_EN[type(event)]}",
            link=link(booking.id),
            urgent=urgent,
        )
        for org_id, roles in orgs.items()
    ]


@describes(LessonDegraded)
def degraded(event: LessonDegraded, uow: UnitOfWork) -> list[Notice]:
    return _lesson(event, uow)


@describes(LessonAtRisk)
def at_risk(event: LessonAtRisk, uow: UnitOfWork) -> list[Notice]:
    return _lesson(event, uow)


@describes(LessonFailed)
def failed(event: LessonFailed, uow: UnitOfWork) -> list[Notice]:
    return _lesson(event, uow)


@describes(LessonTerminalSwitched)
def switched(event: LessonTerminalSwitched, uow: UnitOfWork) -> list[Notice]:
    booking = uow.bookings.get(event.booking_id)
    if booking is None or not event.school_id:
        return []
    when_ru, when_en = _when(uow, event.occurrence_id, booking)
    school = event.school or event.school_id
    other_room = bool(event.to_room) and event.to_room != event.from_room
    if other_room:
        title_ru = (
            f"Класс {school} идёт в «{event.to_room}» вместо «{event.from_room}»:"
            f" «{booking.title}» {when_ru}"
        )
        title_en = (
            f"The class of {school} goes to “{event.to_room}” instead of"
            f" “{event.from_room}”: “{booking.title}” {when_en}"
        )
    else:
        title_ru = f"Урок «{booking.title}» {when_ru}: резервный терминал {event.to_terminal}"
        title_en = f"“{booking.title}” {when_en}: backup terminal {event.to_terminal}"
    return [
        Notice(
            kind="lesson.terminal_switched",
            key=f"lesson.terminal_switched:{event.fact_id}",
            org_id=event.school_id,
            roles=SCHOOL_PEOPLE | {Role.NETWORK_ADMIN},
            title_ru=title_ru.strip(),
            title_en=title_en.strip(),
            body_ru=(
                f"Терминал {event.from_terminal} («{event.from_room}») неисправен:"
                f" {event.reason_ru or event.reason}."
                f"\nУрок пройдёт на терминале {event.to_terminal} («{event.to_room}»)."
            ),
            body_en=(
                f"Terminal {event.from_terminal} (“{event.from_room}”) is out of order:"
                f" {event.reason}.\nThe lesson runs on {event.to_terminal} (“{event.to_room}”)."
            ),
            link=link(booking.id),
            urgent=other_room,
        )
    ]


@describes(DeviceAlerted)
def alerted(event: DeviceAlerted, uow: UnitOfWork) -> list[Notice]:
    site = uow.organisations.get(event.site_id) if event.site_id else None
    if site is None:  # a region's server: the monitor's own e-mail goes to the RCC's duty
        return []
    org_ids = [site.id, *([site.parent_id] if site.parent_id else [])]
    return [
        Notice(
            kind=f"device.alert.{event.event}",
            key=f"device.alert:{event.alert_id}:{event.event}:{event.at}",
            org_id=org_id,
            roles=frozenset({Role.LOCAL_COORDINATOR, Role.NETWORK_ADMIN}),
            title_ru=event.subject,
            title_en=event.subject,
            body_ru=event.text,
            link=f"/api/v1/monitor/alerts/{event.alert_id}",
            urgent=event.event != "resolved",
        )
        for org_id in org_ids
    ]
