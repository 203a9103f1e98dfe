"""The end step: hang up the terminals that are in our room, end the room, send the
cameras home — then `ended`.

It also closes a room left open by an occurrence that failed or was cancelled while
starting (no state change then). A terminal is hung up only if its current call is this
occurrence's room, so a terminal already dialled into its next lesson is left alone.
Ending the room is what matters; if the server does not answer, or a terminal could not be
hung up (a codec in a "down" phase), the step is retried a few times before the occurrence
is recorded as ended with the reason — a retry hangs up only what is still in the room.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta

from booking.automation_store import Claim, SessionRecord, TransitionWrite
from booking.bookings import OccurrenceState
from booking.errors import DomainError
from booking.lifecycle import ACTIVE, Plan, Step, retry_after, sources_of
from vks.automation.clock import Clock
from vks.automation.config import AutomationConfig
from vks.automation.devices import Devices
from vks.automation.outcome import Outcome

S = OccurrenceState


def before(session: SessionRecord, now: datetime) -> TransitionWrite | None:
    if session.state not in ACTIVE:
        return None
    cancelled = session.cancelled
    return TransitionWrite(
        session.occurrence_id,
        S.ENDING,
        sources_of(S.ENDING) & ACTIVE,
        cause="cancelled" if cancelled else "end",
        reason="cancelled while running" if cancelled else "",
        at=now,
    )


async def finish(
    session: SessionRecord,
    claim: Claim,
    devices: Devices,
    config: AutomationConfig,
    clock: Clock,
) -> Outcome:
    out = Outcome()
    room = session.room
    problems: dict[str, str] = {}
    terminal_problems: dict[str, str] = {}

    async def hang_up(terminal_id: str) -> None:
        terminal = session.terminals.get(terminal_id)
        if terminal is None or room is None:
            return
        try:
            current = await devices.current_call(terminal)
            if current is not None and devices.is_room_address(current, room):
                await devices.hang_up(terminal)
        except DomainError as exc:
            problems[terminal_id] = terminal_problems[terminal_id] = f"{exc.code}: {exc.message}"

    async def home(terminal_id: str) -> None:
        camera = session.cameras.get(terminal_id)
        if camera is None:
            return
        try:
            await devices.go_home(camera)
        except DomainError as exc:
            problems[camera.id] = f"{exc.code}: {exc.message}"

    await asyncio.gather(
        *(hang_up(t) for t in session.terminal_ids), *(home(t) for t in session.terminal_ids)
    )
    room_error = ""
    if room is not None and room.ended_at is None:
        try:
            await devices.end_room(room)
        except DomainError as exc:
            room_error = f"{exc.code}: {exc.message}"
    now = clock.now()
    room_open = room is not None and room.ended_at is None
    if (room_error or terminal_problems) and claim.attempts < config.end_attempts:
        retry = now + max(retry_after(claim.attempts, config.timing), timedelta(seconds=1))
        out.forced[session.occurrence_id] = Plan(Step.END, retry)
        errors = [f"room: {room_error}"] if room_error else []
        errors += [f"{k}: {v}" for k, v in sorted(terminal_problems.items())]
        out.errors[session.occurrence_id] = "; ".join(errors)
        if room_open and not room_error:  # a retry only hangs up the terminals left
            out.rooms_ended.append(session.occurrence_id)
        return out
    if room_open:  # ended, or given up on
        out.rooms_ended.append(session.occurrence_id)
    if session.state in ACTIVE or session.state is S.ENDING:
        reason = ""
        if room_error:
            reason = f"the room could not be ended: {room_error}"
        elif problems:
            reason = "; ".join(f"{k}: {v}" for k, v in sorted(problems.items()))
        out.transitions.append(
            TransitionWrite(
                session.occurrence_id,
                S.ENDED,
                frozenset({S.ENDING}),
                cause="end",
                reason=reason,
                at=now,
                details={"problems": problems} if problems else {},
            )
        )
    return out


async def run(
    sessions: Sequence[tuple[SessionRecord, Claim]],
    devices: Devices,
    config: AutomationConfig,
    clock: Clock,
) -> Outcome:
    return Outcome.of(
        await asyncio.gather(*(finish(s, c, devices, config, clock) for s, c in sessions))
    )
