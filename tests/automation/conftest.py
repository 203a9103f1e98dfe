"""Fixtures of the automation specifications: the simulated region, a second-scale
configuration (lessons a few seconds from now), the automation over the real adapters,
and a helper to wait for a state."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TypeVar

import pytest
from sqlalchemy import Engine

from adapters.storage.unit_of_work import SqlUnitOfWork
from booking.lifecycle import Timing
from tests.automation.region import SimRegion, start_region
from vks.automation.config import AutomationConfig
from vks.automation.service import Automation, build_hardware_automation

T = TypeVar("T")


def fast_config(**changes: object) -> AutomationConfig:
    """Lead times in seconds instead of minutes; everything else as in production."""
    timing = Timing(
        preflight_lead=timedelta(seconds=3),
        start_lead=timedelta(seconds=1),
        grace=timedelta(seconds=4),
        retry_first=timedelta(milliseconds=300),
        retry_max=timedelta(seconds=1),
        preflight_min_ahead=timedelta(milliseconds=500),
    )
    values: dict[str, object] = {
        "timing": timing,
        "lease": timedelta(seconds=3),
        "presence_timeout": timedelta(seconds=3),
        "presence_poll": timedelta(milliseconds=100),
        "reconcile_every": timedelta(seconds=1),
        "quick_sync_every": timedelta(milliseconds=500),
        "horizon": timedelta(hours=1),
    }
    values.update(changes)
    return AutomationConfig(**values)  # type: ignore[arg-type]


@pytest.fixture
def region(uow_factory: Callable[[], SqlUnitOfWork]) -> Iterator[SimRegion]:
    sims = start_region(uow_factory)
    yield sims
    sims.host.stop()


@pytest.fixture
def config() -> AutomationConfig:
    return fast_config()


@pytest.fixture
def automation(engine: Engine, region: SimRegion, config: AutomationConfig) -> Automation:
    return build_hardware_automation(engine, config, timeout_s=2.0)


def wait_for(what: Callable[[], T | None], timeout: float = 10.0, every: float = 0.05) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = what()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)
