"""Server-rendered SVG charts, written by hand (no library).

Why not a charting library: the pages are served with a strict Content-Security-Policy
(no inline ``<style>``/``<script>``). pygal, the maintained pure-Python SVG option, embeds
both in every chart (and by default loads its tooltip script from a CDN); matplotlib is
a 40 MB dependency for four bar charts. The four charts here are bars and columns drawn
with presentation attributes only: they work without JavaScript, inside the CSP, print,
scale, and carry a <title> for screen readers; the same numbers are in a table next to
each chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import count

from markupsafe import Markup, escape

PALETTE = ("#1f5fa8", "#e07b1a", "#3a9a4a", "#b8322c", "#7a52a3", "#8c6d1f", "#2b8c8c", "#c04f8f")
ON_TIME, LATE, PENDING = "#3a9a4a", "#e07b1a", "#9aa4ad"
_ids = count(1)
WIDTH = 640
ROW = 26
LABEL_W = 230


def _svg(title: str, height: int, body: str) -> Markup:
    ident = f"chart-{next(_ids)}"
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'role="img" aria-labelledby="{ident}" font-family="sans-serif" font-size="12">'
        f'<title id="{ident}">{escape(title)}</title>{body}</svg>'
    )


def _short(label: str, limit: int = 34) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def hbars(title: str, items: Sequence[tuple[str, int]], *, suffix: Sequence[str] = ()) -> Markup:
    """Horizontal bars, one per item, the value (and an optional suffix, e.g. a percentage) after it."""
    top = max((v for _, v in items), default=0) or 1
    span = WIDTH - LABEL_W - 90
    parts = []
    for i, (label, value) in enumerate(items):
        y = 8 + i * ROW
        w = round(span * value / top, 1)
        extra = f" ({suffix[i]})" if i < len(suffix) and suffix[i] else ""
        parts.append(
            f'<text x="{LABEL_W - 6}" y="{y + 15}" text-anchor="end" fill="#222">{escape(_short(label))}</text>'
            f'<rect x="{LABEL_W}" y="{y + 3}" width="{w}" height="{ROW - 8}" fill="{PALETTE[i % len(PALETTE)]}">'
            f"<title>{escape(label)}: {value}{escape(extra)}</title></rect>"
            f'<text x="{LABEL_W + w + 5}" y="{y + 15}" fill="#222">{value}{escape(extra)}</text>'
        )
    return _svg(title, 16 + max(1, len(items)) * ROW, "".join(parts))


def agency_bars(title: str, rows: Sequence[tuple[str, int, int, int]]) -> Markup:
    """Per agency: answered on time, answered late and still pending, stacked, with a legend."""
    top = max((a + b + c for _, a, b, c in rows), default=0) or 1
    span = WIDTH - LABEL_W - 60
    legend = "".join(
        f'<rect x="{LABEL_W + i * 120}" y="4" width="12" height="12" fill="{color}"/>'
        f'<text x="{LABEL_W + 16 + i * 120}" y="14" fill="#222">{name}</text>'
        for i, (name, color) in enumerate((("Đúng hạn", ON_TIME), ("Quá hạn", LATE), ("Đang xử lý", PENDING)))
    )
    parts = [legend]
    for i, (label, on_time, late, pending) in enumerate(rows):
        y, x = 26 + i * ROW, float(LABEL_W)
        parts.append(f'<text x="{LABEL_W - 6}" y="{y + 15}" text-anchor="end" fill="#222">'
                     f"{escape(_short(label))}</text>")
        segments = ((on_time, ON_TIME, "đúng hạn"), (late, LATE, "quá hạn"), (pending, PENDING, "đang xử lý"))
        for value, color, name in segments:
            w = round(span * value / top, 1)
            if w:
                parts.append(f'<rect x="{x}" y="{y + 3}" width="{w}" height="{ROW - 8}" fill="{color}">'
                             f"<title>{escape(label)}: {value} {name}</title></rect>")
            x += w
        parts.append(f'<text x="{x + 5}" y="{y + 15}" fill="#222">{on_time}/{on_time + late + pending}</text>')
    return _svg(title, 34 + max(1, len(rows)) * ROW, "".join(parts))


def columns(title: str, items: Sequence[tuple[str, int]]) -> Markup:
    """Vertical columns (received per week), labels under them."""
    height, base, left = 220, 180, 30
    top = max((v for _, v in items), default=0) or 1
    slot = (WIDTH - left - 10) / max(1, len(items))
    parts = [f'<line x1="{left}" y1="{base}" x2="{WIDTH - 10}" y2="{base}" stroke="#888"/>']
    for i, (label, value) in enumerate(items):
        h = round((base - 20) * value / top, 1)
        x = round(left + i * slot + slot * 0.15, 1)
        w = round(slot * 0.7, 1)
        parts.append(
            f'<rect x="{x}" y="{base - h}" width="{w}" height="{h}" fill="{PALETTE[0]}">'
            f"<title>{escape(label)}: {value}</title></rect>"
            f'<text x="{x + w / 2}" y="{base - h - 4}" text-anchor="middle" fill="#222" font-size="10">{value}</text>'
            f'<text x="{x + w / 2}" y="{base + 14}" text-anchor="middle" fill="#444" font-size="9">{i + 1}</text>'
        )
    parts.append(f'<text x="{WIDTH / 2}" y="{height - 8}" text-anchor="middle" fill="#444">Tuần trong kỳ</text>')
    return _svg(title, height, "".join(parts))
