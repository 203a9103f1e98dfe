"""Building the automation and its runner from the settings (what `vks worker`, `vks serve`
and `vks demo` do): RQ when `VKS_REDIS_URL` is set, the embedded runner otherwise.

In the API process the running automation is a booking listener (the API tells it what
changed, it replans at once) and lends its event loop to the operators' manual device
operations (the device clients belong to that loop)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import Engine

from adapters.storage.engine import create_engine_for
from vks.automation.config import AutomationConfig
from vks.automation.hooks import AutomationHook
from vks.automation.service import Automation
from vks.bootstrap import hardware_automation
from vks.jobs.loop import LoopThread
from vks.settings import Settings, get_settings

T = TypeVar("T")


def automation_from_settings(
    settings: Settings | None = None,
    engine: Engine | None = None,
    config: AutomationConfig | None = None,
) -> Automation:
    settings = settings or get_settings()
    engine = engine or create_engine_for(settings.effective_database_url)
    return hardware_automation(
        engine,
        config or AutomationConfig.from_settings(settings),
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
    loop: LoopThread
    owns_loop: bool

    # --- a booking listener (vks.bootstrap.BookingListener) ---------------------------------
    def bookings_changed(
        self, booking_ids: Iterable[str], *, span: tuple[datetime, datetime] | None = None
    ) -> object:
        return self.hook.bookings_changed(booking_ids, span=span)

    def occurrences_changed(self, occurrence_ids: Iterable[str]) -> object:
        return self.hook.occurrences_changed(occurrence_ids)

    def require_jobs(self) -> None:
        """Raise `JobsUnavailable` if work handed to the workers cannot reach them (the
        embedded runner, in this process, always can)."""
        if isinstance(self.runner, _RqWakerRunner):
            self.runner.require()

    # --- device operations on the automation's loop -------------------------------------------
    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        return self.loop.run(coroutine, timeout)

    def stop(self) -> None:
        self.runner.stop()
        if self.owns_loop:
            try:
                self.loop.run(self.automation.close(), 10)
            finally:
                self.loop.stop()


class _RqWakerRunner:
    """In the API process with Redis: only wake-ups are sent; workers do the work."""

    def __init__(self, redis_url: str, timeout_s: float) -> None:
        from vks.jobs.redis_queue import RqWaker, queue_for, redis_client

        self._redis = redis_client(redis_url, timeout_s=timeout_s)
        self._waker = RqWaker(queue_for(self._redis))

    def wake_at(self, instants: list[datetime]) -> None:
        self._waker.wake_at(instants)

    def require(self) -> None:
        from vks.jobs.redis_queue import JobsUnavailable, unreachable

        reason = unreachable(self._redis)
        if reason is not None:
            raise JobsUnavailable(
                f"the job queue (Redis) does not answer, so no worker can do this: {reason}"
            )

    def stop(self) -> None:
        self._redis.close()


def start_automation(
    settings: Settings | None = None,
    engine: Engine | None = None,
    *,
    config: AutomationConfig | None = None,
) -> RunningAutomation:
    """Start what this process needs: with Redis, a waker (run `vks worker` for the work);
    without, the embedded runner in a background thread."""
    settings = settings or get_settings()
    automation = automation_from_settings(settings, engine, config)
    if settings.redis_url:
        loop = LoopThread("vks-device-operations").start()
        runner: Runner = _RqWakerRunner(settings.redis_url, settings.redis_timeout_s)
        return RunningAutomation(automation, runner, automation.hook(runner), "rq", loop, True)
    from vks.jobs.embedded import EmbeddedRunner

    embedded = EmbeddedRunner(automation).start()
    assert embedded.loop_thread is not None
    return RunningAutomation(
        automation, embedded, automation.hook(embedded), "embedded", embedded.loop_thread, False
    )


class _HasListeners(Protocol):
    settings: Settings
    engine: Engine | None
    listeners: list[Any]


def attach_automation(
    container: _HasListeners, config: AutomationConfig | None = None
) -> Callable[[], None]:
    """Start the automation over a container's database and subscribe it to booking
    changes; returns how to stop it (`vks serve`, `vks demo`)."""
    running = start_automation(container.settings, container.engine, config=config)
    container.listeners.append(running)
    stop_delivery = _reports_delivery(container, running)

    def stop() -> None:
        stop_delivery()
        if running in container.listeners:
            container.listeners.remove(running)
        running.stop()

    return stop


def _reports_delivery(container: _HasListeners, running: RunningAutomation) -> Callable[[], None]:
    """The scheduled delivery of the reports runs where the automation's periodic work does:
    here with the embedded runner, in `vks worker` with Redis."""
    if running.mode != "embedded" or container.engine is None:
        return lambda: None
    from vks.reports.delivery import start_delivery

    return start_delivery(container.engine, container.settings, running.automation.clock)


def running_automation(listeners: Iterable[object]) -> RunningAutomation | None:
    """The automation subscribed among a container's listeners, if one is running."""
    return next((x for x in listeners if isinstance(x, RunningAutomation)), None)
