"""The service's health, for process supervisors and load balancers (no token needed).

- `GET /api/v1/health/live` — liveness: the process answers. Cheap, touches nothing.
- `GET /api/v1/health` — readiness: each dependency with its status. 503 when something
  this process needs is down (the database; Redis when `VKS_REDIS_URL` is set: without it
  the operators' start/end-now cannot reach the workers); 200 `degraded` when the process
  works but no `vks worker` was seen recently (lessons would not start by themselves), or
  when devices are unusable as configured (`devices`: a secret reference not set, credentials
  refused — one device never makes the service unavailable).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from functools import lru_cache

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from redis import Redis
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from adapters.storage.engine import READ_ONLY
from vks import secrets
from vks.bootstrap import health_store
from vks.checking.rules import misconfigured, misconfigured_summary
from vks.jobs.health import Check, redis_check, workers_check
from vks.jobs.redis_queue import redis_client

DEVICES_FOR_S = 15.0
"""The devices' summary is computed at most this often (the roster of a region is
thousands of rows; a load balancer asks every few seconds)."""

router = APIRouter(prefix="/health", tags=["service"])


class LiveOut(BaseModel):
    status: str = Field(examples=["ok"])


class DependencyOut(BaseModel):
    status: str = Field(description="ok, down, missing or misconfigured", examples=["ok"])
    detail: str = ""


class HealthOut(BaseModel):
    status: str = Field(description="ok, degraded or unavailable", examples=["ok"])
    reason: str = Field(default="", description="what is down or missing, if anything")
    dependencies: dict[str, DependencyOut] = Field(
        description="database; redis and workers when the service runs with Redis; devices"
    )


@router.get("/live", response_model=LiveOut)
def live() -> LiveOut:
    """Liveness: the process runs and answers."""
    return LiveOut(status="ok")


@router.get(
    "",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "a dependency this process needs is down"}},
)
def ready(request: Request) -> JSONResponse:
    """Readiness: every dependency, and whether this process can do its work."""
    container = request.app.state.container
    checks = {"database": database_check(container.engine)}
    redis_url: str = container.settings.redis_url
    if redis_url:
        redis = _redis(redis_url, container.settings.redis_timeout_s)
        checks["redis"] = redis_check(redis)
        if checks["redis"].down:
            checks["workers"] = Check("down", "unknown while Redis does not answer")
        else:
            checks["workers"] = workers_check(redis, datetime.now(UTC))
    if container.engine is not None and not checks["database"].down:
        checks["devices"] = _devices(request, container.engine)
    report = _report(checks)
    status = 503 if report.status == "unavailable" else 200
    return JSONResponse(report.model_dump(), status_code=status)


def database_check(engine: Engine | None) -> Check:
    if engine is None:
        return Check("ok", "in memory")
    try:
        with engine.connect().execution_options(**{READ_ONLY: True}) as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        return Check("down", str(error.__cause__ or error).strip().splitlines()[0])
    return Check("ok")


def devices_check(engine: Engine) -> Check:
    """The devices the service cannot use as configured, as one summary: `misconfigured`
    (the service runs on the others), or ok with how many there are."""
    views = health_store(engine).devices()
    found = misconfigured(views, secrets.unresolved)
    if found:
        return Check("misconfigured", misconfigured_summary(found))
    return Check("ok", f"{len(views)} devices")


def _devices(request: Request, engine: Engine) -> Check:
    known: tuple[float, Check] | None = getattr(request.app.state, "devices_check", None)
    now = time.monotonic()
    if known is not None and now - known[0] < DEVICES_FOR_S:
        return known[1]
    try:
        check = devices_check(engine)
    except SQLAlchemyError as error:
        return Check("missing", f"unknown ({str(error.__cause__ or error).splitlines()[0]})")
    request.app.state.devices_check = (now, check)
    return check


def _report(checks: dict[str, Check]) -> HealthOut:
    down = [f"{name}: {c.detail}" for name, c in checks.items() if c.down]
    missing = [
        f"{name}: {c.detail}" for name, c in checks.items() if c.status != "ok" and not c.down
    ]
    status = "unavailable" if down else "degraded" if missing else "ok"
    return HealthOut(
        status=status,
        reason="; ".join(down or missing),
        dependencies={
            name: DependencyOut(status=c.status, detail=c.detail) for name, c in checks.items()
        },
    )


@lru_cache(maxsize=4)
def _redis(url: str, timeout_s: float) -> Redis:
    return redis_client(url, timeout_s=timeout_s)
