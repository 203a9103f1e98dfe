"""The automation's reads of occurrences (with their booking, terminals, cameras, schools
and room, for a whole batch in a few queries) and the terminal switch of the pre-flight."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, select

from adapters.storage.automation.rooms import room_records
from adapters.storage.batch_store import BatchStore, chunks
from adapters.storage.equipment import camera_from_row, terminal_from_row
from adapters.storage.errors import domain_errors
from adapters.storage.occurrences import SqlOccurrences
from adapters.storage.tables import (
    booking_participants,
    bookings,
    cameras,
    occurrences,
    organisations,
    reservations,
    terminals,
)
from booking.automation_store import SessionRecord
from booking.bookings import BookingStatus, OccurrenceState, Participant, SessionKind
from booking.errors import Conflict
from booking.lifecycle import IN_CALL
from booking.resources import Camera, PlatformKind, Terminal


class SqlSessions(BatchStore):
    """`booking.automation_store.SessionStore` over the booking tables."""

    def sessions(
        self, occurrence_ids: Iterable[str], *, full: bool = True
    ) -> dict[str, SessionRecord]:
        """The sessions of these occurrences; without `full`, only the occurrence, its
        booking and its room (what planning needs): two queries instead of seven."""
        ids = sorted(set(occurrence_ids))
        if not ids:
            return {}
        with self._tx() as c:
            found: dict[str, SessionRecord] = {}
            for chunk in chunks(ids, 1000):
                found.update(self._sessions(c, chunk, full))
            return found

    def _sessions(self, c: Connection, ids: Sequence[str], full: bool) -> dict[str, SessionRecord]:
        o, b = occurrences, bookings
        rows = c.execute(
            select(
                o.c.id,
                o.c.booking_id,
                o.c.start,
                o.c.end,
                o.c.setup_start,
                o.c.state,
                o.c.state_reason,
                o.c.at_risk,
                o.c.at_risk_since,
                o.c.cancelled,
                o.c.version,
                o.c.terminal_ids,
                b.c.title,
                b.c.kind,
                b.c.status,
                b.c.platform,
                b.c.expected_participants,
                b.c.teacher,
                b.c.host_school_id,
                b.c.broadcast_offset_minutes,
                b.c.broadcast_minutes,
                b.c.version.label("booking_version"),
                o.c.teacher.label("occurrence_teacher"),
            )
            .join(b, b.c.id == o.c.booking_id)
            .where(o.c.id.in_(ids))
        ).all()
        found: dict[str, SessionRecord] = {}
        for r in rows:
            found[r.id] = SessionRecord(
                occurrence_id=r.id,
                booking_id=r.booking_id,
                title=r.title,
                kind=SessionKind(r.kind),
                booking_status=BookingStatus(r.status),
                platform=PlatformKind(r.platform) if r.platform else None,
                expected_participants=r.expected_participants,
                teacher=r.occurrence_teacher or r.teacher,
                host_school_id=r.host_school_id,
                start=r.start,
                end=r.end,
                setup_start=r.setup_start,
                broadcast_offset_minutes=r.broadcast_offset_minutes,
                broadcast_minutes=r.broadcast_minutes,
                state=OccurrenceState(r.state),
                state_reason=r.state_reason,
                at_risk=r.at_risk,
                at_risk_since=r.at_risk_since,
                cancelled=r.cancelled,
                occurrence_version=r.version,
                booking_version=r.booking_version,
            )
            if full:
                found[r.id].terminal_ids.extend(r.terminal_ids)
        if not found:
            return found
        if not full:
            rooms = room_records(c, list(found))
            for session in found.values():
                session.room = rooms.get(session.occurrence_id)
            return found
        booking_ids = {s.booking_id for s in found.values()}
        participants: dict[str, list[Participant]] = defaultdict(list)
        bp = booking_participants
        for row in c.execute(
            select(bp)
            .where(bp.c.booking_id.in_(booking_ids))
            .order_by(bp.c.booking_id, bp.c.position)
        ):
            participants[row.booking_id].append(
                Participant(
                    school_id=row.school_id,
                    terminal_id=row.terminal_id,
                    camera_preset=row.camera_preset,
                    class_name=row.class_name,
                )
            )
        terminal_ids = {t for s in found.values() for t in s.terminal_ids}
        terminal_map = self._terminals(c, terminal_ids)
        camera_map = self._cameras(c, terminal_ids)
        site_ids = {t.site_id for t in terminal_map.values()} | {
            p.school_id for ps in participants.values() for p in ps
        }
        names = (
            dict(
                c.execute(
                    select(organisations.c.id, organisations.c.name).where(
                        organisations.c.id.in_(site_ids)
                    )
                ).all()
            )
            if site_ids
            else {}
        )
        rooms = room_records(c, list(found))
        for session in found.values():
            session.participants = participants.get(session.booking_id, [])
            session.terminals = {
                t: terminal_map[t] for t in session.terminal_ids if t in terminal_map
            }
            session.cameras = {t: camera_map[t] for t in session.terminal_ids if t in camera_map}
            session.site_names = {k: v for k, v in names.items()}
            session.room = rooms.get(session.occurrence_id)
        return found

    @staticmethod
    def _terminals(c: Connection, ids: Iterable[str]) -> dict[str, Terminal]:
        ids = list(ids)
        if not ids:
            return {}
        t = terminals
        return {
            row.id: terminal_from_row(row) for row in c.execute(select(t).where(t.c.id.in_(ids)))
        }

    @staticmethod
    def _cameras(c: Connection, terminal_ids: Iterable[str]) -> dict[str, Camera]:
        ids = list(terminal_ids)
        if not ids:
            return {}
        k = cameras
        found: dict[str, Camera] = {}
        for row in c.execute(select(k).where(k.c.terminal_id.in_(ids), k.c.active.is_(True))):
            found.setdefault(row.terminal_id, camera_from_row(row))
        return found

    def occurrences_of_bookings(
        self,
        booking_ids: Iterable[str],
        *,
        ends_after: datetime | None = None,
        starts_before: datetime | None = None,
    ) -> list[str]:
        ids = list(booking_ids)
        if not ids:
            return []
        o = occurrences
        query = select(o.c.id).where(o.c.booking_id.in_(ids))
        if ends_after is not None:
            query = query.where(o.c.end > ends_after)
        if starts_before is not None:
            query = query.where(o.c.start < starts_before)
        with self._tx() as c:
            return list(c.execute(query).scalars())

    def active_occurrences(self, states: Iterable[OccurrenceState]) -> list[str]:
        o = occurrences
        with self._tx() as c:
            return list(
                c.execute(select(o.c.id).where(o.c.state.in_([str(s) for s in states]))).scalars()
            )

    def free_backups(
        self, site_id: str, exclude: Iterable[str], start: datetime, end: datetime
    ) -> list[Terminal]:
        """Active terminals at `site_id` (not in `exclude`) with no reservation overlapping
        [start, end)."""
        t = terminals
        query = (
            select(t.c.id)
            .where(t.c.site_id == site_id, t.c.active.is_(True), t.c.id.not_in(list(exclude)))
            .order_by(t.c.id)
        )
        with self._tx() as c:
            busy = SqlOccurrences(c).busy_terminal_ids(start, end)
            ids = [i for i in c.execute(query).scalars() if i not in busy]
            found = self._terminals(c, ids)
        return [found[i] for i in ids if i in found]

    def terminals_in_running_sessions(
        self, terminal_ids: Iterable[str], exclude_occurrence: str
    ) -> set[str]:
        """Which of these terminals belong to another occurrence that is running now
        (its call is expected, and will be hung up at that occurrence's end)."""
        ids = set(terminal_ids)
        if not ids:
            return set()
        o, r = occurrences, reservations
        running = [str(s) for s in IN_CALL]
        query = select(o.c.terminal_ids).where(
            o.c.booking_id.in_(select(r.c.booking_id).where(r.c.terminal_id.in_(sorted(ids)))),
            o.c.id != exclude_occurrence,
            o.c.state.in_(running),
        )
        with self._tx() as c:
            return {t for used in c.execute(query).scalars() for t in used if t in ids}

    def terminals(self, terminal_ids: Iterable[str]) -> dict[str, Terminal]:
        with self._tx() as c:
            return self._terminals(c, sorted(set(terminal_ids)))

    def switch_terminal(self, occurrence_id: str, old: str, new: str) -> None:
        """Put `new` in place of `old` for this occurrence: its terminal list and its
        reservation (PostgreSQL's exclusion constraint refuses a terminal taken meanwhile)."""
        with self._tx() as c, domain_errors():
            if not SqlOccurrences(c).switch_terminal(occurrence_id, old, new):
                raise Conflict(f"terminal {old} is no longer part of occurrence {occurrence_id}")
