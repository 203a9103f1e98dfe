"""Lessons that start themselves: pre-flight checks, start, end, the reconciler and the
signed events that tell the outside world (see docs/automation.md)."""
