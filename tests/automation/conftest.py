"""Fixtures of the automation specifications: the simulated region, a second-scale
configuration (lessons a few seconds from now), the automation over the real adapters,
and a helper to wait for a state."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine

from adapters.storage.schema import upgrade
from adapters.storage.unit_of_work import SqlUnitOfWork
from tests.automation.region import SimRegion, start_region
from tests.automation.timing import fast_config
from tests.conftest import empty_database
from vks.automation.config import AutomationConfig
from vks.automation.service import Automation
from vks.bootstrap import hardware_automation

T = TypeVar("T")


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
    return hardware_automation(engine, config, timeout_s=2.0)


def database_on(kind: str, why: str) -> Any:
    """A module-scoped `database_url` on one backend only (overrides the shared one that
    runs every storage test on both): `database_url = database_on("sqlite", "...")`."""
    marks = [pytest.mark.postgres] if kind == "postgres" else []

    @pytest.fixture(scope="module", params=[pytest.param(kind, marks=marks)])
    def database_url(
        request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[str]:
        with empty_database(request.param, tmp_path_factory.mktemp("db"), request) as url:
            upgrade(url)
            yield url

    database_url.__doc__ = why
    return database_url


def wait_for(
    what: Callable[[], T | None],
    timeout: float = 10.0,
    every: float = 0.05,
    explain: Callable[[], object] | None = None,
) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = what()
        if value:
            return value
        if time.monotonic() > deadline:
            why = f": {explain()}" if explain is not None else ""
            raise AssertionError(f"timed out after {timeout} s{why}")
        time.sleep(every)


def story(automation: Automation, occurrence_id: str) -> str:
    """The occurrence's history and plan, for failure messages."""
    lines = [
        f"{h.at:%H:%M:%S.%f} {h.from_state}→{h.to_state} [{h.cause}] {h.reason} {h.details}"
        for h in automation.store.history(occurrence_id)
    ]
    plan = automation.store.plans([occurrence_id]).get(occurrence_id)
    lines.append(f"plan: {plan}")
    lines.append(f"room: {automation.store.rooms([occurrence_id]).get(occurrence_id)}")
    return "\n".join(lines)
