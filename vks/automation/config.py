"""The automation's knobs, gathered from the settings into one value the steps receive.

Tests build it directly with second-scale lead times; the service reads minutes from
`VKS_PREFLIGHT_MINUTES`, `VKS_START_LEAD_MINUTES` (and the per-kind
`VKS_START_LEAD_MINUTES_BY_KIND`, e.g. `{"event": 15}`), `VKS_START_GRACE_MINUTES`,
`VKS_RECONCILE_SECONDS`, `VKS_WEBHOOK_URL` and `VKS_WEBHOOK_SECRET`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from booking.bookings import SessionKind
from booking.lifecycle import Timing


@dataclass(frozen=True)
class AutomationConfig:
    timing: Timing = field(default_factory=Timing)
    lease: timedelta = timedelta(seconds=5)
    """How long a claimed step is ours before another worker may take it over
    (`VKS_AUTOMATION_LEASE_SECONDS`); renewed every `heartbeat` while it works
    (`VKS_AUTOMATION_HEARTBEAT_SECONDS`). A killed worker's steps wait this long, at most,
    and so does the scheduling of wake-ups a killed worker was doing (`vks.jobs.scheduling`)."""
    heartbeat: timedelta = timedelta(seconds=1)
    batch_min: int = 25
    batch_max: int = 1000
    """A dispatch claims between these many due steps and runs them concurrently."""
    presence_timeout: timedelta = timedelta(seconds=20)
    presence_poll: timedelta = timedelta(milliseconds=250)
    camera_hold: timedelta = timedelta(seconds=15)
    camera_hold_from: int = 20
    """The cameras of a batch of this many starts or more move once its terminals are in
    (or given up on), at most `camera_hold` after the batch began (`start.TerminalsFirst`);
    a smaller batch moves them while its terminals dial."""
    end_attempts: int = 3
    late_tolerance: timedelta = timedelta(seconds=30)
    """A start claimed later than this after it was due is recorded as late."""
    horizon: timedelta = timedelta(hours=2)
    """Wake-ups are queued this far ahead (the reconciler extends them every round)."""
    plan_lookback: timedelta = timedelta(hours=12)
    reconcile_every: timedelta = timedelta(seconds=60)
    quick_sync_every: timedelta = timedelta(seconds=2)
    """Embedded mode: how often bookings nobody told us about are planned."""
    device_concurrency: int = 2000
    webhook_url: str = ""
    webhook_secret: str = ""
    webhook_timeout_s: float = 5.0
    webhook_retry_first: timedelta = timedelta(seconds=10)

    @classmethod
    def from_settings(cls, settings: Any) -> AutomationConfig:
        by_kind_raw: dict[str, Any] = getattr(settings, "start_lead_minutes_by_kind", {}) or {}
        by_kind = {SessionKind(k): timedelta(minutes=float(v)) for k, v in by_kind_raw.items()}
        timing = Timing(
            preflight_lead=timedelta(minutes=settings.preflight_minutes),
            start_lead=timedelta(minutes=settings.start_lead_minutes),
            start_lead_by_kind=by_kind,
            grace=timedelta(minutes=settings.start_grace_minutes),
        )
        return cls(
            timing=timing,
            reconcile_every=timedelta(seconds=settings.reconcile_seconds),
            lease=timedelta(seconds=float(getattr(settings, "automation_lease_seconds", 5.0))),
            heartbeat=timedelta(
                seconds=float(getattr(settings, "automation_heartbeat_seconds", 1.0))
            ),
            webhook_url=settings.webhook_url,
            webhook_secret=settings.webhook_secret,
            webhook_timeout_s=float(getattr(settings, "device_timeout_s", 5.0)),
        )
