"""Which automation workers are alive — known the moment one is killed.

Every `vks worker` keeps one Redis connection of its own open for as long as it lives and
registers that connection's id under the name its leases carry (`Automation.owner`), in
one hash per queue. A process that dies outright (SIGKILL, the OOM killer, a crash) has
its sockets closed by the kernel, and Redis drops the connection at that moment; a
surviving worker that asks which of the registered connections are still open
(`CLIENT LIST ID …`, Redis 6.2+) knows within one round. CPU starvation never makes a
worker look dead (its connection stays open however late its event loop runs), unlike a
heartbeat key with a time to live.

What this cannot see: a machine that vanishes without closing its connections (power
loss, a network partition) keeps its Redis connection until Redis's TCP keep-alive gives
up on it. Its leases (`VKS_AUTOMATION_LEASE_SECONDS`), running out, remain the safety net
for that, as for a worker that never registered. A worker whose connection broke while it
lives re-registers a new one at its next round; if a peer took it for dead meanwhile, its
steps run twice, which the steps are made to survive (ADR 0011), as with a lease that
ran out.
"""

from __future__ import annotations

import logging

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError

log = logging.getLogger(__name__)

REGISTRY = "vks:automation:workers:{queue}"


class Liveness:
    """One worker's entry in the registry, on a connection that lives as long as it does."""

    def __init__(self, redis_url: str, queue_name: str, owner: str) -> None:
        self.redis = Redis.from_url(
            redis_url, single_connection_client=True, socket_connect_timeout=5, socket_timeout=5
        )
        self.key = REGISTRY.format(queue=queue_name)
        self.owner = owner
        self._registered: int | None = None
        self._unsupported = False
        self.alive = 1
        """Registered workers alive at the last look (this one included)."""

    def beat(self) -> bool:
        """Register this worker's connection (again, if Redis gave it a new one). True if
        the connection is new since the last beat: Redis restarted or the network broke,
        and the other workers may not have re-registered theirs yet — not a round to
        judge who is dead."""
        try:
            connection = int(self.redis.client_id())
        except RedisConnectionError:  # the connection broke: a new one, once
            connection = int(self.redis.client_id())
        fresh = self._registered is not None and connection != self._registered
        if connection != self._registered or not self.redis.hexists(self.key, self.owner):
            self.redis.hset(self.key, self.owner, connection)
            self._registered = connection
        return fresh

    def dead(self) -> set[str]:
        """Registered workers whose connection is closed."""
        if self._unsupported:
            return set()
        others = self._others()
        self.alive = 1 + len(others)
        if not others:
            return set()
        try:
            listed = self.redis.client_list(client_id=list(others.values()))
        except ResponseError as error:  # Redis before 6.2, or CLIENT not allowed by ACL
            self._unsupported = True
            log.warning(
                "cannot list Redis connections (%s): a killed worker's steps wait for its"
                " leases to run out",
                error,
            )
            return set()
        open_ = {int(c["id"]) for c in listed}
        suspects = {owner for owner, connection in others.items() if connection not in open_}
        if not suspects:
            return set()
        # a worker that reconnected registers its new connection: read the entries again
        again = self._others()
        dead = {o for o in suspects if o in again and again[o] == others[o]}
        self.alive -= len(dead)
        return dead

    def forget(self, owners: set[str]) -> None:
        """Drop dead workers' entries (their steps have been given back)."""
        if owners:
            self.redis.hdel(self.key, *sorted(owners))

    def leave(self) -> None:
        """A worker stopping on purpose: out of the registry, connection closed."""
        try:
            self.redis.hdel(self.key, self.owner)
        except RedisError as error:
            log.warning("could not leave the workers' registry: %s", error)
        finally:
            self.redis.close()

    def _others(self) -> dict[str, int]:
        entries = self.redis.hgetall(self.key)
        found: dict[str, int] = {}
        for name, connection in entries.items():
            owner = name.decode() if isinstance(name, bytes) else str(name)
            if owner != self.owner:
                try:
                    found[owner] = int(connection)
                except ValueError:
                    continue
        return found
