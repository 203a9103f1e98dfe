"""The start step: create the room, point the cameras, dial every terminal, confirm each
one is in the room through the platform's presence — then `live` (or `degraded`).

The same step rejoins a running session: run again on a live or degraded occurrence it
finds the registered room, leaves alone the terminals already in it or already calling
it, and dials only the missing ones. That is what makes it safe to run twice (a duplicate
job, a worker killed half-way): the room comes from the registry (one per occurrence),
and a terminal is dialled only when it is idle — never into a second room.

The device work of one start runs concurrently (`asyncio.gather`), and a batch of starts
runs concurrently too; database writes are made by the dispatcher, for the whole batch.
Terminals come first at a bell: the cameras of a batch of `config.camera_hold_from` starts
or more move once its terminals are in their rooms (or given up on), at most
`config.camera_hold` after the batch began — a lesson is live when its terminals
are in, and at a bell the ONVIF clients' CPU (zeep parses every SOAP answer) would
otherwise slow every terminal's dialling and presence polling.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from booking.automation_store import Claim, RoomRecord, SessionRecord, TransitionWrite
from booking.bookings import OccurrenceState
from booking.errors import DeviceBusy, DomainError
from booking.health import is_health_reason
from booking.lifecycle import (
    ACTIVE,
    STARTABLE,
    Plan,
    Step,
    Window,
    lateness,
    retry_after,
    sources_of,
    start_outcome,
)
from booking.resources import Terminal
from vks.automation.clock import Clock
from vks.automation.config import AutomationConfig
from vks.automation.devices import Devices
from vks.automation.outcome import Outcome

S = OccurrenceState


@dataclass
class Attempt:
    """What one start attempt of one occurrence achieved."""

    occurrence_id: str
    expected: list[str]
    room: RoomRecord | None = None
    present: set[str] = field(default_factory=set)
    problems: dict[str, str] = field(default_factory=dict)
    camera_problems: dict[str, str] = field(default_factory=dict)
    dialled: list[str] = field(default_factory=list)
    hung_up: dict[str, str] = field(default_factory=dict)  # terminal id → stale call
    confirmed_at: datetime | None = None


HangUpStray = Callable[[Terminal, str], Awaitable[str | None]]
"""(terminal, occurrence id) → the address of a stale call it hung up, or None
(`vks.automation.stray.StrayCalls`): a terminal busy in a call that no other running
occurrence explains is hung up and dialled again."""


class TerminalsFirst:
    """Opens when every start of a batch is done with its terminals (in the room, given
    up on, or never dialled), or `hold` after the batch began: the cameras wait for it.

    `dialling` is the set of gates of the process's batches still dialling (the
    dispatcher's): a batch's cameras also wait for the terminals of every other batch
    (each for at most its own hold) — a killed worker's starts, taken over while this
    process's own bell batch is moving its cameras, would otherwise dial behind them."""

    def __init__(
        self, starts: int, hold: timedelta, dialling: set[TerminalsFirst] | None = None
    ) -> None:
        self._left = starts
        self._open = asyncio.Event()
        self._deadline = asyncio.get_running_loop().time() + hold.total_seconds()
        self._dialling = dialling if dialling is not None else set()
        if starts <= 0:
            self._open.set()
        else:
            self._dialling.add(self)

    def done(self) -> None:
        """One start is done with its terminals (call once per start)."""
        self._left -= 1
        if self._left <= 0 and not self._open.is_set():
            self._open.set()
            self._dialling.discard(self)

    async def wait(self) -> None:
        await self._own()
        for other in list(self._dialling):
            if other is not self:
                await other._own()

    async def _own(self) -> None:
        left = self._deadline - asyncio.get_running_loop().time()
        if self._open.is_set() or left <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._open.wait(), left)


def before(
    session: SessionRecord, claim: Claim, now: datetime, tolerance: timedelta
) -> TransitionWrite | None:
    """A waiting occurrence goes to `preparing` before any device is touched; a start
    that ran more than `tolerance` after it was due says how late it is."""
    if session.state not in STARTABLE:
        return None
    late = lateness(claim.due_at, now)
    return TransitionWrite(
        session.occurrence_id,
        S.PREPARING,
        sources_of(S.PREPARING) & STARTABLE,
        cause="start",
        reason=f"started {late.total_seconds():.0f} s late" if late > tolerance else "",
        at=now,
        details={"due_at": claim.due_at, "late_s": round(late.total_seconds(), 3)},
    )


def can_start(session: SessionRecord, win: Window | None, now: datetime) -> bool:
    if win is None or now >= win.online_until:
        return False
    if session.state in STARTABLE:
        return not session.is_cancelled
    return session.state in ACTIVE and not session.cancelled


async def attempt(
    session: SessionRecord,
    devices: Devices,
    config: AutomationConfig,
    clock: Clock,
    terminals_first: TerminalsFirst | None = None,
    stray: HangUpStray | None = None,
) -> Attempt:
    """One start (or rejoin); `terminals_first` is the batch's gate the cameras wait for
    (this start reports to it once its terminals are done; without one, the cameras move
    at once)."""
    gate = terminals_first or TerminalsFirst(0, config.camera_hold)
    reported = False

    def terminals_done() -> None:
        nonlocal reported
        if not reported:
            reported = True
            gate.done()

    try:
        return await _attempt(session, devices, config, clock, gate, terminals_done, stray)
    finally:
        terminals_done()  # a start that ended before dialling still reports


async def _attempt(
    session: SessionRecord,
    devices: Devices,
    config: AutomationConfig,
    clock: Clock,
    gate: TerminalsFirst,
    terminals_done: Callable[[], None],
    stray: HangUpStray | None,
) -> Attempt:
    expected = [t for t in session.terminal_ids if t in session.terminals]
    result = Attempt(session.occurrence_id, expected)
    try:
        grant = await devices.ensure_room(session)
    except DomainError as exc:
        result.problems["room"] = f"the room could not be created: {exc.message}"
        return result
    room = result.room = grant.room
    already: set[str] = set()
    if not grant.created:
        try:
            already = await devices.presence(room, session)
        except DomainError:
            already = set()
    missing = [t for t in expected if t not in already]
    result.dialled = list(missing)

    async def join(terminal_id: str) -> None:
        # dialling is idempotent: a terminal already calling this room is left as it is,
        # one in another call refuses (DeviceBusy) and is pulled out of it only when no
        # other running occurrence explains that call (a stale call of an ended lesson)
        terminal = session.terminals[terminal_id]
        try:
            try:
                await devices.dial(terminal, room)
            except DeviceBusy:
                stale = None if stray is None else await stray(terminal, session.occurrence_id)
                if stale is None:
                    raise
                result.hung_up[terminal_id] = stale
                await devices.dial(terminal, room)
        except DomainError as exc:
            result.problems[terminal_id] = f"{exc.code}: {exc.message}"

    async def point(terminal_id: str) -> None:
        camera = session.cameras.get(terminal_id)
        preset = session.preset_for(terminal_id)
        if camera is None or not preset:
            return
        await gate.wait()
        try:
            await devices.goto_preset(camera, preset)
        except DomainError as exc:
            result.camera_problems[camera.id] = f"{exc.code}: {exc.message}"

    # the cameras wait for the batch's terminals (see `TerminalsFirst`); presence never
    # waits for a camera
    cameras = asyncio.gather(*(point(t) for t in missing))
    try:
        await asyncio.gather(*(join(t) for t in missing))
        await _confirm(result, room, session, devices, config, clock, expected, missing)
    finally:
        terminals_done()
        await cameras
    return result


async def _confirm(
    result: Attempt,
    room: RoomRecord,
    session: SessionRecord,
    devices: Devices,
    config: AutomationConfig,
    clock: Clock,
    expected: list[str],
    missing: list[str],
) -> None:
    """Poll the platform's presence until every dialled terminal is in the room, or time out."""
    waiting_for = {t for t in missing if t not in result.problems}
    result.present = {t for t in expected if t not in missing}
    if not waiting_for:
        result.confirmed_at = clock.now() if len(result.present) == len(expected) else None
        return
    deadline = clock.now() + config.presence_timeout
    poll = config.presence_poll.total_seconds()
    while True:
        await asyncio.sleep(poll)
        try:
            seen = await devices.presence(room, session)
        except DomainError as exc:
            seen = set()
            last_error = f"{exc.code}: {exc.message}"
        else:
            last_error = ""
        result.present |= seen & set(expected)
        if waiting_for <= result.present:
            result.confirmed_at = clock.now()
            break
        if clock.now() >= deadline:
            for t in waiting_for - result.present:
                result.problems[t] = last_error or "dialled, but not in the room"
            break


def judge(
    session: SessionRecord,
    claim: Claim,
    win: Window,
    result: Attempt,
    now: datetime,
    config: AutomationConfig,
) -> Outcome:
    """Turn an attempt into a state change and maybe a retry."""
    out = Outcome()
    verdict = start_outcome(
        result.expected,
        result.present,
        now,
        win.give_up_at,
        result.problems,
        room_ok=result.room is not None,
    )
    current = S.PREPARING if session.state in STARTABLE else session.state
    new_state = verdict.state
    if current in (S.LIVE, S.DEGRADED) and new_state in (S.PREPARING, S.FAILED):
        new_state = S.DEGRADED  # a running lesson that lost everyone is degraded, not failed
    details: dict[str, object] = {"attempt": claim.attempts, "dialled": result.dialled}
    if result.hung_up:
        details["hung_up"] = dict(result.hung_up)
    if result.room is not None:
        details.update(server=result.room.server_id, room=result.room.room_id)
    if result.camera_problems:
        details["cameras"] = dict(result.camera_problems)
    reason = verdict.reason
    at = now
    if new_state in (S.LIVE, S.DEGRADED):
        confirmed = result.confirmed_at or now
        at = confirmed
        due = claim.due_at if claim.attempts <= 1 and claim.step is Step.START else win.start_at
        after_start = lateness(win.online_from, confirmed)
        details.update(
            due_at=due,
            confirmed_at=confirmed,
            late_s=round(lateness(due, confirmed).total_seconds(), 3),
            after_lesson_start_s=round(after_start.total_seconds(), 3),
        )
        if new_state is S.LIVE:
            out.confirmed_at[session.occurrence_id] = confirmed
            if after_start > timedelta(0):
                reason = f"late: live {after_start.total_seconds():.0f} s after the lesson's start"
    changed = new_state is not current or (
        new_state is S.DEGRADED and reason != session.state_reason
    )
    # every terminal in: what the pre-flight feared is not true any more (a health flag
    # is the monitor's, and follows the devices' states)
    clear_risk = (
        new_state is S.LIVE and bool(session.at_risk) and not is_health_reason(session.at_risk)
    )
    if clear_risk:
        details["at_risk_cleared"] = session.at_risk
    if changed or clear_risk:
        out.transitions.append(
            TransitionWrite(
                session.occurrence_id,
                new_state,
                sources_of(new_state) & (ACTIVE | {current}),
                cause="redial" if current in (S.LIVE, S.DEGRADED) else "start",
                reason=reason,
                at=at,
                details=details,
                at_risk="" if clear_risk else None,
            )
        )
    if verdict.retry:
        retry = now + retry_after(claim.attempts, config.timing)
        out.forced[session.occurrence_id] = Plan(Step.START, min(retry, win.give_up_at))
    problems = "; ".join(f"{k}: {v}" for k, v in sorted(result.problems.items()))
    if problems:
        out.errors[session.occurrence_id] = problems
    return out


async def run(
    sessions: Sequence[tuple[SessionRecord, Claim, Window]],
    devices: Devices,
    config: AutomationConfig,
    clock: Clock,
    judged: Callable[[Outcome], None] | None = None,
    stray: HangUpStray | None = None,
    dialling: set[TerminalsFirst] | None = None,
) -> Outcome:
    """Start (or rejoin) a batch concurrently; judge each as it finishes. Each judgement
    goes to `judged` as soon as it is made (the dispatcher writes them while the rest of
    the batch is still dialling), or into the returned outcome. `dialling`: the gates of
    the process's other batches (see `TerminalsFirst`)."""
    out = Outcome()
    terminals_first = (
        TerminalsFirst(len(sessions), config.camera_hold, dialling)
        if len(sessions) >= config.camera_hold_from
        else None
    )

    async def one(session: SessionRecord, claim: Claim, win: Window) -> None:
        result = await attempt(session, devices, config, clock, terminals_first, stray)
        verdict = judge(session, claim, win, result, clock.now(), config)
        if judged is None:
            out.merge(verdict)
        else:
            judged(verdict)

    await asyncio.gather(*(one(s, c, w) for s, c, w in sessions))
    return out
