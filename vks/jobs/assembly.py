"""Building the automation and its runner from the settings (what `vks worker`, `vks serve`
and `vks demo` do): RQ when `VKS_REDIS_URL` is set, the embedded runner otherwise."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import Engine

from adapters.storage.engine import create_engine_for
from vks.automation.config import AutomationConfig
from vks.automation.hooks import AutomationHook
from vks.automation.service import Automation, build_hardware_automation
from vks.settings import Settings, get_settings


def automation_from_settings(
    settings: Settings | None = None, engine: Engine | None = None
) -> Automation:
    settings = settings or get_settings()
    engine = engine or create_engine_for(settings.effective_database_url)
    return build_hardware_automation(
        engine,
        AutomationConfig.from_settings(settings),
        timeout_s=settings.device_timeout_s,
        attempts=max(1, settings.device_retries),
    )


class Runner(Protocol):
    def wake_at(self, instants: list[datetime]) -> None: ...

    def stop(self) -> None: ...


@dataclass
class RunningAutomation:
    """What the API process holds: the automation, its runner and the hook it calls."""

    automation: Automation
    runner: Runner
    hook: AutomationHook
    mode: str  # "rq" or "embedded"

    def stop(self) -> None:
        self.runner.stop()


class _RqWakerRunner:
    """In the API process with Redis: only wake-ups are sent; workers do the work."""

    def __init__(self, redis_url: str) -> None:
        from redis import Redis

        from vks.jobs.redis_queue import RqWaker, queue_for

        self._redis = Redis.from_url(redis_url)
        self._waker = RqWaker(queue_for(self._redis))

    def wake_at(self, instants: list[datetime]) -> None:
        self._waker.wake_at(instants)

    def stop(self) -> None:
        self._redis.close()


def start_automation(
    settings: Settings | None = None, engine: Engine | None = None
) -> RunningAutomation:
    """Start what this process needs: with Redis, a waker (run `vks worker` for the work);
    without, the embedded runner in a background thread."""
    settings = settings or get_settings()
    automation = automation_from_settings(settings, engine)
    runner: Runner
    if settings.redis_url:
        runner = _RqWakerRunner(settings.redis_url)
        mode = "rq"
    else:
        from vks.jobs.embedded import EmbeddedRunner

        runner = EmbeddedRunner(automation).start()
        mode = "embedded"
    return RunningAutomation(automation, runner, automation.hook(runner), mode)
