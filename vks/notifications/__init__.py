"""Notifications leaving the process: the outbox's delivery (e-mail, webhook) with retries
and digests, the automation's lesson facts turned into notices, and the periodic job that
runs both with the deadlines' reminders."""
