"""Who hears about the booking events of `booking.events`, and in what words.

- a booking cancelled: the people of every participating school and of its owner;
- schools invited to take part: the invited school's coordinator and its network's
  administrator (they accept or decline);
- an invitation answered: the booking's owner and the one who booked;
- a hold expired: the one who booked and the owner;
- single dates moved or cancelled: the people of every participating school, each told the
  dates in its own local time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from booking.access import Role
from booking.bookings import Booking, BookingStatus, Occurrence
from booking.events import (
    BookingCancelled,
    HoldExpired,
    InvitationAnswered,
    OccurrencesChanged,
    ParticipantInvited,
)
from booking.notices import Notice, describes
from booking.organisations import Organisation
from booking.repository import UnitOfWork
from booking.zones import offset_of

SCHOOL_PEOPLE = frozenset({Role.LOCAL_COORDINATOR, Role.TEACHER})
OWNER_PEOPLE = frozenset(
    {Role.NETWORK_ADMIN, Role.MUNICIPAL_COORDINATOR, Role.LOCAL_COORDINATOR, Role.RCC_OPERATOR}
)


def link(booking_id: str) -> str:
    return f"/api/v1/bookings/{booking_id}"


def _schools(booking: Booking) -> list[str]:
    ids = [booking.host_school_id, *(p.school_id for p in booking.participants)]
    return list(dict.fromkeys(ids))


def _when(at: datetime, zone: ZoneInfo) -> str:
    """«08.09.2026 10:40 (UTC+3)»: the school's local time and its offset."""
    local = at.astimezone(zone)
    return f"{local:%d.%m.%Y %H:%M} ({offset_of(local)})"


def _to_orgs(
    kind: str,
    key: str,
    orgs: Iterable[tuple[str, frozenset[Role]]],
    booking: Booking,
    title_ru: str,
    title_en: str,
    body_ru: str = "",
    body_en: str = "",
) -> list[Notice]:
    return [
        Notice(
            kind=kind,
            key=key,
            org_id=org_id,
            roles=roles,
            title_ru=title_ru,
            title_en=title_en,
            body_ru=body_ru,
            body_en=body_en,
            link=link(booking.id),
        )
        for org_id, roles in dict(orgs).items()
    ]


@describes(BookingCancelled)
def cancelled(event: BookingCancelled, uow: UnitOfWork) -> list[Notice]:
    booking = uow.bookings.get(event.booking_id)
    if booking is None:
        return []
    orgs = [(s, SCHOOL_PEOPLE) for s in _schools(booking)]
    orgs.append((booking.owner_org_id, OWNER_PEOPLE))
    return _to_orgs(
        "booking.cancelled",
        f"booking.cancelled:{booking.id}",
        orgs,
        booking,
        f"Отменено: «{booking.title}» (учитель {booking.teacher})",
        f"Cancelled: “{booking.title}” (teacher {booking.teacher})",
        "Все будущие уроки этого бронирования отменены, терминалы освобождены.",
        "Every lesson of this booking still to come is cancelled; the terminals are free.",
    )


def _network_of(uow: UnitOfWork, school: Organisation | None) -> str | None:
    return school.parent_id if school is not None else None


@describes(ParticipantInvited)
def invited(event: ParticipantInvited, uow: UnitOfWork) -> list[Notice]:
    booking = uow.bookings.get(event.booking_id)
    if booking is None:
        return []
    host = uow.organisations.get(booking.host_school_id)
    host_name = host.name if host is not None else booking.host_school_id
    out: list[Notice] = []
    schools = uow.organisations.get_many(event.school_ids)
    for school_id in event.school_ids:
        school = schools.get(school_id)
        name = school.name if school is not None else school_id
        key = f"booking.invited:{booking.id}:{school_id}"
        orgs = [(school_id, frozenset({Role.LOCAL_COORDINATOR}))]
        network = _network_of(uow, school)
        if network is not None:
            orgs.append((network, frozenset({Role.NETWORK_ADMIN})))
        out += _to_orgs(
            "booking.invited",
            key,
            orgs,
            booking,
            f"Приглашение: {name} — «{booking.title}» ({host_name})",
            f"Invitation: {name} — “{booking.title}” ({host_name})",
            "Терминал школы зарезервирован. Примите или отклоните приглашение: "
            f"POST {link(booking.id)}/invitations/{school_id}/accept (или /decline).",
            "The school's terminal is reserved meanwhile. Accept or decline: "
            f"POST {link(booking.id)}/invitations/{school_id}/accept (or /decline).",
        )
    return out


@describes(InvitationAnswered)
def answered(event: InvitationAnswered, uow: UnitOfWork) -> list[Notice]:
    booking = uow.bookings.get(event.booking_id)
    if booking is None:
        return []
    school = uow.organisations.get(event.school_id)
    name = school.name if school is not None else event.school_id
    verb_ru, verb_en = ("приняла", "accepted") if event.accepted else ("отклонила", "declined")
    return [
        Notice(
            kind="booking.invitation_answered",
            key=f"booking.invitation_answered:{booking.id}:{event.school_id}:{event.accepted}",
            org_id=booking.owner_org_id,
            roles=OWNER_PEOPLE,
            user_ids=(booking.organiser_id,),
            title_ru=f"{name} {verb_ru} приглашение на «{booking.title}»",
            title_en=f"{name} {verb_en} the invitation to “{booking.title}”",
            body_ru="" if event.accepted else "Терминал школы освобождён.",
            body_en="" if event.accepted else "The school's terminal is free again.",
            link=link(booking.id),
        )
    ]


@describes(HoldExpired)
def hold_expired(event: HoldExpired, uow: UnitOfWork) -> list[Notice]:
    booking = uow.bookings.get(event.booking_id)
    if booking is None:
        return []
    return [
        Notice(
            kind="booking.hold_expired",
            key=f"booking.hold_expired:{booking.id}",
            org_id=booking.owner_org_id,
            roles=frozenset({Role.NETWORK_ADMIN, Role.LOCAL_COORDINATOR}),
            user_ids=(booking.organiser_id,),
            title_ru=f"Предварительная бронь «{booking.title}» истекла",
            title_en=f"The hold on “{booking.title}” expired",
            body_ru="Бронь не подтвердили вовремя; терминалы освобождены.",
            body_en="It was not confirmed in time; the terminals are free again.",
            link=link(booking.id),
        )
    ]


def _date_line(occurrence: Occurrence, zone: ZoneInfo) -> tuple[str, str]:
    if occurrence.cancelled:
        when = _when(occurrence.start, zone)
        return f"отменён урок {when}", f"cancelled: the lesson of {when}"
    if occurrence.moved_from is not None:
        before, after = _when(occurrence.moved_from, zone), _when(occurrence.start, zone)
        return f"перенесён: {before} → {after}", f"moved: {before} → {after}"
    if occurrence.teacher:
        when = _when(occurrence.start, zone)
        return (
            f"{when}: урок ведёт {occurrence.teacher}",
            f"{when}: taught by {occurrence.teacher}",
        )
    when = _when(occurrence.start, zone)
    return f"изменён урок {when}", f"changed: the lesson of {when}"


@describes(OccurrencesChanged)
def dates_changed(event: OccurrencesChanged, uow: UnitOfWork) -> list[Notice]:
    booking = uow.bookings.get(event.booking_id)
    if booking is None or booking.status is BookingStatus.CANCELLED:
        return []  # the whole booking went: `cancelled` tells it once
    changed = [o for o in (uow.occurrences.get(i) for i in event.occurrence_ids) if o]
    if not changed:
        return []
    changed.sort(key=lambda o: o.start)
    # the same dates changed again (moved twice) are another fact: the key says how they are
    state = ";".join(f"{o.id}@{o.start.isoformat()}:{o.cancelled}:{o.teacher}" for o in changed)
    digest = hashlib.sha256(state.encode()).hexdigest()[:16]
    schools = uow.organisations.get_many(_schools(booking))
    out: list[Notice] = []
    for school_id in _schools(booking):
        school = schools.get(school_id)
        zone = school.zone if school is not None else ZoneInfo("UTC")
        lines = [_date_line(o, zone) for o in changed]
        out.append(
            Notice(
                kind="booking.dates_changed",
                key=f"booking.dates_changed:{booking.id}:{digest}",
                org_id=school_id,
                roles=SCHOOL_PEOPLE | {Role.NETWORK_ADMIN},
                title_ru=f"Изменения в расписании: «{booking.title}»",
                title_en=f"Timetable changed: “{booking.title}”",
                body_ru="\n".join(ru for ru, _ in lines),
                body_en="\n".join(en for _, en in lines),
                link=link(booking.id),
            )
        )
    return out
