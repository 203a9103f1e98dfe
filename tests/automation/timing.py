"""Second-scale automation settings for the specifications (production uses minutes)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from booking.lifecycle import Timing
from vks.automation.config import AutomationConfig


def fast_config(**changes: Any) -> AutomationConfig:
    """Lead times in seconds instead of minutes; everything else as in production.
    `changes` may name config fields, or `<field>_s` seconds for the timedelta fields of
    the config or of its timing (`start_lead_s=12`)."""
    timing: dict[str, Any] = {
        "preflight_lead": timedelta(seconds=3),
        "start_lead": timedelta(seconds=1),
        "grace": timedelta(seconds=4),
        "retry_first": timedelta(milliseconds=300),
        "retry_max": timedelta(seconds=1),
        "preflight_min_ahead": timedelta(milliseconds=500),
    }
    values: dict[str, Any] = {
        "lease": timedelta(seconds=3),
        "presence_timeout": timedelta(seconds=3),
        "presence_poll": timedelta(milliseconds=100),
        "reconcile_every": timedelta(seconds=1),
        "quick_sync_every": timedelta(milliseconds=500),
        "late_tolerance": timedelta(seconds=1),
        "webhook_retry_first": timedelta(milliseconds=500),
        "horizon": timedelta(hours=1),
    }
    for name, value in changes.items():
        if name.endswith("_s") and name[:-2] in timing:
            timing[name[:-2]] = timedelta(seconds=float(value))
        elif name.endswith("_s") and name[:-2] in values:
            values[name[:-2]] = timedelta(seconds=float(value))
        else:
            values[name] = value
    return AutomationConfig(timing=Timing(**timing), **values)
