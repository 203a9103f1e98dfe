"""Several monitors split the devices between them, never polling one twice.

Devices fall into a fixed number of shards (`crc32("kind:id") mod shards`, 64 by default).
Each shard has a lease row in the database (`monitor_shards`: owner, expires_at); a monitor
polls the devices of the shards it holds, and only while its lease is valid.

- Every round (a third of the lease) a monitor writes its heartbeat, counts the monitors
  alive, renews its leases, gives back the shards above its fair share (⌈shards / alive⌉)
  and claims free or expired ones up to it. Claiming is a compare-and-set on the row, so
  two monitors can never both hold a shard; a monitor drops shards from its poller
  *before* releasing them, so there is no instant at which two poll the same device.
- A monitor that dies stops renewing: its shards expire after one lease and the others
  take them over (devices are then unpolled for at most a lease plus a round).
- The holder of shard 0 is the leader: it computes lessons at risk and escalates alerts.

Why leases in the database rather than consistent hashing over monitors registered in
Redis: the database is there in every mode (embedded SQLite included, where Redis is
not), and a lease is exclusive by construction, while hashing over a membership list
polls a device twice (or not at all) whenever two monitors see different lists — during
every join, leave or missed heartbeat.
"""

from __future__ import annotations

import asyncio
import math
import zlib
from collections.abc import Callable
from datetime import datetime, timedelta

from booking.health import DeviceKey
from booking.health_store import ShardStore


def shard_of(key: DeviceKey, shards: int) -> int:
    kind, device_id = key
    return zlib.crc32(f"{kind}:{device_id}".encode()) % shards


class ShardLeases:
    def __init__(
        self,
        store: ShardStore,
        instance: str,
        *,
        shards: int,
        lease: timedelta,
        now: Callable[[], datetime],
    ) -> None:
        if shards < 1:
            raise ValueError("there must be at least one shard")
        self.store = store
        self.instance = instance
        self.shards = shards
        self.lease = lease
        self.now = now
        self.held: dict[int, datetime] = {}  # shard → our lease ends

    @property
    def owned(self) -> frozenset[int]:
        """Shards we may poll now: held, with the lease not about to run out."""
        limit = self.now() + self.lease / 6
        return frozenset(s for s, until in self.held.items() if until > limit)

    @property
    def leader(self) -> bool:
        return 0 in self.owned

    def owns(self, key: DeviceKey) -> bool:
        return shard_of(key, self.shards) in self.owned

    async def round(self, before_release: Callable[[frozenset[int]], None]) -> None:
        """Heartbeat, renew, give back extras (after `before_release` dropped them from the
        poller) and claim up to our fair share."""
        store = self.store
        now = self.now()
        until = now + self.lease
        await asyncio.to_thread(store.heartbeat, self.instance, now)
        await asyncio.to_thread(store.ensure_shards, self.shards)
        alive = await asyncio.to_thread(store.live_instances, now - self.lease)
        fair = math.ceil(self.shards / max(1, len(set(alive) | {self.instance})))
        held = await asyncio.to_thread(store.renew, self.instance, list(self.held), until)
        self.held = dict.fromkeys(held, until)
        if len(held) > fair:
            extras = frozenset(sorted(held, reverse=True)[: len(held) - fair])  # keep shard 0
            for shard in extras:
                self.held.pop(shard, None)
            before_release(extras)
            await asyncio.to_thread(store.release, self.instance, extras)
        elif len(held) < fair:
            owners = await asyncio.to_thread(store.shard_owners)
            free = sorted(
                s
                for s, (owner, expires) in owners.items()
                if owner is None or expires is None or expires < now
            )
            for shard in free:
                if len(self.held) >= fair:
                    break
                if await asyncio.to_thread(store.claim, self.instance, shard, now, until):
                    self.held[shard] = until
        await asyncio.to_thread(store.forget_instances, now - 10 * self.lease)

    async def leave(self) -> None:
        self.held = {}
        await asyncio.to_thread(self.store.leave, self.instance)
