"""The terminals' availability over some days, from the monitor's daily uptime
(`device_uptime`): up (`ok` + `degraded`) seconds over watched seconds — time nobody
watched (`unknown`) left out, as the monitor's own availability does."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import func, select, true

from adapters.storage.batch_store import BatchStore, chunks
from adapters.storage.health.tables import device_uptime

U = device_uptime.c


class SqlAvailability(BatchStore):
    def availability(self, terminal_ids: Iterable[str], days: Iterable[date]) -> dict[str, float]:
        ids, wanted = list(terminal_ids), sorted(set(days))
        if not ids or not wanted:
            return {}
        out: dict[str, float] = {}
        with self._tx() as c:
            for part in chunks(ids, 1000):
                query = (
                    select(
                        U.device_id,
                        func.sum(U.ok_s + U.degraded_s),
                        func.sum(U.ok_s + U.degraded_s + U.down_s),
                    )
                    .where(
                        U.kind == "terminal",
                        U.device_id.in_(part),
                        U.day >= wanted[0],
                        U.day <= wanted[-1],
                        U.day.in_(wanted) if len(wanted) <= 62 else true(),
                    )
                    .group_by(U.device_id)
                )
                for device_id, up, watched in c.execute(query):
                    if watched:
                        out[device_id] = round(float(up) / float(watched), 4)
        return out
