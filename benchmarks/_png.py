"""A small PNG bar-chart renderer (stdlib only), used when matplotlib is not installed.

Layer: called by `benchmarks.chart` with the same panels it gives matplotlib. Draws grouped
bars (log or linear scale), min-max whiskers, group labels, a legend and values, with a
built-in 3x5 pixel font scaled up. Output is a valid 8-bit RGB PNG.
"""

from __future__ import annotations

import math
import struct
import zlib
from typing import Any

# 3x5 glyphs, rows top to bottom, "1" = ink.
_FONT = {
    "0": "111101101101111",
    "1": "010110010010111",
    "2": "111001111100111",
    "3": "111001111001111",
    "4": "101101111001001",
    "5": "111100111001111",
    "6": "111100111101111",
    "7": "111001001001001",
    "8": "111101111101111",
    "9": "111101111001111",
    "A": "010101111101101",
    "B": "110101110101110",
    "C": "011100100100011",
    "D": "110101101101110",
    "E": "111100110100111",
    "F": "111100110100100",
    "G": "011100101101011",
    "H": "101101111101101",
    "I": "111010010010111",
    "J": "001001001101010",
    "K": "101101110101101",
    "L": "100100100100111",
    "M": "101111111101101",
    "N": "110101101101101",
    "O": "010101101101010",
    "P": "110101110100100",
    "Q": "010101101110011",
    "R": "110101110101101",
    "S": "011100010001110",
    "T": "111010010010010",
    "U": "101101101101111",
    "V": "101101101101010",
    "W": "101101111111101",
    "X": "101101010101101",
    "Y": "101101010010010",
    "Z": "111001010100111",
    " ": "000000000000000",
    ".": "000000000000010",
    ",": "000000000010100",
    "-": "000000111000000",
    "+": "000010111010000",
    "(": "001010010010001",
    ")": "100010010010100",
    "/": "001001010100100",
    "_": "000000000000111",
    ":": "000010000010000",
    ";": "000010000010100",
    "%": "101001010100101",
    "=": "000111000111000",
    "?": "111001010000010",
}
_ALIASES = {"µ": "U"}
Color = tuple[int, int, int]
BLACK: Color = (30, 30, 30)
GREY: Color = (200, 200, 200)


class Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(b"\xff" * (width * height * 3))

    def rect(self, x0: int, y0: int, x1: int, y1: int, color: Color) -> None:
        x0, x1 = max(0, min(x0, x1)), min(self.width, max(x0, x1))
        y0, y1 = max(0, min(y0, y1)), min(self.height, max(y0, y1))
        row = bytes(color) * (x1 - x0)
        for y in range(y0, y1):
            start = (y * self.width + x0) * 3
            self.pixels[start : start + len(row)] = row

    def text(self, x: int, y: int, text: str, color: Color = BLACK, scale: int = 2) -> int:
        """Draw text with its top-left at (x, y); returns the width drawn."""
        for index, char in enumerate(text):
            glyph = _FONT.get(_ALIASES.get(char, char.upper()), _FONT["?"])
            left = x + index * 4 * scale
            for bit, ink in enumerate(glyph):
                if ink == "1":
                    gx, gy = left + (bit % 3) * scale, y + (bit // 3) * scale
                    self.rect(gx, gy, gx + scale, gy + scale, color)
        return len(text) * 4 * scale

    def png(self) -> bytes:
        def chunk(kind: bytes, data: bytes) -> bytes:
            body = kind + data
            return (
                struct.pack(">I", len(data))
                + body
                + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
            )

        stride = self.width * 3
        raw = b"".join(
            b"\x00" + bytes(self.pixels[y * stride : (y + 1) * stride]) for y in range(self.height)
        )
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b"")
        )


def _hex(color: str) -> Color:
    return (int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16))


def _fmt(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def _panel(canvas: Canvas, top: int, spec: dict[str, Any], colors: dict[str, str]) -> None:
    left, right, plot_top, plot_bottom = 60, canvas.width - 20, top + 30, top + 200
    canvas.text(left, top + 8, spec["title"])
    values = [v for _, bars in spec["groups"] for _, *vals in bars for v in vals if v > 0]
    high = max(values, default=1.0)
    low = min(values, default=1.0)
    if spec["log"]:
        floor = 10 ** math.floor(math.log10(low))
        span = math.log10(high * 1.2) - math.log10(floor)

        def scale(v: float) -> float:
            return (math.log10(max(v, floor)) - math.log10(floor)) / span if v > 0 else 0.0

    else:
        span = high * 1.15

        def scale(v: float) -> float:
            return v / span

    canvas.rect(left, plot_bottom, right, plot_bottom + 1, BLACK)
    canvas.rect(left, plot_top, left + 1, plot_bottom, BLACK)
    canvas.text(4, plot_top, _fmt(high), scale=1)
    height = plot_bottom - plot_top
    group_width = (right - left) / max(len(spec["groups"]), 1)
    for g, (label, bars) in enumerate(spec["groups"]):
        gx = left + g * group_width
        bar_width = int(group_width * 0.8 / max(len(bars), 1))
        canvas.text(int(gx + group_width * 0.1), plot_bottom + 6, label)
        for b, (client, median, minimum, maximum) in enumerate(bars):
            x = int(gx + group_width * 0.1 + b * bar_width)
            if median <= 0:
                canvas.text(x + 1, plot_bottom - 8, "NA", scale=1)
                continue
            y = plot_bottom - int(scale(median) * height)
            canvas.rect(
                x + 1, y, x + bar_width - 1, plot_bottom, _hex(colors.get(client, "#888888"))
            )
            whisker_top = plot_bottom - int(scale(maximum) * height)
            whisker_bottom = plot_bottom - int(scale(minimum) * height)
            mid = x + bar_width // 2
            canvas.rect(mid, whisker_top, mid + 1, whisker_bottom + 1, BLACK)
            canvas.text(x + 1, max(y - 8, plot_top - 6), _fmt(median), scale=1)


def render(specs: list[dict[str, Any]], colors: dict[str, str]) -> bytes:
    """PNG bytes for the panels (title, groups of (client, median, min, max), log flag)."""
    width, panel_height, legend = 1000, 230, 40
    canvas = Canvas(width, legend + panel_height * len(specs))
    x = 60
    clients = (
        [client for client, *_ in specs[0]["groups"][0][1]] if specs and specs[0]["groups"] else []
    )
    for client in clients:
        canvas.rect(x, 14, x + 12, 26, _hex(colors.get(client, "#888888")))
        x += 18 + canvas.text(x + 18, 15, client) + 20
    for index, spec in enumerate(specs):
        _panel(canvas, legend + index * panel_height, spec, colors)
    return canvas.png()
