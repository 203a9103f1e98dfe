"""Calls that no running occurrence explains, and hanging them up.

A terminal left in an old call (its lesson ended while it was offline, or its hang-up
failed during a "down" phase) refuses every later dial with `device_busy`. The terminal
is reserved for the lesson now starting, so a call that no *other* running occurrence
explains is stale: the pre-flight and the start hang it up before dialling. A call that
another running occurrence explains (a lesson running late on the same terminal) is
never touched.

A terminal that comes back online in a call (the health monitor sees it recover) is
hung up at once when no running occurrence explains its call (`hang_up_unexplained`),
without waiting for its next lesson's pre-flight.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from booking.automation_store import SessionStore
from booking.errors import DomainError
from booking.resources import Terminal
from vks.automation.devices import Devices

log = logging.getLogger(__name__)


class StrayCalls:
    def __init__(self, store: SessionStore, devices: Devices) -> None:
        self.store = store
        self.devices = devices

    async def explained(self, terminal_id: str, occurrence_id: str) -> bool:
        """Does an occurrence other than `occurrence_id` that is running now use the
        terminal (so its call is expected)?"""
        running = await asyncio.to_thread(
            self.store.terminals_in_running_sessions, [terminal_id], occurrence_id
        )
        return terminal_id in running

    async def hang_up(self, terminal: Terminal, occurrence_id: str) -> str | None:
        """Hang up the terminal's call if nothing but `occurrence_id` may use it; returns
        the address of the call hung up, None when it was idle or its call is explained.
        Raises the device's error when the hang-up fails."""
        current = await self.devices.current_call(terminal)
        if current is None or await self.explained(terminal.id, occurrence_id):
            return None
        await self.devices.hang_up(terminal)
        return current

    async def hang_up_unexplained(self, terminal_ids: Iterable[str]) -> dict[str, str]:
        """Hang up the calls of these terminals that no running occurrence explains (a
        terminal back online in an old call); returns the address hung up per terminal.
        A terminal that cannot be reached or hung up is left to its next pre-flight."""
        ids = sorted(set(terminal_ids))
        found = await asyncio.to_thread(self.store.terminals, ids)
        explained = await asyncio.to_thread(self.store.terminals_in_running_sessions, ids, "")

        async def one(terminal: Terminal) -> tuple[str, str | None]:
            try:
                current = await self.devices.current_call(terminal)
                if current is None:
                    return terminal.id, None
                await self.devices.hang_up(terminal)
            except DomainError as exc:
                log.warning("stale call of %s not hung up: %s", terminal.id, exc)
                return terminal.id, None
            log.info("hung up %s: back online in a call nobody booked (%s)", terminal.id, current)
            return terminal.id, current

        done = await asyncio.gather(
            *(one(found[t]) for t in ids if t in found and t not in explained)
        )
        return {t: address for t, address in done if address is not None}
