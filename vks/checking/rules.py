"""What `vks check` and the readiness endpoint count as a configuration problem, and what the
operator should do about it. Pure: device records, observations and states in, problems out.

A device is *misconfigured* when the service cannot use it whatever the device does: its
secret reference names an environment variable that is not set, or the device refuses the
credentials we hold. A device that does not answer is a problem for `vks check` (someone
should look at it before the lessons), but not a misconfiguration.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from booking.health import DeviceKind, HealthState, Observation
from booking.health_records import DeviceRecord, DeviceView

CREDENTIALS_REFUSED = "credentials refused"

_WHERE_SECRET = {
    DeviceKind.TERMINAL: "the terminal's password",
    DeviceKind.CAMERA: "the camera's password",
    DeviceKind.SERVER: "the server's shared secret",
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong, on one line: what (device, its school), why, and what to do."""

    subject: str  # "terminal term-kem-20-it «Кабинет информатики»", "database", "redis"
    problem: str  # "secret VKS_BBB2_SECRET not set"
    action: str  # "set VKS_BBB2_SECRET in the service's environment and restart it"
    kind: str = ""  # terminal | camera | server | database | redis
    id: str = ""
    school: str = ""

    @property
    def line(self) -> str:
        where = f", {self.school}" if self.school else ""
        return f"{self.subject}{where}: {self.problem} — {self.action}"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "line": self.line}


def _subject(device: DeviceRecord) -> str:
    if device.kind is DeviceKind.CAMERA:
        of = f" of terminal «{device.terminal_name}»" if device.terminal_name else ""
        return f"camera {device.id}{of}"
    shown = f" «{device.name}»" if device.name and device.name != device.id else ""
    return f"{device.kind.value} {device.id}{shown}"


def _problem(device: DeviceRecord, problem: str, action: str) -> Problem:
    return Problem(
        subject=_subject(device),
        problem=problem,
        action=action,
        kind=device.kind.value,
        id=device.id,
        school=device.site_name,
    )


def secret_problem(device: DeviceRecord, variable: str) -> Problem:
    """The device's secret reference names an environment variable that is not set."""
    return _problem(
        device,
        f"secret {variable} not set",
        f"set {variable} in the service's environment ({_WHERE_SECRET[device.kind]}),"
        " then restart vks",
    )


def answer_problem(device: DeviceRecord, observation: Observation) -> Problem | None:
    """What the device's answer to one harmless authenticated call says is wrong, if
    anything. Only failures count: a device that answers with the credentials we hold is
    configured right (whether it is fit for a lesson is the monitor's business)."""
    failure = observation.failure.removeprefix(f"{device.id}: ")
    if not failure:
        return None
    if CREDENTIALS_REFUSED in failure:
        action = (
            f"correct {_WHERE_SECRET[device.kind]} (the region file's reference or the"
            " value on the device), then restart vks"
        )
    else:
        action = f"check that it is on and reachable from this host at {device.url}"
    return _problem(device, failure, action)


def misconfigured(
    views: Iterable[DeviceView], unresolved: Callable[[str], str]
) -> dict[DeviceRecord, str]:
    """The devices the service cannot use as configured, with why: a secret reference that
    does not resolve (`unresolved(ref)`: the reason, "" if it resolves), or — as the monitor
    last saw it — credentials the device refuses."""
    found: dict[DeviceRecord, str] = {}
    for view in views:
        why = unresolved(view.device.secret_ref) if view.device.secret_ref else ""
        if (
            not why
            and view.state.state is HealthState.DOWN
            and CREDENTIALS_REFUSED in view.state.cause
        ):
            why = view.state.cause
        if why:
            found[view.device] = why
    return found


def misconfigured_summary(found: Mapping[DeviceRecord, str], limit: int = 10) -> str:
    """One line for the readiness endpoint: how many, and the first few by name."""
    named = [f"{d.kind.value} {d.id} ({why})" for d, why in list(found.items())[:limit]]
    more = f"; and {len(found) - limit} more" if len(found) > limit else ""
    count = f"{len(found)} device{'s' if len(found) != 1 else ''} unusable as configured"
    return f"{count}: " + "; ".join(named) + more


def summary(problems: list[Problem], checked: Mapping[str, int], seconds: float) -> str:
    """The closing line of `vks check`."""
    counts = ", ".join(f"{n} {kind}{'s' if n != 1 else ''}" for kind, n in checked.items() if n)
    looked = f"checked {counts or 'no devices'} in {seconds:.1f} s"
    if not problems:
        return f"{looked}: all is well"
    n = len(problems)
    return f"{looked}: {n} problem{'s' if n != 1 else ''}"
