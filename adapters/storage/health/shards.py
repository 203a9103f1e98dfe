"""The monitors alive (heartbeats) and the lease each holds on a shard of the devices
(the protocol is `vks.monitor.shards`): claims are compare-and-set on the row."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, or_, select, update

from adapters.storage.batch_store import BatchStore
from adapters.storage.health.tables import monitor_instances, monitor_shards


class SqlShards(BatchStore):
    def heartbeat(self, instance: str, at: datetime) -> None:
        insert = self._insert(monitor_instances)
        with self._tx() as c:
            c.execute(
                insert.values(id=instance, started_at=at, heartbeat_at=at).on_conflict_do_update(
                    index_elements=["id"], set_={"heartbeat_at": insert.excluded.heartbeat_at}
                )
            )

    def live_instances(self, since: datetime) -> list[str]:
        m = monitor_instances.c
        with self._tx() as c:
            return list(
                c.execute(select(m.id).where(m.heartbeat_at >= since).order_by(m.id)).scalars()
            )

    def leave(self, instance: str) -> None:
        """A monitor stopping: its shards are free at once, its heartbeat row gone."""
        with self._tx() as c:
            c.execute(
                update(monitor_shards)
                .where(monitor_shards.c.owner == instance)
                .values(owner=None, expires_at=None)
            )
            c.execute(delete(monitor_instances).where(monitor_instances.c.id == instance))

    def ensure_shards(self, count: int) -> None:
        with self._tx() as c:
            have = set(c.execute(select(monitor_shards.c.shard)).scalars())
            missing = [
                {"shard": s, "owner": None, "expires_at": None}
                for s in range(count)
                if s not in have
            ]
            if missing:
                insert = self._insert(monitor_shards)
                c.execute(insert.on_conflict_do_nothing(index_elements=["shard"]), missing)

    def shard_owners(self) -> dict[int, tuple[str | None, datetime | None]]:
        with self._tx() as c:
            return {r.shard: (r.owner, r.expires_at) for r in c.execute(select(monitor_shards))}

    def renew(self, instance: str, shards: Iterable[int], until: datetime) -> set[int]:
        """Extend our leases; returns the shards we still hold."""
        wanted = list(shards)
        if not wanted:
            return set()
        s = monitor_shards.c
        with self._tx() as c:
            c.execute(
                update(monitor_shards)
                .where(s.shard.in_(wanted), s.owner == instance)
                .values(expires_at=until)
            )
            return set(
                c.execute(select(s.shard).where(s.shard.in_(wanted), s.owner == instance)).scalars()
            )

    def claim(self, instance: str, shard: int, now: datetime, until: datetime) -> bool:
        """Take a free or expired shard (compare-and-set)."""
        s = monitor_shards.c
        with self._tx() as c:
            done = c.execute(
                update(monitor_shards)
                .where(
                    s.shard == shard,
                    or_(s.owner.is_(None), s.expires_at.is_(None), s.expires_at < now),
                )
                .values(owner=instance, expires_at=until)
            )
            return done.rowcount == 1

    def release(self, instance: str, shards: Iterable[int]) -> None:
        wanted = list(shards)
        if not wanted:
            return
        s = monitor_shards.c
        with self._tx() as c:
            c.execute(
                update(monitor_shards)
                .where(s.shard.in_(wanted), s.owner == instance)
                .values(owner=None, expires_at=None)
            )

    def forget_instances(self, before: datetime) -> None:
        m = monitor_instances.c
        with self._tx() as c:
            c.execute(delete(monitor_instances).where(m.heartbeat_at < before))
