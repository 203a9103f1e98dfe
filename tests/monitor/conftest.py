"""Fixtures of the monitor's specifications: a migrated SQLite database (the end-to-end
runs; the store's queries also run on PostgreSQL in test_health_store.py), the simulated
region, a sub-second configuration, and waiting for something to become true."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine

import adapters.storage.health  # noqa: F401  (registers the health tables for emptying)
from adapters.storage.engine import create_engine_for
from adapters.storage.health import SqlHealthStore
from adapters.storage.schema import upgrade
from adapters.storage.unit_of_work import SqlUnitOfWork, sql_uow_factory
from booking.health import DeviceKind, Hysteresis
from tests.monitor.region import SimRegion, start_region
from vks.monitor.config import AlertConfig, MonitorConfig

T = TypeVar("T")


@pytest.fixture(scope="module")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path: Path = tmp_path_factory.mktemp("monitor") / "vks.sqlite"
    url = f"sqlite:///{path}"
    upgrade(url)
    engine = create_engine_for(url)
    yield engine
    engine.dispose()


@pytest.fixture
def sql_uow(sqlite_engine: Engine) -> Callable[[], SqlUnitOfWork]:
    from tests.conftest import empty_tables

    empty_tables(sqlite_engine)
    return sql_uow_factory(sqlite_engine)


@pytest.fixture
def store(sqlite_engine: Engine, sql_uow: Callable[[], SqlUnitOfWork]) -> SqlHealthStore:
    return SqlHealthStore(sqlite_engine)


@pytest.fixture
def region(sql_uow: Callable[[], SqlUnitOfWork]) -> Iterator[SimRegion]:
    sims = start_region(sql_uow)
    yield sims
    sims.host.stop()


def fast_config(**changes: Any) -> MonitorConfig:
    """Polls every 0.3 s, confirmations after 0.1 s: down after 3 failures in ~0.5 s."""
    config = MonitorConfig(
        intervals=dict.fromkeys(DeviceKind, 0.3),
        concurrency=20,
        timeout_s=1.0,
        confirm_s=0.1,
        hysteresis=Hysteresis(down_after=3, up_after=2),
        flush_s=0.5,
        transitions_s=0.05,
        roster_s=1.0,
        schedule_s=0.5,
        risk_s=0.5,
        risk_gap_s=0.0,
        shards=8,
        lease_s=3.0,
        call_grace=timedelta(seconds=0),
        alerts=AlertConfig(escalate_after=timedelta(hours=1)),
    )
    return replace(config, **changes)


async def eventually(
    check: Callable[[], Awaitable[T | None]] | Callable[[], T | None],
    timeout: float = 10.0,
    every: float = 0.05,
) -> T:
    """Wait until `check` (sync, or async) gives something truthy; return it."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s: {check}")
        await asyncio.sleep(every)
