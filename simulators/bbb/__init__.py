"""Simulated BigBlueButton server."""

from simulators.bbb.server import BbbServer

__all__ = ["BbbServer"]
