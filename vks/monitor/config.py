"""The monitor's knobs, gathered from the settings into one value.

Tests build it directly with sub-second intervals; the service reads `VKS_POLL_INTERVAL_S`
(and per kind `VKS_POLL_INTERVAL_TERMINAL_S`, `…_CAMERA_S`, `…_SERVER_S`),
`VKS_POLL_CONCURRENCY`, `VKS_POLL_TIMEOUT_S`, `VKS_DOWN_AFTER_FAILURES`,
`VKS_UP_AFTER_SUCCESSES`, the alert channels (`VKS_ALERT_WEBHOOK_URL`/`_SECRET`,
`VKS_SMTP_*`, `VKS_ALERT_EMAILS`) and escalation (`VKS_ALERT_ESCALATE_MINUTES`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from booking.health import DeviceKind, Hysteresis, Limits

DEFAULT_LEVELS: tuple[tuple[str, ...], ...] = (
    ("school", "network", "region"),
    ("municipality", "duty"),
)
"""Who hears of an alert at each escalation level (cumulative): the device's school and
network and the RCC at once; the municipality and the RCC's duty addresses if nobody
acknowledges it in time."""


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 25
    sender: str = "vks@localhost"
    username: str = ""
    password: str = ""
    starttls: bool = False
    use_ssl: bool = False


@dataclass(frozen=True)
class AlertConfig:
    webhook_urls: tuple[str, ...] = ()
    webhook_secret: str = ""
    smtp: SmtpConfig | None = None
    duty_emails: tuple[str, ...] = ()
    """The RCC's duty addresses (the `duty` role of the escalation levels)."""
    levels: tuple[tuple[str, ...], ...] = DEFAULT_LEVELS
    escalate_after: timedelta = timedelta(minutes=15)
    """An alert nobody acknowledged goes one level up after this long."""
    reopen_window: timedelta = timedelta(minutes=30)
    """A device failing again this soon after recovering reopens its alert silently
    (a flapping device is one alert, not a stream of them)."""
    alert_on_degraded: bool = True
    delivery_timeout_s: float = 10.0


@dataclass(frozen=True)
class MonitorConfig:
    intervals: dict[DeviceKind, float] = field(
        default_factory=lambda: dict.fromkeys(DeviceKind, 30.0)
    )
    """Seconds between two polls of one device, per kind."""
    concurrency: int = 500
    """Polls in flight at once (across kinds)."""
    timeout_s: float = 5.0
    """One poll's time limit (connect, send, read)."""
    confirm_s: float = 1.0
    """Delay of a confirmation poll while a device's state is settling (after a first
    failure, or a first answer of a down device): N failures take (N−1)·confirm_s after the
    first, not N whole intervals."""
    hysteresis: Hysteresis = field(default_factory=Hysteresis)
    limits: Limits = field(default_factory=Limits)
    time_zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Novokuznetsk"))
    """The zone of the days uptime is accounted in (the region's)."""
    flush_s: float = 60.0
    """How often aggregated samples (last poll, uptime) are written."""
    transitions_s: float = 0.25
    """How soon after a transition it is stored (transitions are written in batches)."""
    roster_s: float = 60.0
    """How often the device list is re-read from the database."""
    schedule_s: float = 15.0
    """How often the lessons around now are re-read (what call each terminal should be in)."""
    call_grace: timedelta = timedelta(minutes=2)
    """A terminal must be in its lesson's call from the start plus this."""
    call_margin: timedelta = timedelta(minutes=5)
    """No opinion on the call this close to a lesson's busy range."""
    flag_unexpected_calls: bool = True
    risk_horizon: timedelta = timedelta(hours=24)
    risk_s: float = 30.0
    """Lessons at risk are recomputed this often, and soon after transitions…"""
    risk_gap_s: float = 5.0
    """…but not more often than this (a storm of transitions is one recomputation)."""
    shards: int = 64
    lease_s: float = 30.0
    """A shard lease lasts this long; it is renewed every third of it."""
    alerts: AlertConfig = field(default_factory=AlertConfig)

    def interval(self, kind: DeviceKind) -> float:
        return self.intervals[kind]

    @classmethod
    def from_settings(cls, settings: Any) -> MonitorConfig:
        base = float(settings.poll_interval_s)

        def interval(kind: str) -> float:
            value = float(getattr(settings, f"poll_interval_{kind}_s", 0.0) or 0.0)
            return value if value > 0 else base

        smtp = None
        if getattr(settings, "smtp_host", ""):
            smtp = SmtpConfig(
                host=settings.smtp_host,
                port=int(settings.smtp_port),
                sender=settings.smtp_from,
                username=getattr(settings, "smtp_username", ""),
                password=getattr(settings, "smtp_password", ""),
                starttls=bool(getattr(settings, "smtp_starttls", False)),
                use_ssl=bool(getattr(settings, "smtp_ssl", False)),
            )
        urls = tuple(u.strip() for u in str(settings.alert_webhook_url).split(",") if u.strip())
        emails = getattr(settings, "alert_emails", "") or ""
        alerts = AlertConfig(
            webhook_urls=urls,
            webhook_secret=getattr(settings, "alert_webhook_secret", "")
            or getattr(settings, "webhook_secret", ""),
            smtp=smtp,
            duty_emails=tuple(e.strip() for e in str(emails).split(",") if e.strip()),
            escalate_after=timedelta(
                minutes=float(getattr(settings, "alert_escalate_minutes", 15.0))
            ),
        )
        return cls(
            intervals={
                DeviceKind.TERMINAL: interval("terminal"),
                DeviceKind.CAMERA: interval("camera"),
                DeviceKind.SERVER: interval("server"),
            },
            concurrency=int(settings.poll_concurrency),
            timeout_s=float(getattr(settings, "poll_timeout_s", 0.0) or settings.device_timeout_s),
            hysteresis=Hysteresis(
                down_after=int(settings.down_after_failures),
                up_after=int(settings.up_after_successes),
            ),
            time_zone=ZoneInfo(getattr(settings, "monitor_time_zone", "Asia/Novokuznetsk")),
            alerts=alerts,
        )
