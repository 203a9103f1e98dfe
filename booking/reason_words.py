"""Why a lesson is at risk or in its state, read back into words a page can translate.

The health monitor (`booking.health.risk_reason`), the pre-flight check and the automation
store their reasons as English text — the API, the logs and the notices say them so. That
text is made by a small grammar: a device named, its state and cause, the pre-flight's
findings, "; " between reasons. `read` parses a stored reason back into `Words` along the
phrases below (their templates are the catalogue's message ids), so a page says it in its
own language. What the grammar does not know — a device's own error message, an id, a
name — stays as it was written."""

from __future__ import annotations

import re
from functools import lru_cache

from booking.words import Words

PHRASES: tuple[Words, ...] = (
    # reasons wrapping a list: the monitor's prefix (booking.health.AT_RISK_PREFIX), the
    # pre-flight's state reason
    Words("health: %(reasons)s"),
    Words("at risk: %(reasons)s"),
    # a device and its state (booking.health.DeviceStatus.describe, risk_reason)
    Words("%(device)s is down (%(cause)s)"),
    Words("%(device)s is down"),
    Words("%(device)s is degraded (%(cause)s)"),
    Words("%(device)s is degraded"),
    Words("%(device)s is unknown (%(cause)s)"),
    Words("%(device)s is unknown"),
    Words("no %(platform)s conference server is ok"),
    Words("no conference server is ok"),
    # the pre-flight's findings (vks.automation.preflight)
    Words("terminal %(id)s: %(problem)s; no free backup at the site"),
    Words("camera %(id)s: %(problem)s"),
    Words("servers: %(problem)s"),
    Words("%(problem)s, and it could not be hung up: %(error)s"),
    Words("in a call nobody booked (%(address)s)"),
    Words("not registered with the SIP server"),
    Words("unreachable"),
    Words("no %(platform)s server can take the room of occurrence %(id)s: %(reasons)s"),
    Words("no server can take the room of occurrence %(id)s: %(reasons)s"),
    Words("hung up %(terminal)s: in a call nobody booked (%(address)s)"),
    Words("switched %(id)s → %(backup)s: %(problem)s"),
    Words("the class of %(school)s goes to «%(backup)s» instead of «%(terminal)s»"),
    Words("%(id)s: cannot connect (%(error)s)"),
    # the automation's state reasons (vks.automation: preflight, start, end, planner)
    Words("pre-flight check passed"),
    Words("started %(seconds)s s late"),
    Words("late: live %(seconds)s s after the lesson's start"),
    Words("cancelled while running"),
    Words("never started: no worker ran the start before the lesson ended"),
    # a device named (booking.health_records.DeviceRecord.label)
    Words("camera %(id)s of terminal «%(terminal)s»%(place)s"),
    Words("terminal %(id)s%(place)s"),
    Words("camera %(id)s%(place)s"),
    Words("server %(id)s%(place)s"),
    # a poll's verdict (booking.health assess_*, vks.monitor.checks, adapters.probe)
    Words("ok"),
    Words("never polled"),
    Words("no answer in time"),
    Words("connection refused"),
    Words("connection reset"),
    Words("credentials refused"),
    Words("credentials refused (API secret)"),
    Words("API not answering"),
    Words("probe error: %(error)s"),
    Words("TLS failed: %(error)s"),
    Words("SIP registration %(status)s"),
    Words("temperature %(degrees)s °C"),
    Words("camera not connected"),
    Words("not in the call it should be in (%(title)s)"),
    Words("not in the call it should be in"),
    Words("in a call it should not be in (%(remote)s)"),
    Words("in a call it should not be in"),
    Words("slow answer (%(ms)s ms)"),
    Words("at capacity: %(used)s/%(limit)s rooms"),
    Words("at capacity: %(used)s/%(limit)s participants"),
    Words("near capacity: %(used)s/%(limit)s rooms"),
    Words("near capacity: %(used)s/%(limit)s participants"),
)
"""Most specific first: the first phrase that matches a reason whole is taken."""

CAUSES: dict[str, Words] = {
    "preflight": Words("the pre-flight check"),
    "start": Words("the start"),
    "redial": Words("a redial"),
    "end": Words("the end of the lesson"),
    "cancelled": Words("a cancellation"),
    "terminal": Words("the terminal"),
    "reconciler": Words("the reconciler"),
    "booking": Words("the booking"),
    "operator": Words("an operator"),
}
"""What moved a lesson from state to state (the `cause` of its history), in words."""

READ = frozenset({"reasons", "device", "cause", "problem"})
"""Parameters that are themselves reasons, read in turn; the others are kept as written."""
LISTS = frozenset({"reasons", "cause"})
"""Parameters that may hold several reasons separated by "; " (a poll's cause lists each
problem found)."""

SHAPES = {"id": r"[^\s;«»()]+", "place": r"(?: «[^»]*»)?(?:, .+)?"}
"""What some parameters look like (any other: some text): an id has no spaces; a device's
place is its name in quotes and its school after a comma, either or both or none."""

_PARAMETER = re.compile(r"%\((\w+)\)s")
_SEPARATOR = re.compile(r"; (?!no free backup at the site)")


def _pattern(template: str) -> re.Pattern[str]:
    parts = _PARAMETER.split(template)  # literal, name, literal, name, …, literal
    return re.compile(
        "".join(
            re.escape(p) if i % 2 == 0 else f"(?P<{p}>{SHAPES.get(p, '.+?')})"
            for i, p in enumerate(parts)
        ),
        re.DOTALL,
    )


_PATTERNS = tuple((words.template, _pattern(words.template)) for words in PHRASES)


def _pieces(text: str) -> list[str]:
    """`text` split at the "; " between reasons, not at those inside brackets."""
    pieces, depth, start, scanned = [], 0, 0, 0
    for found in _SEPARATOR.finditer(text):
        depth, scanned = _depth(text[scanned : found.start()], depth), found.start()
        if depth == 0:
            pieces.append(text[start : found.start()])
            start = found.end()
    pieces.append(text[start:])
    return pieces


def _depth(text: str, depth: int = 0) -> int:
    for character in text:
        if character == "(":
            depth += 1
        elif character == ")":
            depth -= 1
    return depth


def _balanced(text: str) -> bool:
    depth = 0
    for character in text:
        depth = _depth(character, depth)
        if depth < 0:
            return False
    return depth == 0


def _fits(name: str, value: str) -> bool:
    """A parameter's value is one whole part of the reason: brackets balanced, and no
    separator between reasons unless the parameter is a list of them."""
    return _balanced(value) and (name in LISTS or len(_pieces(value)) == 1)


@lru_cache(maxsize=4096)
def read(text: str) -> Words | str:
    """A stored reason as `Words` (the text itself where the grammar does not know it)."""
    for template, pattern in _PATTERNS:
        found = pattern.fullmatch(text)
        if found is None:
            continue
        values = found.groupdict()
        if all(_fits(name, value) for name, value in values.items()):
            return Words(template, {k: read(v) if k in READ else v for k, v in values.items()})
    pieces = _pieces(text)
    if len(pieces) == 1:
        return text
    joined = "; ".join(f"%(r{n})s" for n in range(len(pieces)))  # the same in every language
    return Words(joined, {f"r{n}": read(piece) for n, piece in enumerate(pieces)})


def cause(code: str) -> Words | str:
    """The step of a lesson's history said in words (an unknown one as it is)."""
    return CAUSES.get(code, code)
