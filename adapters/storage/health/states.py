"""Device states and their transitions: written as they happen, read per device and for
the API (the roster joined with the stored states)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select

from adapters.storage.health.devices import SqlDeviceDirectory
from adapters.storage.health.tables import device_health, device_transitions
from booking.health import DeviceKey, DeviceKind, HealthState
from booking.health_records import (
    DeviceView,
    StateRow,
    TransitionRow,
    TransitionWrite,
    never_polled,
)


def state_row(r: Any) -> StateRow:
    return StateRow(
        DeviceKind(r.kind),
        r.device_id,
        HealthState(r.state),
        r.since,
        r.cause,
        r.last_poll_at,
        r.rtt_ms,
        r.in_call,
    )


class SqlDeviceStates(SqlDeviceDirectory):
    def states(self, kinds: Iterable[DeviceKind] | None = None) -> dict[DeviceKey, StateRow]:
        query = select(device_health)
        if kinds is not None:
            query = query.where(device_health.c.kind.in_([k.value for k in kinds]))
        with self._tx() as c:
            return {(row.kind, row.device_id): row for row in map(state_row, c.execute(query))}

    def record(self, writes: Sequence[TransitionWrite]) -> None:
        """Store transitions and the new current states, in one transaction."""
        if not writes:
            return
        latest: dict[DeviceKey, TransitionWrite] = {}
        for w in writes:
            latest[(w.kind, w.device_id)] = w
        insert = self._insert(device_health)
        with self._tx() as c:
            c.execute(
                device_transitions.insert(),
                [
                    {
                        "kind": w.kind.value,
                        "device_id": w.device_id,
                        "at": w.transition.at,
                        "from_state": w.transition.from_state.value,
                        "to_state": w.transition.to_state.value,
                        "cause": w.transition.cause,
                        "details": dict(w.details),
                    }
                    for w in writes
                ],
            )
            c.execute(
                insert.on_conflict_do_update(
                    index_elements=["kind", "device_id"],
                    set_={
                        "state": insert.excluded.state,
                        "since": insert.excluded.since,
                        "cause": insert.excluded.cause,
                    },
                ),
                [
                    {
                        "kind": w.kind.value,
                        "device_id": w.device_id,
                        "state": w.transition.to_state.value,
                        "since": w.transition.at,
                        "cause": w.transition.cause,
                    }
                    for w in latest.values()
                ],
            )

    def devices(
        self,
        *,
        path: str | None = None,
        kinds: Iterable[DeviceKind] | None = None,
        states: Iterable[HealthState] | None = None,
    ) -> list[DeviceView]:
        """Every active device (inside the org subtree at `path` when given) with its state;
        servers belong to the region and show only without a path."""
        with self._tx() as c:
            roster = self._roster(c, path=path, kinds=kinds)
            stored = {
                (row.kind, row.device_id): row
                for row in map(state_row, c.execute(select(device_health)))
            }
        wanted = set(states) if states is not None else None
        out = []
        for device in roster:
            state = stored.get(device.key) or never_polled(device.kind, device.id)
            if wanted is None or state.state in wanted:
                out.append(DeviceView(device, state))
        return out

    def device(self, kind: DeviceKind, device_id: str) -> DeviceView | None:
        h = device_health.c
        with self._tx() as c:
            found = self._roster(c, kinds=[kind], device_id=device_id)
            row = c.execute(
                select(device_health).where(h.kind == kind.value, h.device_id == device_id)
            ).first()
        if not found:
            return None
        state = state_row(row) if row is not None else never_polled(kind, device_id)
        return DeviceView(found[0], state)

    def history(
        self,
        kind: DeviceKind,
        device_id: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 200,
    ) -> list[TransitionRow]:
        """Transitions of one device, newest first."""
        t = device_transitions.c
        query = select(device_transitions).where(t.kind == kind.value, t.device_id == device_id)
        if start is not None:
            query = query.where(t.at >= start)
        if end is not None:
            query = query.where(t.at < end)
        query = query.order_by(t.at.desc(), t.id.desc()).limit(limit)
        with self._tx() as c:
            return [
                TransitionRow(
                    r.id,
                    DeviceKind(r.kind),
                    r.device_id,
                    r.at,
                    HealthState(r.from_state),
                    HealthState(r.to_state),
                    r.cause,
                    dict(r.details or {}),
                )
                for r in c.execute(query)
            ]

    def state_counts(self) -> dict[tuple[str, str], int]:
        """(kind, state) → number of devices, for the metrics (unpolled devices as unknown)."""
        h = device_health.c
        with self._tx() as c:
            roster = self._roster(c)
            stored = {
                (r.kind, r.device_id): r.state
                for r in c.execute(select(h.kind, h.device_id, h.state))
            }
        counts: dict[tuple[str, str], int] = {}
        for device in roster:
            key = (device.kind.value, stored.get((device.kind.value, device.id), "unknown"))
            counts[key] = counts.get(key, 0) + 1
        return counts
