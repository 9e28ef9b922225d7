"""A thermal frame as a PNG an operator can read at a glance: black through red and yellow to
white as it gets hotter. Written with numpy and zlib, so the API needs no imaging library."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import numpy.typing as npt

# Anchor colours of the scale, coolest first (an "iron" palette, as thermal cameras show).
_ANCHORS = np.array(
    [[0, 0, 0], [40, 0, 90], [150, 0, 140], [230, 60, 30], [250, 170, 0], [255, 255, 210]],
    dtype=np.float64,
)
_PALETTE = np.stack(
    [
        np.interp(np.linspace(0, 1, 256), np.linspace(0, 1, len(_ANCHORS)), _ANCHORS[:, c])
        for c in range(3)
    ],
    axis=1,
).astype(np.uint8)


def colourise(
    temps: npt.NDArray[np.floating], *, low: float | None = None, high: float | None = None
) -> npt.NDArray[np.uint8]:
    """(h, w) °C to (h, w, 3) RGB. The scale spans the frame unless fixed by ``low``/``high``,
    so two frames can be compared on the same scale."""
    finite = temps[np.isfinite(temps)]
    lo = low if low is not None else float(finite.min()) if finite.size else 0.0
    hi = high if high is not None else float(finite.max()) if finite.size else lo + 1.0
    span = max(hi - lo, 1e-6)
    index = np.clip((np.nan_to_num(temps, nan=lo) - lo) / span * 255.0, 0, 255).astype(np.uint8)
    rgb: npt.NDArray[np.uint8] = _PALETTE[index]
    return rgb


def png(rgb: npt.NDArray[np.uint8]) -> bytes:
    """An 8-bit RGB PNG: signature, IHDR, one IDAT of filter-0 rows, IEND."""
    height, width, _ = rgb.shape
    rows = np.concatenate([np.zeros((height, 1), np.uint8), rgb.reshape(height, -1)], axis=1)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
        + chunk(b"IEND", b"")
    )
