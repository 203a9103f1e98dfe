"""Simulated VKS room terminals (Cisco xAPI and Poly REST dialects)."""

from simulators.terminal.device import DialError, Terminal

__all__ = ["DialError", "Terminal"]
