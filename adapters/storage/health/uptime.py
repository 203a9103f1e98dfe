"""The aggregated samples: the latest poll of each device and its seconds per state per
local day, written in one batch every flush (never one row per poll)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, func, select

from adapters.storage.batch_store import BatchStore
from adapters.storage.health.tables import device_health, device_uptime
from booking.health import DeviceKind, Uptime
from booking.health_records import SeenWrite, UptimeRow, UptimeWrite


class SqlUptime(BatchStore):
    def flush(self, seen: Sequence[SeenWrite], uptime: Sequence[UptimeWrite]) -> None:
        """The aggregated samples since the last flush: latest poll per device, and time
        and poll counts per device per day (added to what is stored)."""
        if not seen and not uptime:
            return
        with self._tx() as c:
            if seen:
                self._write_seen(c, seen)
            if uptime:
                self._add_uptime(c, uptime)

    def _write_seen(self, c: Connection, seen: Sequence[SeenWrite]) -> None:
        insert = self._insert(device_health)
        c.execute(
            insert.on_conflict_do_update(
                index_elements=["kind", "device_id"],
                set_={
                    "cause": insert.excluded.cause,
                    "last_poll_at": insert.excluded.last_poll_at,
                    "rtt_ms": insert.excluded.rtt_ms,
                    "in_call": insert.excluded.in_call,
                },
            ),
            [
                {
                    "kind": s.kind.value,
                    "device_id": s.device_id,
                    "state": s.state.value,
                    "since": s.since,
                    "cause": s.cause,
                    "last_poll_at": s.last_poll_at,
                    "rtt_ms": s.rtt_ms,
                    "in_call": s.in_call,
                }
                for s in seen
            ],
        )

    def _add_uptime(self, c: Connection, uptime: Sequence[UptimeWrite]) -> None:
        insert = self._insert(device_uptime)
        t = device_uptime.c
        larger: Any = func.greatest if self.postgres else func.max
        c.execute(
            insert.on_conflict_do_update(
                index_elements=["kind", "device_id", "day"],
                set_={
                    "ok_s": t.ok_s + insert.excluded.ok_s,
                    "degraded_s": t.degraded_s + insert.excluded.degraded_s,
                    "down_s": t.down_s + insert.excluded.down_s,
                    "unknown_s": t.unknown_s + insert.excluded.unknown_s,
                    "polls": t.polls + insert.excluded.polls,
                    "failures": t.failures + insert.excluded.failures,
                    "rtt_sum_ms": t.rtt_sum_ms + insert.excluded.rtt_sum_ms,
                    "rtt_max_ms": larger(t.rtt_max_ms, insert.excluded.rtt_max_ms),
                },
            ),
            [
                {
                    "kind": u.kind.value,
                    "device_id": u.device_id,
                    "day": u.day,
                    "ok_s": u.uptime.ok_s,
                    "degraded_s": u.uptime.degraded_s,
                    "down_s": u.uptime.down_s,
                    "unknown_s": u.uptime.unknown_s,
                    "polls": u.uptime.polls,
                    "failures": u.uptime.failures,
                    "rtt_sum_ms": u.uptime.rtt_sum_ms,
                    "rtt_max_ms": u.uptime.rtt_max_ms,
                }
                for u in uptime
            ],
        )

    def uptime(self, kind: DeviceKind, device_id: str, first: date, last: date) -> list[UptimeRow]:
        """Per-day accounting over the inclusive range [first, last]."""
        u = device_uptime.c
        query = (
            select(device_uptime)
            .where(u.kind == kind.value, u.device_id == device_id, u.day >= first, u.day <= last)
            .order_by(u.day)
        )
        with self._tx() as c:
            return [
                UptimeRow(
                    r.day,
                    Uptime(
                        r.ok_s,
                        r.degraded_s,
                        r.down_s,
                        r.unknown_s,
                        r.polls,
                        r.failures,
                        r.rtt_sum_ms,
                        r.rtt_max_ms,
                    ),
                )
                for r in c.execute(query)
            ]
