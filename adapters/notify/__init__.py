"""Notification channels: where the health monitor's alerts go (signed webhook, e-mail)."""
