"""The rows of the benchmark, the printed table and the issue's bar lines."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from bench.peers.runner import Measured

RSS_BAR_MB = 150.0
NOOP_BAR_S = 1.0
CEILING_FACTOR = 1.25


@dataclass
class Row:
    tool: str
    full: Measured | None = None
    messages: int = 0  # what landed (target snapshot) or what the ceiling moved
    bytes: int = 0
    noop: Measured | None = None
    incremental: Measured | None = None
    fidelity_full: str = "-"
    fidelity_incremental: str = "-"
    notes: list[str] = field(default_factory=list)
    server_cpu: tuple[float, float] = (0.0, 0.0)  # source, target Dovecot during the full run

    @property
    def cpu_total(self) -> float:
        """CPU seconds of the full run: the tool's processes and both servers."""
        client = self.full.cpu if self.full is not None else 0.0
        return client + sum(self.server_cpu)

    @property
    def peak_rss_mb(self) -> float:
        runs = [m for m in (self.full, self.noop, self.incremental) if m is not None]
        return max((m.peak_rss_mb for m in runs), default=0.0)

    def as_dict(self) -> dict[str, object]:
        return asdict(self) | {"peak_rss_mb": self.peak_rss_mb}


def _secs(m: Measured | None) -> str:
    if m is None:
        return "-"
    if m.timed_out:
        return m.status
    return f"{m.seconds:.2f}" + ("" if m.ok else "!")


def table(corpus: str, rows: Sequence[Row]) -> str:
    header = (
        f"{'tool':<22}{'wall s':>9}{'msg/s':>8}{'MB/s':>7}{'RSS MB':>8}"
        f"{'CPU s tool/src/tgt':>20}{'no-op s':>9}{'+100 s':>8}  fidelity (full | +100)"
    )
    lines = [f"== corpus: {corpus} ==", header, "-" * len(header)]
    footer = (
        "  (s! = the tool exited with an error but finished; see its notes)\n"
        "  (CPU s: user + system seconds of the full run: the tool, the source Dovecot, "
        "the target Dovecot)"
    )
    for row in rows:
        full = row.full
        if full is not None and not full.timed_out and full.seconds > 0:
            rate = f"{row.messages / full.seconds:>8.0f}{row.bytes / 1e6 / full.seconds:>7.1f}"
        else:
            rate = f"{'-':>8}{'-':>7}"
        known = row.full is not None and not row.full.timed_out
        rss = f"{row.peak_rss_mb:>8.0f}" if known else f"{'-':>8}"
        lines.append(
            f"{row.tool:<22}{_secs(full):>9}{rate}{rss}{_cpu(row):>20}{_secs(row.noop):>9}"
            f"{_secs(row.incremental):>8}  {row.fidelity_full} | {row.fidelity_incremental}"
        )
    lines.append(footer)
    for row in rows:
        for note in row.notes:
            lines.append(f"  {row.tool}: {note}")
    return "\n".join(lines)


def _floor_lines(rows: Sequence[Row], limit: float) -> list[str]:
    floor = cpu_floor(rows)
    if floor is None:
        return []
    cpu, wall = floor
    cores = os.cpu_count() or 1
    verdict = "out of reach on this machine" if wall > limit else "reachable"
    return [
        f"  floor: reading and writing it all (the two ceilings) costs {cpu:.1f} CPU s; "
        f"on {cores} cores that is >= {wall:.1f} s: the {limit:.1f} s bar is {verdict}"
    ]


def _cpu(row: Row) -> str:
    if row.full is None or row.full.timed_out:
        return "-"
    source, target = row.server_cpu
    return f"{row.full.cpu:.1f}/{source:.1f}/{target:.1f}"


def cpu_floor(rows: Sequence[Row], cores: int | None = None) -> tuple[float, float] | None:
    """(CPU seconds, wall seconds): the least any migration through our IMAP layer needs.

    It must read everything (the read ceiling: our client and the source Dovecot) and
    write everything (the write ceiling: our client and the target Dovecot); with all
    the machine's cores busy the whole time, that CPU takes at least CPU / cores.
    """
    by = {row.tool: row for row in rows}
    ceilings = [by.get("ceiling: read"), by.get("ceiling: write")]
    if any(c is None or c.full is None or not c.full.ok for c in ceilings):
        return None
    cpu = sum(c.cpu_total for c in ceilings if c is not None)
    return cpu, cpu / (cores or os.cpu_count() or 1)


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def bars(corpus: str, rows: Sequence[Row]) -> list[str]:
    """The issue's bars that this corpus can decide."""
    by = {row.tool: row for row in rows}
    ours = by.get("mailferry")
    if ours is None or ours.full is None or not ours.full.ok:
        why = "not run" if ours is None or ours.full is None else ours.full.status
        return [f"bar [{corpus}]: mailferry {why}: bars not decided"]
    lines = []
    wall = ours.full.seconds
    if corpus == "small":
        ceiling = by.get("ceiling: write")
        if ceiling is not None and ceiling.full is not None and ceiling.full.ok:
            limit = CEILING_FACTOR * ceiling.full.seconds
            lines.append(
                f"bar [small]: full migration {wall:.1f} s <= {CEILING_FACTOR} x MULTIAPPEND "
                f"ceiling {ceiling.full.seconds:.1f} s = {limit:.1f} s: {_verdict(wall <= limit)}"
            )
            lines.extend(_floor_lines(rows, limit))
        for peer in ("mbsync", "offlineimap"):
            other = by.get(peer)
            if other is None or other.full is None:
                continue
            if not other.full.timed_out:
                faster = wall < other.full.seconds
                lines.append(
                    f"bar [small]: faster than {peer} ({wall:.1f} s vs "
                    f"{other.full.seconds:.1f} s): {_verdict(faster)}"
                )
            else:
                lines.append(f"bar [small]: faster than {peer}: {peer} {other.full.status}")
        exact = ours.fidelity_full.startswith("OK") and ours.fidelity_incremental.startswith("OK")
        lines.append(
            f"bar [small]: byte-exact with all flags and keywords "
            f"({ours.fidelity_full} | {ours.fidelity_incremental}): {_verdict(exact)}"
        )
    if corpus == "large" and ours.noop is not None:
        noop = ours.noop.seconds
        lines.append(
            f"bar [large]: no-op re-run of the 100,000-message user {noop:.2f} s "
            f"<= {NOOP_BAR_S} s: {_verdict(ours.noop.ok and noop <= NOOP_BAR_S)}"
        )
    rss = ours.peak_rss_mb
    lines.append(
        f"bar [{corpus}]: peak RSS {rss:.0f} MB <= {RSS_BAR_MB:.0f} MB: "
        f"{_verdict(rss <= RSS_BAR_MB)}"
    )
    return lines
