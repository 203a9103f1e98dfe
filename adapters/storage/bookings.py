"""Bookings with their participants (one row per participating school, in order)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Row, Select, bindparam, exists, func, select

from adapters.storage.bulk import write_rows, write_tables
from adapters.storage.collection import SqlCollection, among, by_id, by_ids
from adapters.storage.organisations import in_subtree
from adapters.storage.tables import booking_participants, bookings, occurrences, organisations
from adapters.storage.types import UtcDateTime
from booking.bookings import (
    Booking,
    BookingBrief,
    BookingStatus,
    Participant,
    ParticipantState,
    Recurrence,
    SessionKind,
)
from booking.resources import PlatformKind

BOOKING_COLUMNS = (
    "id",
    "title",
    "kind",
    "organiser_id",
    "owner_org_id",
    "host_school_id",
    "teacher",
    "platform",
    "setup_minutes",
    "expected_participants",
    "subject",
    "start",
    "end",
    "rec_weekdays",
    "rec_starts_on",
    "rec_ends_on",
    "rec_lesson_number",
    "rec_start_time",
    "rec_end_time",
    "rec_week_parity",
    "broadcast_offset_minutes",
    "broadcast_minutes",
    "status",
    "hold_expires_at",
    "external_ref",
    "created_at",
    "version",
)
PARTICIPANT_COLUMNS = (
    "booking_id",
    "position",
    "school_id",
    "terminal_id",
    "camera_preset",
    "class_name",
    "state",
)


@cache
def participants_of(postgres: bool) -> Select[Any]:
    """The participants of a list of bookings (`:ids`), in order."""
    p = booking_participants.c
    return (
        select(booking_participants)
        .where(among(p.booking_id, "ids", postgres=postgres))
        .order_by(p.booking_id, p.position)
    )


@cache
def briefs_of(postgres: bool) -> tuple[Select[Any], Select[Any]]:
    """The columns of a `BookingBrief`, and its participants' schools in order."""
    b, p = bookings, booking_participants
    columns = select(b.c.id, b.c.title, b.c.teacher, b.c.host_school_id).where(
        among(b.c.id, "ids", postgres=postgres)
    )
    schools = (
        select(p.c.booking_id, p.c.school_id, p.c.state)
        .where(among(p.c.booking_id, "ids", postgres=postgres))
        .order_by(p.c.booking_id, p.c.position)
    )
    return columns, schools


BY_EXTERNAL_REF = select(bookings).where(
    bookings.c.owner_org_id == bindparam("owner"), bookings.c.external_ref == bindparam("ref")
)
EXPIRED_HOLDS = (
    select(bookings)
    .where(
        bookings.c.status == str(BookingStatus.HELD),
        bookings.c.hold_expires_at <= bindparam("now", type_=UtcDateTime),
    )
    .order_by(bookings.c.hold_expires_at, bookings.c.id)
)


def booking_values(item: Booking) -> tuple[Any, ...]:
    rec = item.recurrence
    return (
        item.id,
        item.title,
        str(item.kind),
        item.organiser_id,
        item.owner_org_id,
        item.host_school_id,
        item.teacher,
        None if item.platform is None else str(item.platform),
        item.setup_minutes,
        item.expected_participants,
        item.subject,
        item.start,
        item.end,
        None if rec is None else list(rec.weekdays),
        None if rec is None else rec.starts_on,
        None if rec is None else rec.ends_on,
        None if rec is None else rec.lesson_number,
        None if rec is None else rec.start_time,
        None if rec is None else rec.end_time,
        None if rec is None else rec.week_parity,
        item.broadcast_offset_minutes,
        item.broadcast_minutes,
        str(item.status),
        item.hold_expires_at,
        item.external_ref,
        item.created_at,
        item.version,
    )


def participant_values(booking: Booking) -> list[tuple[Any, ...]]:
    return [
        (
            booking.id,
            position,
            p.school_id,
            p.terminal_id,
            p.camera_preset,
            p.class_name,
            str(p.state),
        )
        for position, p in enumerate(booking.participants)
    ]


class SqlBookings(SqlCollection[Booking]):
    table = bookings
    noun = "booking"

    def to_row(self, item: Booking) -> dict[str, Any]:
        return dict(zip(BOOKING_COLUMNS, booking_values(item), strict=True))

    def from_row(self, row: Row[Any], participants: Sequence[Participant] = ()) -> Booking:
        recurrence = None
        if row.rec_starts_on is not None:
            recurrence = Recurrence(
                weekdays=list(row.rec_weekdays),
                starts_on=row.rec_starts_on,
                ends_on=row.rec_ends_on,
                lesson_number=row.rec_lesson_number,
                start_time=row.rec_start_time,
                end_time=row.rec_end_time,
                week_parity=row.rec_week_parity,
            )
        return Booking(
            id=row.id,
            title=row.title,
            kind=SessionKind(row.kind),
            organiser_id=row.organiser_id,
            owner_org_id=row.owner_org_id,
            host_school_id=row.host_school_id,
            teacher=row.teacher,
            participants=list(participants),
            platform=None if row.platform is None else PlatformKind(row.platform),
            setup_minutes=row.setup_minutes,
            expected_participants=row.expected_participants,
            subject=row.subject,
            start=row.start,
            end=row.end,
            recurrence=recurrence,
            broadcast_offset_minutes=row.broadcast_offset_minutes,
            broadcast_minutes=row.broadcast_minutes,
            status=BookingStatus(row.status),
            hold_expires_at=row.hold_expires_at,
            external_ref=row.external_ref,
            created_at=row.created_at,
            version=row.version,
        )

    # --- reading ------------------------------------------------------------------------
    def _participants(self, booking_ids: Sequence[str]) -> dict[str, list[Participant]]:
        found: dict[str, list[Participant]] = defaultdict(list)
        if not booking_ids:
            return found
        query = participants_of(self._postgres)
        for row in self._execute(query, {"ids": list(booking_ids)}).all():
            found[row.booking_id].append(
                Participant(
                    row.school_id,
                    row.terminal_id,
                    row.camera_preset,
                    row.class_name,
                    ParticipantState(row.state),
                )
            )
        return found

    def _build(self, rows: Sequence[Row[Any]]) -> list[Booking]:
        participants = self._participants([row.id for row in rows])
        built = [self.from_row(row, participants.get(row.id, ())) for row in rows]
        for booking in built:
            self._seen(booking)
        return built

    def get(self, id: str) -> Booking | None:
        rows = self._execute(by_id(bookings), {"id": id}).all()
        return self._build(rows)[0] if rows else None

    def get_many(self, ids: Iterable[str]) -> dict[str, Booking]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}
        rows = self._execute(by_ids(bookings, self._postgres), {"ids": wanted}).all()
        return {booking.id: booking for booking in self._build(rows)}

    def briefs(self, ids: Iterable[str], *, schools: bool = True) -> dict[str, BookingBrief]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}
        columns, taking_part = briefs_of(self._postgres)
        found: dict[str, list[tuple[str, ParticipantState]]] = defaultdict(list)
        if schools:
            for row in self._execute(taking_part, {"ids": wanted}).all():
                found[row.booking_id].append((row.school_id, ParticipantState(row.state)))
        return {
            row.id: BookingBrief.of(
                row.id, row.title, row.teacher, row.host_school_id, found.get(row.id, ())
            )
            for row in self._execute(columns, {"ids": wanted}).all()
        }

    def list(self, offset: int = 0, limit: int = 100) -> Sequence[Booking]:
        query = select(bookings).order_by(bookings.c.id).offset(offset).limit(limit)
        return self._build(self._execute(query).all())

    def by_external_ref(self, owner_org_id: str, external_ref: str) -> Booking | None:
        rows = self._execute(BY_EXTERNAL_REF, {"owner": owner_org_id, "ref": external_ref}).all()
        return self._build(rows)[0] if rows else None

    def expired_holds(self, now: datetime) -> Sequence[Booking]:
        return self._build(self._execute(EXPIRED_HOLDS, {"now": now}).all())

    def search(
        self,
        *,
        org_path: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> Sequence[Booking]:
        query = self._searched(select(bookings), org_path, start, end)
        query = query.order_by(bookings.c.id).offset(offset).limit(limit)
        return self._build(self._execute(query).all())

    def count(
        self,
        *,
        org_path: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> int:
        query = self._searched(select(func.count()).select_from(bookings), org_path, start, end)
        return int(self._execute(query).scalar_one())

    @staticmethod
    def _searched(
        query: Select[Any], org_path: str | None, start: datetime | None, end: datetime | None
    ) -> Select[Any]:
        if org_path is not None:
            query = query.join(organisations, organisations.c.id == bookings.c.owner_org_id).where(
                in_subtree(organisations.c.path, org_path)
            )
        if start is not None or end is not None:
            overlap = occurrences.c.booking_id == bookings.c.id
            if end is not None:
                overlap = overlap & (occurrences.c.start < end)
            if start is not None:
                overlap = overlap & (occurrences.c.end > start)
            query = query.where(exists().where(overlap))
        return query

    def external_refs_taken(self, owner_org_id: str, external_refs: Iterable[str]) -> set[str]:
        wanted = sorted(set(external_refs))
        taken: set[str] = set()
        b = bookings
        for start in range(0, len(wanted), 1000):
            query = select(b.c.external_ref).where(
                b.c.owner_org_id == owner_org_id,
                b.c.external_ref.in_(wanted[start : start + 1000]),
            )
            taken.update(self._execute(query).scalars())
        return taken

    # --- writing ------------------------------------------------------------------------
    def add(self, item: Booking) -> None:
        self.add_all([item])

    def add_all(self, items: Sequence[Booking]) -> None:
        """Many bookings at once (timetable import): batched inserts, COPY on PostgreSQL."""
        with self._errors():
            write_tables(
                self._connection,
                [
                    (bookings, BOOKING_COLUMNS, [booking_values(b) for b in items]),
                    (
                        booking_participants,
                        PARTICIPANT_COLUMNS,
                        [row for item in items for row in participant_values(item)],
                    ),
                ],
            )
        for item in items:
            self._seen(item)

    def update(self, item: Booking) -> None:
        self._update_versioned(bookings, item, self.to_row(item))
        self._execute(
            booking_participants.delete().where(booking_participants.c.booking_id == item.id)
        )
        with self._errors():
            write_rows(
                self._connection,
                booking_participants,
                PARTICIPANT_COLUMNS,
                participant_values(item),
            )

    def delete(self, booking: Booking) -> None:
        """Remove the booking with its participants, occurrences and reservations."""
        self._execute(bookings.delete().where(bookings.c.id == booking.id))
