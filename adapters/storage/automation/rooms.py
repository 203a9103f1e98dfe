"""The room registry (`automation_rooms`): one room per occurrence, claimed for a server
before it is created, so a retried start reuses it and two workers never create it on
different servers; a room re-homed after its server died gets the next generation."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Connection, bindparam, case, delete, func, select, update

from adapters.storage.automation.tables import (
    automation_link_peaks,
    automation_rooms,
    automation_rooms_left,
)
from adapters.storage.batch_store import BatchStore, chunks
from adapters.storage.tables import occurrences
from booking.automation_store import LeftRoom, RoomRecord


def room_records(c: Connection, ids: Sequence[str]) -> dict[str, RoomRecord]:
    """The registered rooms of these occurrences, on an open connection."""
    if not ids:
        return {}
    rm = automation_rooms
    return {
        r.occurrence_id: _room(r) for r in c.execute(select(rm).where(rm.c.occurrence_id.in_(ids)))
    }


class SqlRooms(BatchStore):
    """`booking.automation_store.RoomStore` over `automation_rooms`."""

    def rooms(self, occurrence_ids: Iterable[str]) -> dict[str, RoomRecord]:
        with self._tx() as c:
            return room_records(c, list(occurrence_ids))

    def claim_rooms(
        self, claims: Sequence[tuple[str, str]], now: datetime
    ) -> dict[str, RoomRecord]:
        """Claim each occurrence's room for a server — (occurrence id, server id) pairs —
        unless it is claimed already (a room that has ended may be claimed anew, with the
        next generation). Returns the standing claim of every occurrence, ours or the one
        a racing worker made first: one insert and one select for the whole batch."""
        if not claims:
            return {}
        rm = automation_rooms
        rows: list[dict[str, Any]] = [
            {
                "occurrence_id": occurrence_id,
                "server_id": server_id,
                "room_id": "",
                "platform": "",
                "sip_address": "",
                "details": {},
                "created_at": now,
                "ended_at": None,
                "generation": 1,
            }
            for occurrence_id, server_id in dict(claims).items()
        ]
        insert = self._insert(rm)
        statement = insert.on_conflict_do_update(
            index_elements=[rm.c.occurrence_id],
            set_={
                "server_id": insert.excluded.server_id,
                "room_id": "",
                "platform": "",
                "sip_address": "",
                "details": {},
                "created_at": insert.excluded.created_at,
                "ended_at": None,
                "generation": rm.c.generation + 1,
            },
            where=rm.c.ended_at.is_not(None),
        )
        with self._tx() as c:
            c.execute(statement, rows)
            return room_records(c, [r["occurrence_id"] for r in rows])

    def move_room(
        self, occurrence_id: str, expected_generation: int, server_id: str, now: datetime
    ) -> RoomRecord | None:
        """Re-home a room whose server died: compare-and-set on the generation, so two
        workers never both move it. None if the claim is no longer the one expected."""
        rm = automation_rooms
        with self._tx() as c:
            left = c.execute(
                select(rm.c.server_id).where(
                    rm.c.occurrence_id == occurrence_id,
                    rm.c.generation == expected_generation,
                    rm.c.ended_at.is_(None),
                )
            ).scalar()
            done = c.execute(
                update(rm)
                .where(
                    rm.c.occurrence_id == occurrence_id,
                    rm.c.generation == expected_generation,
                    rm.c.ended_at.is_(None),
                )
                .values(
                    server_id=server_id,
                    room_id="",
                    platform="",
                    sip_address="",
                    details={},
                    created_at=now,
                    generation=expected_generation + 1,
                )
            ).rowcount
            if done != 1 or left is None:
                return None
            if left != server_id:
                self._leave(c, occurrence_id, left, now)
            return room_records(c, [occurrence_id]).get(occurrence_id)

    def _leave(self, c: Connection, occurrence_id: str, server_id: str, now: datetime) -> None:
        lr = automation_rooms_left
        insert = self._insert(lr)
        c.execute(
            insert.on_conflict_do_update(
                index_elements=[lr.c.occurrence_id, lr.c.server_id],
                set_={"left_at": insert.excluded.left_at},
            ),
            {"occurrence_id": occurrence_id, "server_id": server_id, "left_at": now},
        )

    def left_rooms(self, server_ids: Iterable[str]) -> list[LeftRoom]:
        servers = sorted(set(server_ids))
        if not servers:
            return []
        lr = automation_rooms_left
        with self._tx() as c:
            rows = c.execute(
                select(lr)
                .where(lr.c.server_id.in_(servers))
                .order_by(lr.c.server_id, lr.c.occurrence_id)
            ).all()
        return [LeftRoom(r.occurrence_id, r.server_id, r.left_at) for r in rows]

    def forget_left(self, rooms: Iterable[tuple[str, str]]) -> None:
        pairs = sorted(set(rooms))
        if not pairs:
            return
        lr = automation_rooms_left
        with self._tx() as c:
            c.execute(
                delete(lr).where(
                    lr.c.occurrence_id == bindparam("b_occurrence"),
                    lr.c.server_id == bindparam("b_server"),
                ),
                [{"b_occurrence": o, "b_server": s} for o, s in pairs],
            )

    def record_rooms(self, rooms: Sequence[RoomRecord]) -> None:
        """Store what the platform said about created rooms (room id, SIP address, the
        details later calls need) on the standing claims for the same server; mirror the
        room on the occurrence (`room_server_id`, `room_id`)."""
        if not rooms:
            return
        rm, o = automation_rooms, occurrences
        with self._tx() as c:
            c.execute(
                update(rm)
                .where(
                    rm.c.occurrence_id == bindparam("b_occurrence"),
                    rm.c.server_id == bindparam("b_server"),
                    rm.c.ended_at.is_(None),
                )
                .values(
                    room_id=bindparam("b_room"),
                    platform=bindparam("b_platform"),
                    sip_address=bindparam("b_sip"),
                    details=bindparam("b_details", type_=JSON),
                ),
                [
                    {
                        "b_occurrence": r.occurrence_id,
                        "b_server": r.server_id,
                        "b_room": r.room_id,
                        "b_platform": r.platform,
                        "b_sip": r.sip_address,
                        "b_details": r.details,
                    }
                    for r in rooms
                ],
            )
            c.execute(
                update(o)
                .where(o.c.id == bindparam("b_occurrence"))
                .values(room_server_id=bindparam("b_server"), room_id=bindparam("b_room")),
                [
                    {"b_occurrence": r.occurrence_id, "b_server": r.server_id, "b_room": r.room_id}
                    for r in rooms
                ],
            )

    def room_ended(self, occurrence_ids: Iterable[str], now: datetime) -> None:
        ids = list(occurrence_ids)
        if not ids:
            return
        rm = automation_rooms
        with self._tx() as c:
            c.execute(
                update(rm)
                .where(rm.c.occurrence_id.in_(ids), rm.c.ended_at.is_(None))
                .values(ended_at=now)
            )

    def open_rooms_on(self, server_id: str) -> list[RoomRecord]:
        rm = automation_rooms
        with self._tx() as c:
            return [
                _room(r)
                for r in c.execute(
                    select(rm).where(rm.c.server_id == server_id, rm.c.ended_at.is_(None))
                )
            ]

    def open_room_counts(self) -> dict[str, int]:
        rm = automation_rooms
        with self._tx() as c:
            return dict(
                c.execute(
                    select(rm.c.server_id, func.count())
                    .where(rm.c.ended_at.is_(None))
                    .group_by(rm.c.server_id)
                ).all()
            )

    def note_link_peaks(self, counts: Mapping[str, int]) -> None:
        rows = [{"occurrence_id": i, "peak": n} for i, n in sorted(counts.items()) if n > 0]
        if not rows:
            return
        lp = automation_link_peaks
        insert = self._insert(lp)
        larger = case((insert.excluded.peak > lp.c.peak, insert.excluded.peak), else_=lp.c.peak)
        with self._tx() as c:
            for part in chunks(rows, LINK_CHUNK):
                c.execute(
                    insert.on_conflict_do_update(
                        index_elements=["occurrence_id"], set_={"peak": larger}
                    ),
                    list(part),
                )

    def link_peaks(self, occurrence_ids: Iterable[str]) -> dict[str, int]:
        ids = sorted(set(occurrence_ids))
        lp = automation_link_peaks
        out: dict[str, int] = {}
        with self._tx() as c:
            for part in chunks(ids, LINK_CHUNK):
                query = select(lp.c.occurrence_id, lp.c.peak).where(lp.c.occurrence_id.in_(part))
                out.update({r.occurrence_id: r.peak for r in c.execute(query)})
        return out


LINK_CHUNK = 500  # occurrences per statement (bound parameters per statement are limited)


def _room(r: Any) -> RoomRecord:
    return RoomRecord(
        occurrence_id=r.occurrence_id,
        server_id=r.server_id,
        room_id=r.room_id,
        platform=r.platform,
        sip_address=r.sip_address,
        details=dict(r.details or {}),
        created_at=r.created_at,
        ended_at=r.ended_at,
        generation=r.generation,
    )
