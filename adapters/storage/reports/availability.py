"""The terminals' availability over some days, from the monitor's daily uptime
(`device_uptime`): up (`ok` + `degraded`) seconds over watched seconds — time nobody
watched (`unknown`) left out, as the monitor's own availability does."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, select, true

from adapters.storage.batch_store import BatchStore, chunks
from adapters.storage.health.tables import device_uptime

U = device_uptime.c
EVERY_FROM = 2000  # terminals asked for, from which all are read at once


class SqlAvailability(BatchStore):
    def availability(self, terminal_ids: Iterable[str], days: Iterable[date]) -> dict[str, float]:
        ids, wanted = list(terminal_ids), sorted(set(days))
        if not ids or not wanted:
            return {}
        out: dict[str, float] = {}
        if len(ids) > EVERY_FROM:  # most of the region: one scan of the days, kept in Python
            keep = set(ids)
            with self._tx() as c:
                for device_id, up, watched in c.execute(self._query(None, wanted)).all():
                    if watched and device_id in keep:
                        out[device_id] = round(float(up) / float(watched), 4)
            return out
        with self._tx() as c:
            for part in chunks(ids, 1000):
                for device_id, up, watched in c.execute(self._query(part, wanted)):
                    if watched:
                        out[device_id] = round(float(up) / float(watched), 4)
        return out

    @staticmethod
    def _query(ids: Sequence[str] | None, days: Sequence[date]) -> Any:
        return (
            select(
                U.device_id,
                func.sum(U.ok_s + U.degraded_s),
                func.sum(U.ok_s + U.degraded_s + U.down_s),
            )
            .where(
                U.kind == "terminal",
                U.device_id.in_(ids) if ids is not None else true(),
                U.day >= days[0],
                U.day <= days[-1],
                U.day.in_(days) if len(days) <= 62 else true(),
            )
            .group_by(U.device_id)
        )
