"""Device health as pure rules: what one poll means, when a device changes state, how
long it was up, and what makes a lesson at risk.

- An `Observation` is the verdict of one poll (or push): a *failure* (unreachable,
  credentials refused, the API erring) counts towards `down`; *problems* (SIP not
  registered, too hot, camera unplugged, a call it should not be in, a server near its
  capacity) make a device `degraded`; neither means `ok`.
- `DeviceHealth` is one device's state machine with hysteresis: `down_after` consecutive
  failures to go down (and as many consecutive problem polls to go from ok to degraded),
  `up_after` consecutive answers to come back. A device nobody has heard from yet is
  `unknown`; its first answer settles it at once, failures need the full count.
- Uptime is accounted in seconds per state per local day (`split_by_day`); a month is the
  sum of its days.
- An occurrence in the next 24 h is at risk when one of its terminals, their cameras or
  its conference server is not `ok` (`risk_reason`); the reason names each device.

Nothing here does I/O or reads a clock: callers pass `at`/`now`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class DeviceKind(StrEnum):
    TERMINAL = "terminal"
    CAMERA = "camera"
    SERVER = "server"


class HealthState(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"
    UNKNOWN = "unknown"

    @property
    def severity(self) -> int:
        """Higher is worse; `unknown` ranks below `ok` (nothing is known to be wrong)."""
        return _SEVERITY[self]


_SEVERITY = {
    HealthState.UNKNOWN: -1,
    HealthState.OK: 0,
    HealthState.DEGRADED: 1,
    HealthState.DOWN: 2,
}


# --- one poll -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Observation:
    """The verdict of one poll or push."""

    failure: str = ""
    """Why the device counts as failing ("connection refused", "credentials refused", …)."""
    problems: tuple[str, ...] = ()
    """Why it answers but is not fit ("SIP registration Failed", "temperature 85 °C", …)."""
    rtt_ms: float | None = None
    in_call: bool | None = None
    """Terminals: whether a call is up (None when unknown)."""

    @property
    def level(self) -> HealthState:
        if self.failure:
            return HealthState.DOWN
        if self.problems:
            return HealthState.DEGRADED
        return HealthState.OK

    @property
    def cause(self) -> str:
        if self.failure:
            return self.failure
        return "; ".join(self.problems) if self.problems else "ok"


@dataclass(frozen=True, slots=True)
class Limits:
    """Thresholds of the checks (configurable; these are sensible defaults)."""

    temperature_c: float = 70.0
    """A terminal at or above this is degraded (the codecs warn at 70 °C)."""
    load_share: float = 0.9
    """A server whose rooms or participants reach this share of its capacity is degraded."""
    rtt_ms: float = 2000.0
    """An answer slower than this makes the device degraded."""


class CallExpectation(StrEnum):
    """What the schedule says a terminal's call state should be right now."""

    IN_CALL = "in_call"  # a lesson with a live link is on
    IDLE = "idle"  # nothing booked around now
    EITHER = "either"  # set-up buffer, start grace or just after the end: no opinion


@dataclass(frozen=True, slots=True)
class Booked:
    """A live-link session a terminal takes part in: its busy range and what it is."""

    setup_start: datetime
    start: datetime
    end: datetime
    title: str = ""


def expected_call(
    now: datetime, sessions: Iterable[Booked], *, grace: timedelta, margin: timedelta
) -> CallExpectation:
    """In a call from the lesson's start plus `grace` (the automation dials before the
    start and retries until then) to its end; idle when no session lies within `margin`
    of now; otherwise either."""
    either = False
    for s in sessions:
        if s.start + grace <= now < s.end:
            return CallExpectation.IN_CALL
        if s.setup_start - margin <= now < s.end + margin:
            either = True
    return CallExpectation.EITHER if either else CallExpectation.IDLE


def current_session(now: datetime, sessions: Iterable[Booked], grace: timedelta) -> Booked | None:
    return next((s for s in sessions if s.start + grace <= now < s.end), None)


@dataclass(frozen=True, slots=True)
class TerminalStatus:
    """What a terminal reports about itself in one poll."""

    sip_registration: str = "Registered"
    in_call: bool = False
    call_remote: str = ""
    temperature_c: float | None = None
    camera_connected: bool | None = None
    diagnostics: tuple[str, ...] = ()
    """Error/critical self-check messages the device raises (shown, not judged twice)."""


def assess_terminal(
    status: TerminalStatus,
    expectation: CallExpectation,
    limits: Limits,
    *,
    rtt_ms: float | None = None,
    session: Booked | None = None,
) -> Observation:
    problems: list[str] = []
    if status.sip_registration.lower() != "registered":
        problems.append(f"SIP registration {status.sip_registration}")
    if status.temperature_c is not None and status.temperature_c >= limits.temperature_c:
        problems.append(f"temperature {status.temperature_c:.1f} °C")
    if status.camera_connected is False:
        problems.append("camera not connected")
    if expectation is CallExpectation.IN_CALL and not status.in_call:
        what = f" ({session.title})" if session is not None and session.title else ""
        problems.append(f"not in the call it should be in{what}")
    elif expectation is CallExpectation.IDLE and status.in_call:
        remote = f" ({status.call_remote})" if status.call_remote else ""
        problems.append(f"in a call it should not be in{remote}")
    if rtt_ms is not None and rtt_ms >= limits.rtt_ms:
        problems.append(f"slow answer ({rtt_ms:.0f} ms)")
    return Observation(problems=tuple(problems), rtt_ms=rtt_ms, in_call=status.in_call)


@dataclass(frozen=True, slots=True)
class ServerLoad:
    """A conference server's load at one instant, against its capacity."""

    rooms: int
    participants: int
    max_rooms: int
    max_participants: int


def assess_server(load: ServerLoad, limits: Limits, *, rtt_ms: float | None = None) -> Observation:
    problems: list[str] = []
    for used, cap, what in (
        (load.rooms, load.max_rooms, "rooms"),
        (load.participants, load.max_participants, "participants"),
    ):
        if cap > 0 and used >= cap:
            problems.append(f"at capacity: {used}/{cap} {what}")
        elif cap > 0 and used >= limits.load_share * cap:
            problems.append(f"near capacity: {used}/{cap} {what}")
    if rtt_ms is not None and rtt_ms >= limits.rtt_ms:
        problems.append(f"slow answer ({rtt_ms:.0f} ms)")
    return Observation(problems=tuple(problems), rtt_ms=rtt_ms)


def assess_answer(limits: Limits, *, rtt_ms: float | None = None) -> Observation:
    """A device whose only check is that it answers with accepted credentials (cameras)."""
    if rtt_ms is not None and rtt_ms >= limits.rtt_ms:
        return Observation(problems=(f"slow answer ({rtt_ms:.0f} ms)",), rtt_ms=rtt_ms)
    return Observation(rtt_ms=rtt_ms)


# --- state with hysteresis ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Hysteresis:
    down_after: int = 3
    """Consecutive failing polls before `down` (and problem polls before `degraded`)."""
    up_after: int = 2
    """Consecutive answering polls before a down device is back (and ok polls before a
    degraded one is `ok`)."""

    def __post_init__(self) -> None:
        if self.down_after < 1 or self.up_after < 1:
            raise ValueError("hysteresis counts must be at least 1")


@dataclass(frozen=True, slots=True)
class Transition:
    from_state: HealthState
    to_state: HealthState
    at: datetime
    cause: str


@dataclass(slots=True)
class DeviceHealth:
    """One device's state machine. Counters are consecutive observations."""

    state: HealthState = HealthState.UNKNOWN
    since: datetime | None = None
    cause: str = ""
    failures: int = 0  # failing
    bad: int = 0  # failing or with problems
    answers: int = 0  # not failing
    oks: int = 0  # without problems
    last_level: HealthState = HealthState.UNKNOWN

    def observe(self, obs: Observation, at: datetime, rules: Hysteresis) -> Transition | None:
        level = obs.level
        self.last_level = level
        if level is HealthState.DOWN:
            self.failures += 1
            self.bad += 1
            self.answers = self.oks = 0
        elif level is HealthState.DEGRADED:
            self.failures = self.oks = 0
            self.bad += 1
            self.answers += 1
        else:
            self.failures = self.bad = 0
            self.answers += 1
            self.oks += 1
        target = self._target(level, rules)
        if target is None or target is self.state:
            if level is self.state:
                self.cause = obs.cause  # same state, fresher words
            return None
        return self._move(target, at, obs.cause)

    def _target(self, level: HealthState, rules: Hysteresis) -> HealthState | None:
        state = self.state
        if self.failures >= rules.down_after:
            return HealthState.DOWN
        if state is HealthState.UNKNOWN:
            return None if level is HealthState.DOWN else level
        if state is HealthState.DOWN:
            return level if self.answers >= rules.up_after else None
        if state is HealthState.DEGRADED:
            return HealthState.OK if self.oks >= rules.up_after else None
        # ok
        return HealthState.DEGRADED if self.bad >= rules.down_after else None

    def _move(self, target: HealthState, at: datetime, cause: str) -> Transition:
        transition = Transition(self.state, target, at, cause)
        self.state, self.since, self.cause = target, at, cause
        return transition

    def force(self, target: HealthState, at: datetime, cause: str) -> Transition | None:
        """Set a state without hysteresis (a device taken out of service → unknown)."""
        self.failures = self.bad = self.answers = self.oks = 0
        if target is self.state:
            return None
        return self._move(target, at, cause)

    @property
    def settling(self) -> bool:
        """True while the last observation disagrees with the state: a confirmation poll
        soon (rather than a whole interval later) settles it quickly."""
        return self.last_level is not HealthState.UNKNOWN and self.last_level is not self.state


# --- uptime ------------------------------------------------------------------------------------
def split_by_day(start: datetime, end: datetime, zone: ZoneInfo) -> list[tuple[date, float]]:
    """Seconds of [start, end) falling on each local date of `zone` (aware datetimes)."""
    if end <= start:
        return []
    out: list[tuple[date, float]] = []
    cursor = start
    while cursor < end:
        local = cursor.astimezone(zone)
        next_midnight = datetime.combine(local.date() + timedelta(days=1), time(), tzinfo=zone)
        piece_end = min(end, next_midnight)
        out.append((local.date(), (piece_end - cursor).total_seconds()))
        cursor = piece_end
    return out


@dataclass(slots=True)
class Uptime:
    """Seconds per state over a period (a day, or a month as the sum of its days), with
    poll counts. Availability leaves out time nobody was watching (`unknown`)."""

    ok_s: float = 0.0
    degraded_s: float = 0.0
    down_s: float = 0.0
    unknown_s: float = 0.0
    polls: int = 0
    failures: int = 0
    rtt_sum_ms: float = 0.0
    rtt_max_ms: float = 0.0

    def add_time(self, state: HealthState, seconds: float) -> None:
        if state is HealthState.OK:
            self.ok_s += seconds
        elif state is HealthState.DEGRADED:
            self.degraded_s += seconds
        elif state is HealthState.DOWN:
            self.down_s += seconds
        else:
            self.unknown_s += seconds

    def add_poll(self, failed: bool, rtt_ms: float | None) -> None:
        self.polls += 1
        if failed:
            self.failures += 1
        if rtt_ms is not None:
            self.rtt_sum_ms += rtt_ms
            self.rtt_max_ms = max(self.rtt_max_ms, rtt_ms)

    def merge(self, other: Uptime) -> None:
        self.ok_s += other.ok_s
        self.degraded_s += other.degraded_s
        self.down_s += other.down_s
        self.unknown_s += other.unknown_s
        self.polls += other.polls
        self.failures += other.failures
        self.rtt_sum_ms += other.rtt_sum_ms
        self.rtt_max_ms = max(self.rtt_max_ms, other.rtt_max_ms)

    @property
    def availability(self) -> float | None:
        """Share of watched time the device could be used (ok or degraded)."""
        watched = self.ok_s + self.degraded_s + self.down_s
        return None if watched <= 0 else (self.ok_s + self.degraded_s) / watched

    @property
    def mean_rtt_ms(self) -> float | None:
        answered = self.polls - self.failures
        return None if answered <= 0 else self.rtt_sum_ms / answered


@dataclass(slots=True)
class UptimeLedger:
    """Time accounting of one device between flushes: each piece of time goes to the
    state the device was in, on the local day it fell on."""

    accounted_until: datetime | None = None
    days: dict[date, Uptime] = field(default_factory=dict)

    def account(self, state: HealthState, until: datetime, zone: ZoneInfo) -> None:
        start = self.accounted_until
        self.accounted_until = until if start is None else max(start, until)
        if start is None:
            return
        for day, seconds in split_by_day(start, until, zone):
            self._day(day).add_time(state, seconds)

    def poll(self, at: datetime, zone: ZoneInfo, failed: bool, rtt_ms: float | None) -> None:
        self.poll_on(at.astimezone(zone).date(), failed, rtt_ms)

    def poll_on(self, day: date, failed: bool, rtt_ms: float | None) -> None:
        self._day(day).add_poll(failed, rtt_ms)

    def _day(self, day: date) -> Uptime:
        bucket = self.days.get(day)
        if bucket is None:
            bucket = self.days[day] = Uptime()
        return bucket

    def drain(self) -> dict[date, Uptime]:
        days, self.days = self.days, {}
        return days


def month_total(days: Iterable[Uptime]) -> Uptime:
    total = Uptime()
    for day in days:
        total.merge(day)
    return total


# --- lessons at risk ----------------------------------------------------------------------------
AT_RISK_PREFIX = "health: "
"""Reasons the monitor writes into `Occurrence.at_risk` start with this, so it clears only
its own flags and leaves those of the pre-flight check alone."""


def is_health_reason(text: str) -> bool:
    return text.startswith(AT_RISK_PREFIX)


def flagged_since(
    before: str, before_since: datetime | None, after: str, now: datetime
) -> datetime | None:
    """Since when an occurrence has been at risk once its flag goes from `before` to
    `after`: raised now, kept while it stays raised (reworded by the monitor or the
    pre-flight, it is the same worry), gone when cleared."""
    if not after:
        return None
    if not before or before_since is None:
        return now
    return before_since


def preflight_flag(current: str, found: str) -> str | None:
    """What the pre-flight writes into the at-risk flag: what it found; finding nothing
    clears its own earlier words but never the monitor's flag, which follows the devices'
    states (clearing it here made it flicker: cleared while the terminal was still
    degraded, raised again at the monitor's next round). None: leave the flag as it is."""
    if found:
        return found
    return None if is_health_reason(current) else ""


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """A device's current state, as the at-risk rule needs it."""

    id: str
    kind: DeviceKind
    state: HealthState
    cause: str = ""
    label: str = ""  # how people call it ("терминал «Актовый зал», МБОУ «СОШ №20»")

    def describe(self) -> str:
        name = self.label or f"{self.kind} {self.id}"
        cause = f" ({self.cause})" if self.cause and self.cause != "ok" else ""
        return f"{name} is {self.state}{cause}"


@dataclass(frozen=True, slots=True)
class Needs:
    """The equipment one occurrence depends on."""

    terminal_ids: Sequence[str] = ()
    camera_ids: Sequence[str] = ()
    server_id: str | None = None
    """The server holding its room, once placed."""
    platform: str | None = None
    """Without a room yet: the platform it will use (None: any)."""


DeviceKey = tuple[DeviceKind, str]


def risk_reason(
    needs: Needs,
    states: Mapping[DeviceKey, DeviceStatus],
    usable_platforms: Iterable[str],
) -> str:
    """ "" if every device the occurrence needs is ok; otherwise why not, prefixed with
    `AT_RISK_PREFIX`. A device without a known state is reported as unknown.
    `usable_platforms` are the platform kinds with at least one ok server."""
    reasons: list[str] = []
    groups = ((DeviceKind.TERMINAL, needs.terminal_ids), (DeviceKind.CAMERA, needs.camera_ids))
    for kind, ids in groups:
        for device_id in ids:
            reason = _not_ok(states.get((kind, device_id)), kind, device_id)
            if reason:
                reasons.append(reason)
    if needs.server_id is not None:
        key = (DeviceKind.SERVER, needs.server_id)
        reason = _not_ok(states.get(key), DeviceKind.SERVER, needs.server_id)
        if reason:
            reasons.append(reason)
    else:
        usable = set(usable_platforms)
        if (needs.platform is None and not usable) or (
            needs.platform is not None and needs.platform not in usable
        ):
            what = f"{needs.platform} " if needs.platform else ""
            reasons.append(f"no {what}conference server is ok")
    return AT_RISK_PREFIX + "; ".join(reasons) if reasons else ""


def _not_ok(status: DeviceStatus | None, kind: DeviceKind, device_id: str) -> str:
    if status is None:
        return f"{kind} {device_id} is unknown (never polled)"
    if status.state is HealthState.OK:
        return ""
    return status.describe()
