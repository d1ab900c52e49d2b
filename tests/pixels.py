"""Pixel helpers for tests: decode images, find the pixel of a map coordinate, compare renders."""

from __future__ import annotations

import io

import numpy as np
from numpy.typing import NDArray
from PIL import Image

BBox = tuple[float, float, float, float]


def rgba(data: bytes) -> NDArray[np.uint8]:
    """Decode any image to an (H, W, 4) uint8 array."""
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"), dtype=np.uint8).copy()


def pixel_of(x: float, y: float, extent: BBox, size: tuple[int, int]) -> tuple[int, int]:
    """(col, row) of the pixel containing map coordinate (x, y) for an image of ``size`` covering ``extent``."""
    width, height = size
    col = int((x - extent[0]) / (extent[2] - extent[0]) * width)
    row = int((extent[3] - y) / (extent[3] - extent[1]) * height)
    return col, row


def colour_at(image: NDArray[np.uint8], x: float, y: float, extent: BBox) -> tuple[int, ...]:
    """RGBA at map coordinate (x, y)."""
    col, row = pixel_of(x, y, extent, (image.shape[1], image.shape[0]))
    return tuple(int(v) for v in image[row, col])


def close(a: tuple[int, ...], b: tuple[int, ...], tol: int = 0) -> bool:
    """Whether two colours agree channel by channel within ``tol``."""
    return len(a) == len(b) and all(abs(x - y) <= tol for x, y in zip(a, b, strict=True))


def mismatch_fraction(a: NDArray[np.uint8], b: NDArray[np.uint8], tol: int = 0) -> float:
    """Fraction of pixels whose RGBA differ by more than ``tol`` in some channel."""
    assert a.shape == b.shape, (a.shape, b.shape)
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=-1)
    return float((diff > tol).mean())
