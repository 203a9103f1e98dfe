"""The lessons the monitor watches: live-link occurrences over their online window, the
at-risk flag it writes on them, and the day's lesson figures."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import String, bindparam, func, literal, select, update

from adapters.storage.at_risk import since_after
from adapters.storage.batch_store import BatchStore
from adapters.storage.organisations import in_subtree
from adapters.storage.tables import booking_participants, bookings, occurrences, organisations
from adapters.storage.types import UtcDateTime
from booking.bookings import BookingStatus, OccurrenceState, SessionKind
from booking.health_records import SessionRow
from booking.lifecycle import online_window

_FINAL = tuple(s.value for s in OccurrenceState if s.is_final)
_LIVE_KINDS = tuple(k.value for k in SessionKind if k.needs_equipment)


class SqlWatchedLessons(BatchStore):
    def sessions(self, start: datetime, end: datetime) -> list[SessionRow]:
        """Live-link occurrences, not cancelled nor over, whose busy range overlaps
        [start, end), with their terminals (ordered by start)."""
        o, b = occurrences.c, bookings.c
        query = (
            select(
                o.id,
                b.title,
                b.kind,
                o.state,
                o.setup_start,
                o.start,
                o.end,
                o.at_risk,
                o.at_risk_since,
                o.room_server_id,
                o.terminal_ids,
                b.platform,
                b.broadcast_offset_minutes,
                b.broadcast_minutes,
            )
            .select_from(occurrences.join(bookings, bookings.c.id == o.booking_id))
            .where(
                o.setup_start < end,
                o.end > start,
                o.cancelled.is_(False),
                o.state.not_in(_FINAL),
                b.status != BookingStatus.CANCELLED.value,
                b.kind.in_(_LIVE_KINDS),
            )
            .order_by(o.start, o.id)
        )
        with self._tx() as c:
            rows = c.execute(query).all()
        by_occurrence = {r.id: list(r.terminal_ids) for r in rows}
        out = []
        for r in rows:
            kind = SessionKind(r.kind)
            online = online_window(
                kind, r.start, r.end, r.broadcast_offset_minutes, r.broadcast_minutes
            )
            session_start, session_end = online if online is not None else (r.start, r.end)
            out.append(
                SessionRow(
                    r.id,
                    r.title,
                    kind,
                    OccurrenceState(r.state),
                    r.setup_start,
                    session_start,
                    session_end,
                    r.at_risk,
                    r.room_server_id,
                    r.platform,
                    by_occurrence[r.id],
                    r.at_risk_since,
                )
            )
        return out

    def set_at_risk(self, reasons: Mapping[str, str], now: datetime) -> None:
        """Write `at_risk` of these occurrences (a derived flag: the version is kept), and
        since when they are at risk."""
        if not reasons:
            return
        reason = bindparam("reason", type_=String)
        statement = (
            update(occurrences)
            .where(occurrences.c.id == bindparam("oid"))
            .values(
                at_risk=reason,
                at_risk_since=since_after(reason, literal(now, UtcDateTime)),
            )
        )
        with self._tx() as c:
            c.execute(statement, [{"oid": k, "reason": v} for k, v in reasons.items()])

    def at_risk(
        self, start: datetime, end: datetime, *, path: str | None = None
    ) -> list[SessionRow]:
        """Occurrences starting in [start, end) flagged at risk; with `path`, only those with
        a participating school inside that organisation subtree."""
        rows = [r for r in self.sessions(start, end) if r.at_risk and r.start >= start]
        if path is None or not rows:
            return rows
        bp, o = booking_participants.c, occurrences.c
        with self._tx() as c:
            visible = {
                r.id
                for r in c.execute(
                    select(o.id)
                    .select_from(
                        occurrences.join(
                            booking_participants, booking_participants.c.booking_id == o.booking_id
                        ).join(organisations, organisations.c.id == bp.school_id)
                    )
                    .where(
                        o.id.in_([r.occurrence_id for r in rows]),
                        in_subtree(organisations.c.path, path),
                    )
                )
            }
        return [r for r in rows if r.occurrence_id in visible]

    def lesson_counts(self, start: datetime, end: datetime) -> dict[str, int]:
        """Occurrences starting in [start, end) by lifecycle state (cancelled included)."""
        o = occurrences.c
        with self._tx() as c:
            return {
                r.state: r.n
                for r in c.execute(
                    select(o.state, func.count().label("n"))
                    .where(o.start >= start, o.start < end)
                    .group_by(o.state)
                )
            }
