"""The wallet pass's icon and logo, drawn with Pillow from the member page's icon design
(web/icon.svg: a QR-like mark on the gym blue), so no image file ships with the package."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

__all__ = ["mark_png"]

_BLUE = (11, 79, 194, 255)
_WHITE = (255, 255, 255, 255)
_GRID = 64  # web/icon.svg's viewBox
# (x, y, size, colour) on the 64-unit grid, as in web/icon.svg.
_MARKS = (
    *((x, y, 16, _WHITE) for x, y in ((12, 12), (36, 12), (12, 36))),
    *((x, y, 8, _BLUE) for x, y in ((16, 16), (40, 16), (16, 40))),
    (38, 38, 5, _WHITE),
    (46, 38, 6, _WHITE),
    (38, 46, 6, _WHITE),
    (47, 47, 5, _WHITE),
)


def _mark(size: int) -> Image.Image:
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    scale = size / _GRID
    draw.rounded_rectangle((0, 0, size - 1, size - 1), radius=round(12 * scale), fill=_BLUE)
    for x, y, side, colour in _MARKS:
        box = (x * scale, y * scale, (x + side) * scale - 1, (y + side) * scale - 1)
        draw.rectangle(box, fill=colour)
    return image


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def mark_png(size: int) -> bytes:
    """The mark as a square PNG `size` pixels wide: Wallet's icon (29, 58, 87) and the logo
    beside the gym's name on the pass front (50, 100)."""
    return _png(_mark(size))
