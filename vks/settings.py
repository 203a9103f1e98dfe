"""All configuration, in one place: environment variables with the `VKS_` prefix
(or a `.env` file). Nothing else in the code base holds hosts, ports or secrets."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import limits
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from vks.devkey import development_key

SECRETS_DIR = os.environ.get("VKS_SECRETS_DIR") or None
"""A directory of files named for settings (`vks_secret_key`, `vks_database_url`…), each
holding the value: container secrets (`/run/secrets`), read after the environment."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="VKS_", env_file=".env", extra="ignore", secrets_dir=SECRETS_DIR
    )

    # where things live
    data_dir: Path = Path("data")
    database_url: str = ""  # empty: SQLite file `<data_dir>/vks.sqlite`
    redis_url: str = ""  # empty: jobs run in-process (embedded mode)

    # the API
    host: str = "127.0.0.1"
    port: int = 8000
    # signs tokens; empty: a development key kept in <data_dir>/secret.key (vks/devkey.py),
    # refused when `production` is set
    secret_key: str = ""
    # during a key rotation, the key(s) replaced (comma-separated): tokens they signed are
    # still accepted until they expire (docs/operations.md); new tokens use secret_key
    secret_key_previous: str = ""
    production: bool = False
    token_ttl_minutes: int = 12 * 60
    feed_token_ttl_days: int = 365  # read-only calendar-feed tokens live in subscription URLs
    # a recorded token's record is kept this long after it expired or was revoked
    token_record_days: int = Field(default=90, ge=1)
    require_if_match: bool = True  # PUT without If-Match → 428
    public_url: str = "http://127.0.0.1:8000"
    access_log: bool = True  # `vks serve`: a log line per request (off: ~5 % less CPU each)

    # booking policy
    default_setup_minutes: int = 10
    hold_ttl_minutes: int = 15
    max_range_days: int = 400  # longest date range a query or a series may span
    idempotency_ttl_hours: int = 24
    hold_sweep_seconds: float = 60.0  # how often the API process releases expired holds

    # automation (issue: lessons that start themselves)
    preflight_minutes: int = 30
    start_lead_minutes: int = 5
    start_lead_minutes_by_kind: dict[str, float] = {}  # per session kind, e.g. {"event": 15}
    start_grace_minutes: int = 10
    reconcile_seconds: int = 60
    # a claimed step is a worker's for this long, renewed every heartbeat while it works;
    # a killed worker's steps (and the scheduling of wake-ups) are taken over after it
    automation_lease_seconds: float = Field(default=5.0, ge=2.0)
    automation_heartbeat_seconds: float = Field(default=1.0, gt=0.0)
    webhook_url: str = ""
    webhook_secret: str = ""

    # notifications (inbox, e-mail through smtp_*, the webhook above) and reminders
    notify_digest_after: int = Field(default=5, ge=0)  # non-urgent e-mails one by one…
    notify_digest_window_minutes: float = Field(default=15.0, gt=0)  # …within this window
    notify_delivery_seconds: float = 10.0  # how often the outbox is sent (0: never here)
    notify_retry_first_seconds: float = Field(default=30.0, gt=0)  # then doubling, ≤ 1 hour
    # monitor alerts into people's inboxes too (off: on SQLite its writes were seen to delay
    # the monitor's at-risk flags by tens of seconds; see the notify branch's report)
    notify_monitor_alerts: bool = False

    # devices
    device_timeout_s: float = 5.0
    device_retries: int = 2

    # `vks check`: devices asked at once, time limit of one request
    check_concurrency: int = Field(default=200, ge=1)
    check_timeout_s: float = Field(default=5.0, gt=0)

    # health monitoring
    poll_interval_s: float = 30.0
    poll_concurrency: int = 500
    down_after_failures: int = 3
    up_after_successes: int = 2
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "vks@localhost"
    alert_webhook_url: str = ""
    # … per kind (0 = poll_interval_s), time limit of one request (0 = device_timeout_s)
    poll_interval_terminal_s: float = 0.0
    poll_interval_camera_s: float = 0.0
    poll_interval_server_s: float = 0.0
    poll_timeout_s: float = 0.0
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    alert_webhook_secret: str = ""  # empty: the automation's webhook_secret signs alerts too
    alert_emails: str = ""  # the RCC's duty addresses, comma-separated
    alert_escalate_minutes: float = 15.0
    monitor_time_zone: str = "Asia/Novokuznetsk"  # the days uptime is accounted in
    monitor_port: int = 9108  # `vks monitor`: /metrics and terminal push feedback
    monitor_in_worker: bool = True  # `vks worker` also runs a monitor (they split devices)
    demo_sim_port: int = 18999  # `vks demo`: the simulators' fault control (/_sim/devices)
    # `vks demo`: added to every simulated device's port (18001… → 18001+N…), so a second
    # demo (or a test of it) runs beside the first
    demo_port_offset: int = Field(default=0, ge=-18000, le=40000)
    # `vks demo`: days of past lessons lived at start-up for the reports (0: none)
    demo_history_days: int = Field(default=28, ge=0, le=120)
    # Input limits (issue 12). The largest legitimate body is a region's timetable POST:
    # 5,000 lessons are ~4.2 MB as UTF-8 JSON, ~5.8 MB with \u-escaped Cyrillic.
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    max_json_depth: int = Field(default=32, ge=4)  # nesting of a JSON request body
    max_import_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)  # one `vks import` file

    # login throttling (`limits` notation: "5/minute", "30 per 10 minutes"); failed
    # attempts count, per username and per client address; shared through Redis when
    # redis_url is set, else kept per API process
    login_rate_per_user: str = "5/minute"
    login_rate_per_address: str = "30/minute"

    # the web interface (vks/web): session cookies always Secure (behind a TLS proxy that
    # speaks plain HTTP to us); over HTTPS they are Secure anyway. How often the Today
    # board's live stream looks for stored changes.
    web_secure_cookies: bool = False
    web_poll_seconds: float = Field(default=0.5, gt=0, le=10)

    @field_validator("login_rate_per_user", "login_rate_per_address")
    @classmethod
    def _a_rate(cls, value: str) -> str:
        try:
            limits.parse(value)
        except ValueError:
            raise ValueError(
                f"{value!r} is not a rate like '5/minute' or '30 per 10 minutes'"
            ) from None
        return value

    # robustness (issue 12)
    # an unanswered Idempotency-Key claim older than this (its process died) is taken over
    idempotency_lease_seconds: float = Field(default=60.0, gt=0)
    # how long the API waits for Redis (connect, answer) before saying the jobs are down
    redis_timeout_s: float = Field(default=2.0, gt=0)

    @model_validator(mode="after")
    def _a_secret_key(self) -> Settings:
        if not self.secret_key:
            if self.production:
                raise ValueError("set VKS_SECRET_KEY in production (32 or more random bytes)")
            self.secret_key = development_key(self.data_dir)
        elif len(self.secret_key) < 8:
            raise ValueError("VKS_SECRET_KEY must be at least 8 characters (better 32 or more)")
        if any(len(key) < 8 for key in self.previous_secret_keys):
            raise ValueError("each VKS_SECRET_KEY_PREVIOUS key must be at least 8 characters")
        return self

    @property
    def previous_secret_keys(self) -> tuple[str, ...]:
        return tuple(k.strip() for k in self.secret_key_previous.split(",") if k.strip())

    @property
    def demo_sim_control(self) -> str:
        return f"http://127.0.0.1:{self.demo_sim_port}/_sim/devices"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'vks.sqlite').resolve()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
