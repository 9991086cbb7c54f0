"""Small charts as inline SVG, drawn here on the server (no script, no library).

``progress_chart`` takes a batch's users' statistics views and draws, over time, the
items and bytes synced so far (each user counted at its last successful sync), and the
throughput (bytes per second between those moments, in up to ``BUCKETS`` bars). The
markup is built from numbers and fixed words only; labels are escaped anyway.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from mailferry.interfaces.web.render import size

WIDTH, HEIGHT = 600, 180
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 14, 26
BUCKETS = 20


@dataclass(frozen=True)
class Point:
    at: dt.datetime
    items: int
    bytes: int


def progress_points(users: Iterable[Mapping[str, Any]]) -> list[Point]:
    """Cumulative (time, items, bytes) at each user's last successful sync, in order."""
    found = []
    for user in users:
        stamp = user.get("LastSuccessfulSyncTimestamp") or user.get("LastSuccessfulSyncTime")
        if not stamp:
            continue
        at = dt.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
        found.append(
            (at, int(user.get("SyncedItemCount") or 0), int(user.get("BytesTransferred") or 0))
        )
    found.sort(key=lambda f: f[0])
    points, items, total = [], 0, 0
    for at, n, b in found:
        items, total = items + n, total + b
        points.append(Point(at, items, total))
    return points


def progress_chart(users: Iterable[Mapping[str, Any]]) -> Markup | None:
    """Two SVG charts (progress, throughput); None with fewer than one synced user."""
    points = progress_points(users)
    if not points:
        return None
    return Markup(_line_chart(points) + _throughput_chart(points))


def _x(at: dt.datetime, start: dt.datetime, span: float) -> float:
    return LEFT + (WIDTH - LEFT - RIGHT) * ((at - start).total_seconds() / span)


def _y(value: float, top: float) -> float:
    return HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * (value / top if top else 0)


def _frame(title: str, y_top: str, start: dt.datetime, end: dt.datetime) -> str:
    plot_bottom = HEIGHT - BOTTOM
    return (
        f"<title>{escape(title)}</title>"
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{plot_bottom}" stroke="#9aa6b8"/>'
        f'<line x1="{LEFT}" y1="{plot_bottom}" x2="{WIDTH - RIGHT}" y2="{plot_bottom}" '
        'stroke="#9aa6b8"/>'
        f'<text x="{LEFT - 4}" y="{TOP + 8}" text-anchor="end">{escape(y_top)}</text>'
        f'<text x="{LEFT - 4}" y="{plot_bottom}" text-anchor="end">0</text>'
        f'<text x="{LEFT}" y="{HEIGHT - 8}">{start:%H:%M:%S}</text>'
        f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 8}" text-anchor="end">{end:%H:%M:%S} UTC</text>'
    )


def _svg(label: str, body: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">{body}</svg>'
    )


def _span(points: Sequence[Point]) -> tuple[dt.datetime, dt.datetime, float]:
    start, end = points[0].at, points[-1].at
    if start == end:
        start = end - dt.timedelta(seconds=1)
    return start, end, (end - start).total_seconds()


def _line_chart(points: Sequence[Point]) -> str:
    start, end, span = _span(points)
    top_items, top_bytes = max(points[-1].items, 1), max(points[-1].bytes, 1)
    first = [Point(start, 0, 0), *points]
    items = " ".join(f"{_x(p.at, start, span):.1f},{_y(p.items, top_items):.1f}" for p in first)
    volume = " ".join(f"{_x(p.at, start, span):.1f},{_y(p.bytes, top_bytes):.1f}" for p in first)
    label = (
        f"Progress over time: {points[-1].items} items and {size(points[-1].bytes)} synced "
        f"by {len(points)} users"
    )
    body = (
        _frame("Items and bytes synced over time", f"{points[-1].items:,}", start, end)
        + f'<polyline fill="none" stroke="#1f5fbf" stroke-width="2" points="{items}"/>'
        + f'<polyline fill="none" stroke="#1e7a3c" stroke-width="2" stroke-dasharray="5 3" '
        f'points="{volume}"/>'
    )
    return _svg(label, body)


def _throughput_chart(points: Sequence[Point]) -> str:
    start, end, span = _span(points)
    width = span / BUCKETS
    sums = [0] * BUCKETS
    previous = 0
    for p in points:
        index = min(int((p.at - start).total_seconds() / width), BUCKETS - 1)
        sums[index] += p.bytes - previous
        previous = p.bytes
    rates = [s / width for s in sums]
    top = max(max(rates), 1.0)
    bar = (WIDTH - LEFT - RIGHT) / BUCKETS
    bars = "".join(
        f'<rect x="{LEFT + i * bar + 1:.1f}" y="{_y(r, top):.1f}" width="{bar - 2:.1f}" '
        f'height="{HEIGHT - BOTTOM - _y(r, top):.1f}" fill="#7aa3e0"/>'
        for i, r in enumerate(rates)
    )
    label = f"Throughput: up to {size(top)} per second"
    return _svg(label, _frame("Throughput (bytes per second)", f"{size(top)}/s", start, end) + bars)
