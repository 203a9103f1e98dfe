"""Who is responsible for a device, level by level.

A terminal or camera stands at a site whose organisation path names its school, network,
municipality and region (the RCC); a conference server belongs to the region. Each
escalation level adds roles (`AlertConfig.levels`, cumulative); a role resolves to the
e-mail in that organisation's contacts, and `duty` to the RCC's configured duty addresses.
Organisation contacts are cached for a few minutes.
"""

from __future__ import annotations

import time

from adapters.notify.channel import Recipient
from booking.health_records import DeviceRecord, OrgChain
from booking.health_store import DeviceDirectory
from vks.monitor.config import AlertConfig

CACHE_S = 300.0


class RecipientBook:
    def __init__(self, store: DeviceDirectory, config: AlertConfig) -> None:
        self.store = store
        self.config = config
        self._chains: dict[str, tuple[float, OrgChain]] = {}

    @property
    def max_level(self) -> int:
        return len(self.config.levels) - 1

    def roles(self, level: int) -> set[str]:
        roles: set[str] = set()
        for roles_at in self.config.levels[: level + 1]:
            roles.update(roles_at)
        return roles

    def for_device(self, record: DeviceRecord, level: int) -> list[Recipient]:
        """Everyone to tell at `level` (blocking: reads organisations; call off the loop)."""
        return self.for_path(record.org_path, level)

    def for_path(self, org_path: str, level: int) -> list[Recipient]:
        roles = self.roles(level)
        out: list[Recipient] = []
        for org_id, kind, contacts in self._chain(org_path):
            if kind in roles:
                out.append(
                    Recipient(
                        org_id=org_id,
                        role=kind,
                        email=contacts.get("email", ""),
                        name=contacts.get("name", ""),
                    )
                )
        if "duty" in roles:
            out.extend(Recipient(org_id="", role="duty", email=e) for e in self.config.duty_emails)
        return out

    def _chain(self, org_path: str) -> OrgChain:
        cached = self._chains.get(org_path)
        if cached is not None and time.monotonic() - cached[0] < CACHE_S:
            return cached[1]
        chain = self.store.org_chain(org_path) if org_path else self.store.regions()
        self._chains[org_path] = (time.monotonic(), chain)
        return chain
