"""Calls that no running occurrence explains, and hanging them up.

A terminal left in an old call (its lesson ended while it was offline, or its hang-up
failed during a "down" phase) refuses every later dial with `device_busy`. The terminal
is reserved for the lesson now starting, so a call that no *other* running occurrence
explains is stale: the pre-flight and the start hang it up before dialling. A call that
another running occurrence explains (a lesson running late on the same terminal) is
never touched.
"""

from __future__ import annotations

import asyncio

from booking.automation_store import SessionStore
from booking.resources import Terminal
from vks.automation.devices import Devices


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
