"""Prometheus metrics (prometheus-client), every name prefixed `vks_`.

Two sources, one registry per process:

- what this process measures as it polls (`PollMetrics`): poll latency per kind
  (`vks_poll_duration_seconds`), polls by outcome (`vks_polls_total`), the last full cycle
  (`vks_poll_cycle_seconds`), transitions (`vks_device_transitions_total`), alert
  notifications (`vks_alert_notifications_total`) and the devices it polls by state
  (`vks_monitor_devices`);
- what the database says, read at scrape time and cached a few seconds
  (`DatabaseCollector`): every device by kind and state (`vks_devices`), today's lessons
  by lifecycle state (`vks_lessons`), lessons at risk in the next 24 h
  (`vks_lessons_at_risk`), unresolved alerts (`vks_alerts_open`), the automation's queue
  depth (`vks_queue_depth`), job failures (`vks_job_failures`) and, with Redis, the
  workers whose heartbeat is recent (`vks_workers`).

The second set is right whichever process polls (several monitors, an API process apart),
so it belongs on the API's `/metrics`; a standalone `vks monitor` serves both.
"""

from __future__ import annotations

import logging
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from booking.health import DeviceKind, HealthState

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

__all__ = ["CONTENT_TYPE_LATEST", "DatabaseCollector", "PollMetrics", "new_registry", "render"]


def new_registry(*, process: bool = True) -> CollectorRegistry:
    """A registry for one process (with its CPU and memory when `process`)."""
    registry = CollectorRegistry(auto_describe=True)
    if process:
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
    return registry


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)


class PollStats(Collector):
    """Poll latency per kind (a histogram) and polls per kind and verdict (a counter),
    counted in plain integers on the hot path — `bisect` and two additions per poll, no
    lock: the poller runs on one event loop — and exposed when scraped."""

    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.bounds = buckets
        self.buckets = {k: [0] * (len(buckets) + 1) for k in DeviceKind}
        self.sums = dict.fromkeys(DeviceKind, 0.0)
        self.verdicts = {
            (k, s): 0
            for k in DeviceKind
            for s in (HealthState.OK, HealthState.DEGRADED, HealthState.DOWN)
        }

    def observe(self, kind: DeviceKind, seconds: float, verdict: HealthState) -> None:
        self.buckets[kind][bisect_left(self.bounds, seconds)] += 1
        self.sums[kind] += seconds
        self.verdicts[(kind, verdict)] += 1

    def describe(self) -> Iterable[Metric]:
        return self.collect()

    def collect(self) -> Iterable[Metric]:
        latency = HistogramMetricFamily(
            "vks_poll_duration_seconds",
            "Time one poll of a device took (request and judgement), by kind",
            labels=["kind"],
        )
        for kind in DeviceKind:
            counts = list(self.buckets[kind])
            cumulative, running = [], 0
            for bound, count in zip((*self.bounds, float("inf")), counts, strict=True):
                running += count
                cumulative.append((floatToGoString(bound), running))
            latency.add_metric([kind.value], cumulative, self.sums[kind])
        polls = CounterMetricFamily(
            "vks_polls",
            "Polls by kind and verdict (ok, degraded, down)",
            labels=["kind", "outcome"],
        )
        for (kind, verdict), count in self.verdicts.items():
            polls.add_metric([kind.value, verdict.value], count)
        return [latency, polls]


class PollMetrics:
    """What the poller measures (latency and verdicts through `PollStats`)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.stats = PollStats()
        registry.register(self.stats)
        self.cycle_seconds = Gauge(
            "vks_poll_cycle_seconds",
            "Duration of the last full poll cycle, by kind",
            ["kind"],
            registry=registry,
        )
        self.transitions = Counter(
            "vks_device_transitions",
            "Device state changes, by kind and new state",
            ["kind", "state"],
            registry=registry,
        )
        self.notifications = Counter(
            "vks_alert_notifications",
            "Alert notifications by channel and outcome (sent, failed)",
            ["channel", "status"],
            registry=registry,
        )
        self.polled = Gauge(
            "vks_monitor_devices",
            "Devices this monitor polls, by kind and state",
            ["kind", "state"],
            registry=registry,
        )
        self.shards = Gauge(
            "vks_monitor_shards", "Device shards this monitor holds a lease on", registry=registry
        )

    def set_polled(self, counts: Mapping[tuple[DeviceKind, HealthState], int]) -> None:
        for kind in DeviceKind:
            for state in HealthState:
                self.polled.labels(kind.value, state.value).set(counts.get((kind, state), 0))


@dataclass(frozen=True)
class DatabaseFigures:
    devices: Mapping[tuple[str, str], int]
    lessons: Mapping[str, int]
    at_risk: int
    alerts_open: Mapping[str, int]
    queues: Mapping[str, tuple[int, int]]  # queue → (depth, failures)
    workers: int | None = None  # `vks worker` processes with a recent heartbeat (with Redis)


class DatabaseCollector(Collector):
    """Gauges read from the database when scraped (cached `ttl_s` seconds)."""

    def __init__(self, read: Callable[[], DatabaseFigures], ttl_s: float = 5.0) -> None:
        self._read = read
        self._ttl_s = ttl_s
        self._cached: DatabaseFigures | None = None
        self._at = 0.0
        self._lock = threading.Lock()

    def describe(self) -> Iterable[Metric]:
        return []  # not read at registration: the database may not be up yet

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            if self._cached is None or time.monotonic() - self._at > self._ttl_s:
                try:
                    self._cached = self._read()
                    self._at = time.monotonic()
                except Exception:
                    log.exception("metrics: cannot read the database")
                    if self._cached is None:
                        return []
            figures = self._cached
        devices = GaugeMetricFamily(
            "vks_devices", "Devices by kind and health state", labels=["kind", "state"]
        )
        for kind in DeviceKind:
            for state in HealthState:
                devices.add_metric([kind.value, state.value], figures.devices.get((kind, state), 0))
        lessons = GaugeMetricFamily(
            "vks_lessons", "Today's occurrences by lifecycle state", labels=["state"]
        )
        for lesson_state, count in sorted(figures.lessons.items()):
            lessons.add_metric([lesson_state], count)
        at_risk = GaugeMetricFamily(
            "vks_lessons_at_risk", "Occurrences in the next 24 h flagged at risk"
        )
        at_risk.add_metric([], figures.at_risk)
        alerts = GaugeMetricFamily(
            "vks_alerts_open", "Unresolved alerts by severity", labels=["severity"]
        )
        for severity in (HealthState.DEGRADED, HealthState.DOWN):
            alerts.add_metric([severity.value], figures.alerts_open.get(severity, 0))
        depth = GaugeMetricFamily(
            "vks_queue_depth", "Jobs waiting in the automation queue", labels=["queue"]
        )
        failures = GaugeMetricFamily(
            "vks_job_failures", "Failed automation jobs currently recorded", labels=["queue"]
        )
        for queue, (waiting, failed) in sorted(figures.queues.items()):
            depth.add_metric([queue], waiting)
            failures.add_metric([queue], failed)
        found: list[Metric] = [devices, lessons, at_risk, alerts, depth, failures]
        if figures.workers is not None:
            workers = GaugeMetricFamily(
                "vks_workers", "Automation workers (vks worker) with a recent heartbeat"
            )
            workers.add_metric([], figures.workers)
            found.append(workers)
        return found
