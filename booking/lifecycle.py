"""The lifecycle of one occurrence, as pure rules: which states follow which, when the
automation checks, starts and ends a session, and what a start attempt's outcome means.

    scheduled → checking → preparing → live ⇄ degraded → ending → ended
                                   ↘ failed        (any state before `ending`) ↘ cancelled

- `checking`: the pre-flight check ran (default 30 min before); the occurrence waits for
  its start in this state, with `at_risk` set if the check found a problem it could not fix.
- `preparing`: the start job is creating the room and dialling the terminals.
- `live`: every participating terminal is in the room; `degraded`: some are (a partial
  start, or a terminal dropped out and is being redialled).
- `failed`: no terminal got in by the lesson's start plus the grace period, or the room
  could not be created; carries the reason.

Only sessions with a live link use equipment: a partial online broadcast opens only its
sub-slot; recordings and LMS lessons start nothing. Nothing here does I/O or reads a clock:
callers pass `now`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from booking.bookings import OccurrenceState, SessionKind
from booking.errors import Conflict

S = OccurrenceState

TRANSITIONS: Mapping[OccurrenceState, frozenset[OccurrenceState]] = {
    S.SCHEDULED: frozenset({S.CHECKING, S.PREPARING, S.FAILED, S.CANCELLED}),
    S.CHECKING: frozenset({S.CHECKING, S.PREPARING, S.FAILED, S.CANCELLED}),
    S.PREPARING: frozenset({S.PREPARING, S.LIVE, S.DEGRADED, S.FAILED, S.ENDING, S.CANCELLED}),
    S.LIVE: frozenset({S.DEGRADED, S.ENDING}),
    S.DEGRADED: frozenset({S.DEGRADED, S.LIVE, S.ENDING}),
    S.ENDING: frozenset({S.ENDING, S.ENDED}),
    # an operator may still start a failed occurrence by hand before its end
    S.FAILED: frozenset({S.PREPARING, S.ENDING}),
    S.ENDED: frozenset(),
    S.CANCELLED: frozenset(),
}

ACTIVE = frozenset({S.PREPARING, S.LIVE, S.DEGRADED})
"""States in which a room may exist and terminals may be in it."""

WAITING = frozenset({S.SCHEDULED, S.CHECKING})
"""States before the start: the occurrence may still be moved, re-checked or switched."""

IN_CALL = ACTIVE | {S.ENDING}
"""States in which the occurrence's terminals are (or may still be) in its call."""

CHANGEABLE = WAITING | {S.CANCELLED}
"""States in which the booking side may still change an occurrence (see `may_change`)."""

STARTABLE = WAITING | {S.FAILED}
"""States from which a start step begins anew (`preparing`): waiting, or failed (an
operator may still start a failed occurrence by hand before its end)."""

FINAL = frozenset(s for s in OccurrenceState if s.is_final)
"""States after which nothing happens but the closing of a room left open."""


def may_change(state: OccurrenceState, setup_start: datetime, now: datetime) -> bool:
    """May the booking side still change this occurrence — cancel it, move it, give it
    another teacher, re-plan it by an edit of its booking?

    Yes while it has not begun: its set-up time (when the equipment is taken) is still
    ahead and it waits for its start (`scheduled`, or `checking`: the pre-flight ran and
    changed nothing), or it was cancelled before it began (a second cancel changes nothing,
    an edit keeps the cancellation; the services refuse to move it). From `preparing` on —
    and in every state once the set-up time has come — what happens is on record: the
    occurrence is no longer the booking's to change (an operator ends it, or it ends).

    The one definition: the booking services, the storage and the automation use it (or
    `CHANGEABLE`, with `setup_start > now`, in a query)."""
    return state in CHANGEABLE and now < setup_start


class IllegalTransition(Conflict):
    code = "illegal_transition"


def allowed(current: OccurrenceState, new: OccurrenceState) -> bool:
    return new in TRANSITIONS[current]


def check_transition(current: OccurrenceState, new: OccurrenceState) -> None:
    if not allowed(current, new):
        raise IllegalTransition(
            f"an occurrence cannot go from {current} to {new}",
            current=str(current),
            requested=str(new),
        )


def check_endable(
    occurrence_id: str, state: OccurrenceState, state_reason: str, room_open: bool
) -> None:
    """An operator's "end now" has something to do unless the occurrence is over and its
    room closed: `Conflict` with the reason otherwise (nothing would happen)."""
    if state in FINAL and not room_open:
        why = f" ({state_reason})" if state_reason else ""
        raise Conflict(
            f"occurrence {occurrence_id} is already {state}{why}: there is nothing to end;"
            " to free one of its terminals, hang it up (POST /api/v1/terminals/{id}/hang-up)"
        )


def sources_of(new: OccurrenceState) -> frozenset[OccurrenceState]:
    """Every state from which `new` may be reached (the compare-and-set guard of a write)."""
    return frozenset(s for s, targets in TRANSITIONS.items() if new in targets)


# --- timing ---------------------------------------------------------------------------------
class Step(StrEnum):
    """What the automation does next for an occurrence."""

    PREFLIGHT = "preflight"
    START = "start"
    END = "end"
    NONE = "none"


@dataclass(frozen=True)
class Timing:
    """How early the automation acts; per-kind start leads override the default."""

    preflight_lead: timedelta = timedelta(minutes=30)
    start_lead: timedelta = timedelta(minutes=5)
    start_lead_by_kind: Mapping[SessionKind, timedelta] = field(default_factory=dict)
    grace: timedelta = timedelta(minutes=10)
    retry_first: timedelta = timedelta(seconds=5)
    retry_max: timedelta = timedelta(seconds=60)
    preflight_min_ahead: timedelta = timedelta(minutes=1)
    """A pre-flight this close to the start is pointless: the start itself checks."""

    def lead_for(self, kind: SessionKind) -> timedelta:
        return self.start_lead_by_kind.get(kind, self.start_lead)


@dataclass(frozen=True)
class Window:
    """When an occurrence is online, and when the automation acts on it."""

    online_from: datetime  # the live link begins (lesson start, or the sub-slot's start)
    online_until: datetime  # and ends: the end job runs here
    preflight_at: datetime
    start_at: datetime  # the start job is due here
    give_up_at: datetime  # failed dials are retried until here (online start + grace)


def online_window(
    kind: SessionKind,
    start: datetime,
    end: datetime,
    broadcast_offset_minutes: int | None = None,
    broadcast_minutes: int | None = None,
) -> tuple[datetime, datetime] | None:
    """The part of the lesson that needs the live link, or None for sessions without one.

    A partial broadcast without a sub-slot (or with one that does not fit) uses the whole
    lesson; a sub-slot running past the lesson's end is cut at the end."""
    if not kind.needs_equipment:
        return None
    if kind is SessionKind.PARTIAL_BROADCAST and broadcast_offset_minutes is not None:
        sub_start = start + timedelta(minutes=max(0, broadcast_offset_minutes))
        if sub_start >= end:
            return start, end
        if broadcast_minutes is None or broadcast_minutes <= 0:
            return sub_start, end
        return sub_start, min(end, sub_start + timedelta(minutes=broadcast_minutes))
    return start, end


def window(
    kind: SessionKind,
    start: datetime,
    end: datetime,
    timing: Timing,
    broadcast_offset_minutes: int | None = None,
    broadcast_minutes: int | None = None,
) -> Window | None:
    online = online_window(kind, start, end, broadcast_offset_minutes, broadcast_minutes)
    if online is None:
        return None
    online_from, online_until = online
    start_at = online_from - timing.lead_for(kind)
    preflight_at = min(online_from - timing.preflight_lead, start_at)
    return Window(
        online_from=online_from,
        online_until=online_until,
        preflight_at=preflight_at,
        start_at=start_at,
        give_up_at=min(online_from + timing.grace, online_until),
    )


@dataclass(frozen=True)
class Plan:
    step: Step
    due: datetime | None  # None with Step.NONE


NOTHING = Plan(Step.NONE, None)


def next_step(
    state: OccurrenceState,
    win: Window | None,
    now: datetime,
    *,
    cancelled: bool = False,
    retry_at: datetime | None = None,
    preflight_min_ahead: timedelta = timedelta(minutes=1),
) -> Plan:
    """What to do next for an occurrence in `state`, and when.

    `retry_at` is the next start attempt after a partial or failed one (from `retry_after`).
    A cancelled occurrence that is already running is ended at once; one that was never
    started needs nothing (the caller marks it cancelled)."""
    if state.is_final:
        return NOTHING
    if state is S.ENDING:
        return Plan(Step.END, now)
    if win is None:
        return NOTHING
    if cancelled:
        return Plan(Step.END, now) if state in ACTIVE else NOTHING
    if state in ACTIVE:
        if now >= win.online_until:
            return Plan(Step.END, win.online_until)
        if retry_at is not None and retry_at < win.online_until:
            return Plan(Step.START, retry_at)
        if state is S.PREPARING:  # a start that was interrupted (its worker died): finish it
            return Plan(Step.START, now)
        return Plan(Step.END, win.online_until)
    if now >= win.online_until:
        return NOTHING  # never started and already over: the caller marks it failed
    if state is S.SCHEDULED and now + preflight_min_ahead < win.start_at:
        return Plan(Step.PREFLIGHT, max(win.preflight_at, now))
    return Plan(Step.START, win.start_at)


def backoff(attempt: int, first: timedelta, most: timedelta) -> timedelta:
    """The one backoff rule: the pause before try number `attempt + 1` (try 1 was the
    first) doubles from `first` with every try, and never exceeds `most`."""
    return min(first * (2 ** max(0, attempt - 1)), most)


def retry_after(attempt: int, timing: Timing) -> timedelta:
    """Backoff before start attempt number `attempt + 1` (attempt 1 was the first try)."""
    return backoff(attempt, timing.retry_first, timing.retry_max)


# --- what a start attempt means -------------------------------------------------------------
@dataclass(frozen=True)
class StartOutcome:
    state: OccurrenceState
    reason: str
    retry: bool  # try the missing terminals again (before `give_up_at`)


def start_outcome(
    expected: Collection[str],
    present: Collection[str],
    now: datetime,
    give_up_at: datetime,
    problems: Mapping[str, str] | None = None,
    room_ok: bool = True,
) -> StartOutcome:
    """Judge one start attempt: every terminal in → live; some → degraded; none → keep
    preparing and retry until `give_up_at`, then failed. `problems` explains the missing
    ones (terminal id → why)."""
    problems = problems or {}
    missing = sorted(t for t in expected if t not in present)
    explain = "; ".join(f"{t}: {problems.get(t, 'not in the room')}" for t in missing)
    can_retry = now < give_up_at
    if not room_ok:
        reason = problems.get("room", "the room could not be created")
        if can_retry:
            return StartOutcome(S.PREPARING, reason, True)
        return StartOutcome(S.FAILED, reason, False)
    if not missing:
        return StartOutcome(S.LIVE, "", False)
    if len(missing) < len(expected):
        return StartOutcome(S.DEGRADED, f"not in the room: {explain}", can_retry)
    if can_retry:
        return StartOutcome(S.PREPARING, f"no terminal in the room yet: {explain}", True)
    return StartOutcome(S.FAILED, f"no terminal joined by the grace period: {explain}", False)


def lateness(due: datetime, happened: datetime) -> timedelta:
    """How late something happened against when it was due (never negative)."""
    return max(timedelta(0), happened - due)
