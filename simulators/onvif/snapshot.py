"""Snapshot JPEGs that show where a simulated camera points.

One classroom panorama is drawn once per process (lazily) in pan/tilt coordinates: the
teacher's desk on the left, the board in the middle, the pupils' desks on the right. A snapshot
crops the panorama around the current pan/tilt, narrows the view with zoom, and prints the
camera name, the position and the preset it stands on. The same facts go into the JPEG
comment (`pan=… tilt=… zoom=… preset=… moving=…`) so tests can read them back.
"""

from __future__ import annotations

import io
import threading
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 640, 360
_PX_PER_UNIT = 800  # panorama pixels per generic pan/tilt unit
_PANORAMA_W = int(2.8 * _PX_PER_UNIT)  # pan -1..1 plus half a field of view on each side
_PANORAMA_H = int(2.8 * _PX_PER_UNIT)
_FOV_WIDE = 0.8  # horizontal field of view at zoom 0, in pan units
_FOV_TELE = 0.1  # at zoom 1

# Where the classroom things are (pan, tilt) — the default presets point at them.
SCENE_SPOTS: dict[str, tuple[float, float, float]] = {
    "teacher": (-0.45, 0.05, 0.35),
    "board": (0.0, 0.15, 0.2),
    "class": (0.45, -0.2, 0.05),
}

_FONT_PATHS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
)
_lock = threading.Lock()


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in _FONT_PATHS:  # DejaVu has Cyrillic, for Russian preset names
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def _to_px(pan: float, tilt: float) -> tuple[float, float]:
    return (_PANORAMA_W / 2 + pan * _PX_PER_UNIT, _PANORAMA_H / 2 - tilt * _PX_PER_UNIT)


def _box(pan: float, tilt: float, w: float, h: float) -> tuple[float, float, float, float]:
    x, y = _to_px(pan, tilt)
    return (
        x - w * _PX_PER_UNIT / 2,
        y - h * _PX_PER_UNIT / 2,
        x + w * _PX_PER_UNIT / 2,
        y + h * _PX_PER_UNIT / 2,
    )


@lru_cache(maxsize=1)
def _panorama() -> Image.Image:
    """The classroom, drawn once per process and shared by every camera."""
    img = Image.new("RGB", (_PANORAMA_W, _PANORAMA_H), (226, 214, 190))  # wall
    draw = ImageDraw.Draw(img)
    floor_y = _to_px(0, -0.1)[1]
    draw.rectangle((0, floor_y, _PANORAMA_W, _PANORAMA_H), fill=(150, 112, 76))
    draw.rectangle((0, 0, _PANORAMA_W, _to_px(0, 0.75)[1]), fill=(245, 245, 240))  # ceiling
    big = _font(44)
    # the board
    pan, tilt, _ = SCENE_SPOTS["board"]
    draw.rectangle(_box(pan, tilt, 0.62, 0.3), fill=(92, 64, 38))
    draw.rectangle(_box(pan, tilt, 0.58, 0.26), fill=(28, 92, 58))
    bx, by = _to_px(pan - 0.2, tilt + 0.1)
    draw.text((bx, by), "BOARD", font=big, fill=(235, 235, 225))
    draw.text((bx, by + 70), "2x + 3 = 11", font=big, fill=(235, 235, 225))
    draw.text((bx, by + 130), "x = 4", font=big, fill=(235, 235, 225))
    # the teacher at the desk
    pan, tilt, _ = SCENE_SPOTS["teacher"]
    draw.rectangle(_box(pan, tilt - 0.12, 0.3, 0.1), fill=(120, 80, 45))  # desk
    draw.ellipse(_box(pan, tilt + 0.06, 0.07, 0.09), fill=(236, 196, 160))  # head
    draw.rectangle(_box(pan, tilt - 0.03, 0.1, 0.12), fill=(60, 70, 140))  # body
    tx, ty = _to_px(pan - 0.1, tilt + 0.17)
    draw.text((tx, ty), "TEACHER", font=big, fill=(40, 40, 40))
    # the class: rows of desks with pupils
    pan, tilt, _ = SCENE_SPOTS["class"]
    colours = ((200, 60, 60), (60, 140, 200), (230, 180, 40), (90, 170, 90))
    for row in range(3):
        for col in range(4):
            p = pan - 0.27 + col * 0.18
            t = tilt + 0.08 - row * 0.13
            draw.ellipse(_box(p, t + 0.035, 0.045, 0.055), fill=(236, 196, 160))
            draw.rectangle(_box(p, t - 0.01, 0.06, 0.05), fill=colours[(row + col) % 4])
            draw.rectangle(_box(p, t - 0.05, 0.14, 0.03), fill=(120, 80, 45))
    cx, cy = _to_px(pan - 0.08, tilt + 0.2)
    draw.text((cx, cy), "CLASS", font=big, fill=(40, 40, 40))
    # windows and a pan scale along the ceiling
    for p in (-0.95, 0.95):
        draw.rectangle(
            _box(p, 0.3, 0.2, 0.35), fill=(170, 210, 240), outline=(255, 255, 255), width=8
        )
    small = _font(28)
    for i in range(-10, 11):
        x, y = _to_px(i / 10, 0.8)
        draw.line((x, y, x, y + 30), fill=(90, 90, 90), width=3)
        if i % 5 == 0:
            draw.text((x + 6, y), f"{i / 10:+.1f}", font=small, fill=(90, 90, 90))
    return img


def render(
    camera_name: str,
    position: tuple[float, float, float],
    preset: str | None,
    moving: bool,
    clock: str,
    quality: int = 80,
) -> bytes:
    """A JPEG of what the camera sees at `position` (pan, tilt, zoom)."""
    pan, tilt, zoom = position
    fov = _FOV_WIDE + (_FOV_TELE - _FOV_WIDE) * zoom
    w = fov * _PX_PER_UNIT
    h = w * HEIGHT / WIDTH
    x, y = _to_px(pan, tilt)
    with _lock:  # Pillow images are not safe for concurrent crop from threads
        view = _panorama().crop((int(x - w / 2), int(y - h / 2), int(x + w / 2), int(y + h / 2)))
    view = view.resize((WIDTH, HEIGHT), Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(view)
    font = _font(16)
    draw.rectangle((0, HEIGHT - 48, WIDTH, HEIGHT), fill=(0, 0, 0))
    status = "MOVING" if moving else (f"preset: {preset}" if preset else "no preset")
    draw.text((8, HEIGHT - 44), f"{camera_name}   {clock}", font=font, fill=(255, 255, 255))
    draw.text(
        (8, HEIGHT - 23),
        f"PAN {pan:+.2f}  TILT {tilt:+.2f}  ZOOM {zoom:.2f}   {status}",
        font=font,
        fill=(255, 230, 0) if moving else (255, 255, 255),
    )
    cx, cy = WIDTH // 2, HEIGHT // 2
    draw.line((cx - 10, cy, cx + 10, cy), fill=(255, 0, 0), width=2)
    draw.line((cx, cy - 10, cx, cy + 10), fill=(255, 0, 0), width=2)
    comment = (
        f"pan={pan:.3f} tilt={tilt:.3f} zoom={zoom:.3f} "
        f"preset={preset or ''} moving={str(moving).lower()}"
    )
    out = io.BytesIO()
    view.save(out, "JPEG", quality=quality, comment=comment.encode())
    return out.getvalue()
