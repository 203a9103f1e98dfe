"""`vks check [--json]`: every problem of the configuration on a line of its own (the
device, its school, what to do), then a summary; exit 1 when something is wrong.

On a terminal a one-line counter (`\\r`, on stderr) shows the progress: a region of
thousands of devices takes seconds, and a counter says all a bar would, with no library.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import TextIO

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from adapters.storage.schema import current_revision, head_revision
from booking.health_records import DeviceRecord
from vks.bootstrap import health_store, open_engine
from vks.checking.probing import probe_all
from vks.checking.rules import Problem, answer_problem, secret_problem, summary
from vks.jobs.redis_queue import redis_client, shown_url, unreachable
from vks.secrets import SecretMissing, resolve
from vks.settings import Settings

PROGRESS_EVERY_S = 0.1


def _database(engine: Engine) -> list[Problem]:
    """The database answers and its schema is the one the code needs."""
    try:
        current = current_revision(engine)
    except SQLAlchemyError as error:
        reason = str(error.__cause__ or error).strip().splitlines()[0]
        return [
            Problem(
                "database",
                f"does not answer ({reason})",
                "start it, or correct VKS_DATABASE_URL",
                kind="database",
            )
        ]
    head = head_revision()
    if current != head:
        return [
            Problem(
                "database",
                f"the schema is at {current or 'nothing'}, the code needs {head}",
                "run `vks db upgrade`",
                kind="database",
            )
        ]
    return []


def _redis(settings: Settings) -> list[Problem]:
    if not settings.redis_url:
        return []
    reason = unreachable(redis_client(settings.redis_url, timeout_s=settings.redis_timeout_s))
    if reason is None:
        return []
    return [
        Problem(
            f"redis {shown_url(settings.redis_url)}",
            f"does not answer ({reason})",
            "start Redis, or correct VKS_REDIS_URL",
            kind="redis",
        )
    ]


def _secrets(devices: list[DeviceRecord]) -> tuple[list[Problem], list[DeviceRecord]]:
    """The devices whose secret does not resolve (problems), and the others (to ask)."""
    problems, usable = [], []
    for device in devices:
        try:
            resolve(device.secret_ref)
        except SecretMissing as missing:
            problems.append(secret_problem(device, missing.name))
        else:
            usable.append(device)
    return problems, usable


class Progress:
    """`checked 1234/2000 devices` rewritten in place, at most every PROGRESS_EVERY_S."""

    def __init__(self, total: int, stream: TextIO | None) -> None:
        self.total, self.stream, self.shown_at = total, stream, 0.0

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if self.stream is None or (done < self.total and now - self.shown_at < PROGRESS_EVERY_S):
            return
        self.shown_at = now
        self.stream.write(f"\rchecked {done}/{self.total} devices")
        self.stream.flush()

    def close(self) -> None:
        if self.stream is not None and self.shown_at:
            self.stream.write("\r\033[K")
            self.stream.flush()


def check(
    settings: Settings,
    progress: Callable[[int], None] = lambda _done: None,
    total: Callable[[int], None] = lambda _n: None,
) -> tuple[list[Problem], dict[str, int]]:
    """Every problem of the configuration, and how many devices of each kind were looked at."""
    engine = open_engine(settings)
    try:
        problems = _database(engine) + _redis(settings)
        if any(p.kind == "database" for p in problems):
            return problems, {}
        devices = health_store(engine).roster()
    finally:
        engine.dispose()
    unresolved, usable = _secrets(devices)
    problems += unresolved
    total(len(usable))
    answers = asyncio.run(
        probe_all(
            usable,
            timeout_s=settings.check_timeout_s,
            concurrency=settings.check_concurrency,
            on_done=progress,
        )
    )
    for device in usable:
        problem = answer_problem(device, answers[device.key])
        if problem is not None:
            problems.append(problem)
    checked = Counter(d.kind.value for d in devices)
    return problems, {kind: checked[kind] for kind in ("terminal", "camera", "server")}


def run_check(
    settings: Settings, *, as_json: bool, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Check, print, and the exit code: 0 all is well, 1 something is wrong."""
    out = out or sys.stdout
    err = err or sys.stderr
    started = time.monotonic()
    bar = Progress(0, err if not as_json and out.isatty() else None)

    def sized(n: int) -> None:
        bar.total = n

    try:
        problems, checked = check(settings, progress=bar, total=sized)
    finally:
        bar.close()
    seconds = time.monotonic() - started
    if as_json:
        report = {
            "ok": not problems,
            "checked": checked,
            "seconds": round(seconds, 2),
            "problems": [p.as_dict() for p in problems],
        }
        out.write(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    else:
        for problem in problems:
            out.write(problem.line + "\n")
        out.write(f"vks check: {summary(problems, checked, seconds)}\n")
    return 1 if problems else 0
