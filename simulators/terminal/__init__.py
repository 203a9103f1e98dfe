"""Simulated VKS room terminals (Cisco xAPI and Poly REST dialects)."""

from simulators.terminal.calls import DialError
from simulators.terminal.device import Terminal

__all__ = ["DialError", "Terminal"]
