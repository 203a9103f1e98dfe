"""The PTZ head: position and movement at finite speed, computed from time.

Nothing runs in the background: each axis stores where it started, its velocity and when it
stops, and the position at any instant is computed on demand. So a fleet of thousands of
cameras costs no tasks and no timers. Positions are in the ONVIF generic spaces: pan and tilt
in [-1, 1], zoom in [0, 1].
"""

from __future__ import annotations

import time
from dataclasses import dataclass

PAN, TILT, ZOOM = 0, 1, 2
LIMITS: tuple[tuple[float, float], ...] = ((-1.0, 1.0), (-1.0, 1.0), (0.0, 1.0))

Position = tuple[float, float, float]


@dataclass(slots=True)
class _Axis:
    start: float
    velocity: float = 0.0  # units per second, signed
    t0: float = 0.0
    t_end: float = 0.0

    def at(self, now: float) -> float:
        if self.velocity == 0.0:
            return self.start
        return self.start + self.velocity * (min(now, self.t_end) - self.t0)

    def moving(self, now: float) -> bool:
        return self.velocity != 0.0 and now < self.t_end

    def hold(self, now: float) -> None:
        self.start = self.at(now)
        self.velocity = 0.0

    def move_to(self, target: float, speed: float, now: float) -> None:
        """Head for `target` at `speed` units/s (speed > 0)."""
        current = self.at(now)
        distance = target - current
        if distance == 0.0 or speed <= 0.0:
            self.start, self.velocity = target if speed > 0.0 else current, 0.0
            return
        self.start, self.t0 = current, now
        self.velocity = speed if distance > 0 else -speed
        self.t_end = now + abs(distance) / speed

    def sweep(
        self, velocity: float, timeout_s: float, limits: tuple[float, float], now: float
    ) -> None:
        """Move at `velocity` until `timeout_s` passes or the end stop is reached."""
        current = self.at(now)
        if velocity == 0.0:
            self.start, self.velocity = current, 0.0
            return
        stop_at = limits[1] if velocity > 0 else limits[0]
        to_stop = abs(stop_at - current) / abs(velocity)
        self.start, self.t0, self.velocity = current, now, velocity
        self.t_end = now + min(timeout_s, to_stop)


class PtzHead:
    """Where a camera points and how it moves. `speeds` are the maximal pan/tilt and zoom
    speeds in generic units per second (a request's Speed of 1.0 means full speed)."""

    __slots__ = ("_axes", "pan_tilt_speed", "zoom_speed")

    def __init__(self, position: Position, pan_tilt_speed: float, zoom_speed: float) -> None:
        self._axes = (_Axis(position[PAN]), _Axis(position[TILT]), _Axis(position[ZOOM]))
        self.pan_tilt_speed = pan_tilt_speed
        self.zoom_speed = zoom_speed

    def position(self, now: float | None = None) -> Position:
        t = time.monotonic() if now is None else now
        pan, tilt, zoom = (a.at(t) for a in self._axes)
        return (pan, tilt, zoom)

    def moving(self, now: float | None = None) -> tuple[bool, bool]:
        """(pan/tilt moving, zoom moving)."""
        t = time.monotonic() if now is None else now
        return (self._axes[PAN].moving(t) or self._axes[TILT].moving(t), self._axes[ZOOM].moving(t))

    def move_to(
        self,
        target: Position,
        pan_tilt_speed: tuple[float, float] = (1.0, 1.0),
        zoom_speed: float = 1.0,
    ) -> None:
        """Absolute move; speeds are fractions (0, 1] of the maximal speed per axis."""
        now = time.monotonic()
        target = clamp(target)
        self._axes[PAN].move_to(target[PAN], self.pan_tilt_speed * pan_tilt_speed[0], now)
        self._axes[TILT].move_to(target[TILT], self.pan_tilt_speed * pan_tilt_speed[1], now)
        self._axes[ZOOM].move_to(target[ZOOM], self.zoom_speed * zoom_speed, now)

    def continuous(self, velocity: Position, timeout_s: float) -> None:
        """Continuous move; velocity components in [-1, 1] of the maximal speed."""
        now = time.monotonic()
        scale = (self.pan_tilt_speed, self.pan_tilt_speed, self.zoom_speed)
        for axis, v, s, limits in zip(self._axes, velocity, scale, LIMITS, strict=True):
            axis.sweep(v * s, timeout_s, limits, now)

    def stop(self, pan_tilt: bool = True, zoom: bool = True) -> None:
        now = time.monotonic()
        if pan_tilt:
            self._axes[PAN].hold(now)
            self._axes[TILT].hold(now)
        if zoom:
            self._axes[ZOOM].hold(now)

    def jump(self, position: Position) -> None:
        """Be at `position` at once (after a reboot's calibration)."""
        for axis, value in zip(self._axes, clamp(position), strict=True):
            axis.start, axis.velocity = value, 0.0


def clamp(position: Position) -> Position:
    pan, tilt, zoom = (min(hi, max(lo, v)) for v, (lo, hi) in zip(position, LIMITS, strict=True))
    return (pan, tilt, zoom)


def in_range(position: Position) -> bool:
    return all(lo <= v <= hi for v, (lo, hi) in zip(position, LIMITS, strict=True))
