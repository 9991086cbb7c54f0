"""Benchmark: a whole migration with mailferry vs mbsync, OfflineIMAP, dsync, ceilings.

Builds a standard corpus on the rig's real Dovecot (SOURCE: maildir written directly by
the corpus generator; TARGET: sdbox, fsync off, on tmpfs: see bench/peers/machine.py)
and runs, against the same source and an emptied target each time:

- mailferry (``python -m mailferry migrate``, target login as the master user);
- mbsync (isync) and offlineimap (OfflineIMAP3): one process per user, in parallel;
- dsync (``doveadm backup -R`` via imapc; reference only: writes target storage itself);
- ceilings: pipelined FETCH of everything, MULTIAPPEND-only write of the same bytes.

For each: full-migration wall, msg/s, MB/s, peak RSS (GNU time), the CPU seconds of
the full run (the tool's processes, the source Dovecot, the target Dovecot), no-op
re-run time, time after adding 100 messages per user, fidelity (bench/peers/fidelity.py)
after the full and the incremental run. Then the issue's bar lines, and for the small
corpus the least time any migration through our IMAP layer can take on this machine:
the read and the write ceiling's CPU together, spread over all its cores.

Run: ``bash scripts/bench-setup.sh`` once, then
``python bench/migrate.py [--corpus small|large|both] [--tools mailferry,mbsync,...]``.
Not a test: it prints figures (and writes them as JSON with ``--json``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.peers import corpora, dsync, mailferry_cli, mbsync, offlineimap  # noqa: E402
from bench.peers.context import HOST, MASTER_PASSWORD, MASTER_USER, RunContext  # noqa: E402
from bench.peers.fidelity import (  # noqa: E402
    FidelityReport,
    MessageFacts,
    SkipRule,
    Snapshot,
    compare,
    merge,
    snapshot,
)
from bench.peers.machine import memory_tempdir, server_cpu  # noqa: E402
from bench.peers.report import Row, bars, table  # noqa: E402
from bench.peers.runner import Measured, run_parallel  # noqa: E402

from mailferry.connection.auth import Credentials  # noqa: E402
from mailferry.connection.options import ConnectOptions  # noqa: E402
from mailferry.rig.dovecot import DovecotServer, make_ca  # noqa: E402
from mailferry.values.connection import Security  # noqa: E402

T = TypeVar("T")
ALL_TOOLS = ("ceilings", "mailferry", "mbsync", "offlineimap", "dsync")
Snapshots = dict[str, Snapshot]


@dataclass(frozen=True)
class Tool:
    name: str
    commands: Callable[[RunContext], list[list[str]]]
    skip: SkipRule | None = None
    skip_reason: str = ""
    available: Callable[[], bool] = lambda: True
    report_note: Callable[[RunContext], str] | None = None


def _large_item(folder: str, facts: MessageFacts) -> bool:
    """mailferry's documented default: messages over 35 MiB are skipped (LargeItem)."""
    return facts.size > corpora.MAILFERRY_MAX_MESSAGE


TOOLS = {
    "mailferry": Tool(
        "mailferry",
        mailferry_cli.commands,
        _large_item,
        mailferry_cli.LARGE_ITEM_REASON,
        mailferry_cli.available,
        mailferry_cli.report_note,
    ),
    "mbsync": Tool("mbsync", mbsync.commands),
    "offlineimap": Tool("offlineimap", offlineimap.commands),
    "dsync": Tool("dsync (reference)", dsync.commands),
}


@dataclass
class Bench:
    source: DovecotServer
    target: DovecotServer
    corpus: corpora.Corpus
    workroot: Path
    timeout: float
    scale: float = 1.0
    base: Snapshots | None = None
    plus: Snapshots | None = None

    # -- helpers -----------------------------------------------------------------

    def context(self, tool: str) -> RunContext:
        workdir = self.workroot / tool.split()[0]
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        return RunContext(
            self.corpus,
            self.source.imap_port,
            self.target.imap_port,
            self.target.config_path,
            workdir,
        )

    def empty_target(self) -> None:
        for user in self.corpus.users:
            self.target.doveadm("kick", user.name, check=False)
            self.target.reset_user(user.name)

    def snapshots(self, server: DovecotServer) -> Snapshots:
        options = ConnectOptions(HOST, server.imap_port, Security.NONE, command_timeout=600)
        return {
            u.name: asyncio.run(snapshot(options, Credentials(u.name, u.password)))
            for u in self.corpus.users
        }

    def fidelity(self, want: Snapshots, tool: Tool, row: Row | None = None) -> FidelityReport:
        got = self.snapshots(self.target)
        if row is not None:
            row.messages = sum(s.messages for s in got.values())
            row.bytes = sum(s.bytes for s in got.values())
        return merge(
            {
                name: compare(want[name], got[name], skip=tool.skip, skip_reason=tool.skip_reason)
                for name in want
            }
        )

    # -- runs --------------------------------------------------------------------

    def run_tool(self, tool: Tool) -> Row:
        row = Row(tool.name)
        if not tool.available():
            row.fidelity_full = "not yet available"
            return row
        ctx = self.context(tool.name)
        self.empty_target()
        assert self.base is not None
        row.full, row.server_cpu = self.with_server_cpu(lambda: self.measure(tool, ctx))
        if not row.full.ok:
            row.notes.append(f"full run {row.full.status}: {row.full.error}")
        if row.full.timed_out:
            return row
        if tool.report_note is not None:
            row.notes.append(tool.report_note(ctx))
        report = self.fidelity(self.base, tool, row)
        row.fidelity_full = report.summary()
        row.notes.extend(f"full: {line}" for line in report.examples())
        row.noop = self.measure(tool, ctx)
        added = corpora.add_messages(self.source, self.corpus)
        try:
            if self.plus is None:
                self.plus = self.snapshots(self.source)
            row.incremental = self.measure(tool, ctx)
            if not row.incremental.timed_out:
                report = self.fidelity(self.plus, tool)
                row.fidelity_incremental = report.summary()
                row.notes.extend(f"+100: {line}" for line in report.examples())
        finally:
            corpora.remove_files(added)
        for name, run in (("no-op", row.noop), ("+100", row.incremental)):
            if run is not None and not run.ok:
                row.notes.append(f"{name} run {run.status}: {run.error}")
        return row

    def with_server_cpu(self, run: Callable[[], T]) -> tuple[T, tuple[float, float]]:
        """``run()`` and the CPU seconds the source and the target Dovecot spent meanwhile."""
        before = server_cpu(self.source.pid), server_cpu(self.target.pid)
        result = run()
        time.sleep(0.3)  # let the sessions' processes end and be reaped
        after = server_cpu(self.source.pid), server_cpu(self.target.pid)
        return result, ((after[0] - before[0]).total, (after[1] - before[1]).total)

    def measure(self, tool: Tool, ctx: RunContext) -> Measured:
        return run_parallel(tool.commands(ctx), timeout=self.timeout, cwd=REPO)

    def run_ceilings(self) -> list[Row]:
        rows = []
        for op, server in (("read", self.source), ("write", self.target)):
            row = Row(f"ceiling: {op}")
            if op == "write":
                self.empty_target()
            (measured, figures), row.server_cpu = self.with_server_cpu(
                partial(self.ceiling, op, server)
            )
            row.full = measured
            row.messages, row.bytes = figures
            if not measured.ok:
                row.notes.append(f"{measured.status}: {measured.error[-400:]}")
            elif op == "write":
                assert self.base is not None
                tool = Tool("ceiling", lambda ctx: [], _large_item, "> 35 MiB (not written)")
                row.fidelity_full = self.fidelity(self.base, tool).summary()
                row.notes.append("RSS includes the whole corpus, preloaded before the clock")
            rows.append(row)
        return rows

    def ceiling(self, op: str, server: DovecotServer) -> tuple[Measured, tuple[int, int]]:
        command = [
            sys.executable,
            "-m",
            "bench.peers.ceilings",
            op,
            "--corpus",
            self.corpus.name,
            "--port",
            str(server.imap_port),
            "--scale",
            str(self.scale),
        ]
        with tempfile.NamedTemporaryFile("w+", suffix=".json") as out:
            measured = run_parallel(
                [["sh", "-c", '"$@" > ' + out.name, "sh", *command]],
                timeout=self.timeout,
                cwd=REPO,
            )
            text = Path(out.name).read_text().strip()
        if not measured.ok or not text:
            return measured, (0, 0)
        figures = json.loads(text.splitlines()[-1])
        timed = Measured(figures["seconds"], measured.peak_rss_mb, True, cpu=figures["cpu"])
        return timed, (figures["messages"], figures["bytes"])


def run_corpus(args: argparse.Namespace, corpus: corpora.Corpus, root: Path) -> list[Row]:
    with memory_tempdir(f"mailferry-bench-{corpus.name}-target-") as memory:
        target_root = Path(memory)
        target_root.chmod(0o755)
        return _run_corpus(args, corpus, root, target_root)


def _run_corpus(
    args: argparse.Namespace, corpus: corpora.Corpus, root: Path, target_root: Path
) -> list[Row]:
    ca = make_ca(root / "ca")
    source = DovecotServer(root / "source", ca, name="source", storage="maildir", fsync=False)
    target = DovecotServer(
        target_root / "target", ca, name="target", storage=args.target_storage, fsync=False
    )
    for server in (source, target):
        server.add_master_user(MASTER_USER, MASTER_PASSWORD)
        for user in corpus.users:
            server.add_user(user.name, user.password)
    with source, target:
        started = time.monotonic()
        stats = corpora.build(source, corpus)
        print(
            f"[{corpus.name}] corpus: {stats.messages} messages, {stats.bytes / 1e6:.0f} MB, "
            f"big ones {list(stats.largest)} B, written in {time.monotonic() - started:.0f} s",
            flush=True,
        )
        bench = Bench(source, target, corpus, root / "work", args.timeout, args.scale)
        started = time.monotonic()
        bench.base = bench.snapshots(source)  # also builds the source's indexes
        print(f"[{corpus.name}] source snapshot {time.monotonic() - started:.0f} s", flush=True)
        rows: list[Row] = []
        for name in args.tools:
            started = time.monotonic()
            if name == "ceilings":
                rows.extend(bench.run_ceilings())
            else:
                try:
                    rows.append(bench.run_tool(TOOLS[name]))
                except Exception as exc:  # one tool's failure must not end the benchmark
                    rows.append(Row(TOOLS[name].name, fidelity_full=f"harness error: {exc!r}"))
            print(f"[{corpus.name}] {name} done in {time.monotonic() - started:.0f} s", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=("small", "large", "both"), default="both")
    parser.add_argument("--tools", default=",".join(ALL_TOOLS))
    parser.add_argument("--timeout", type=float, default=1800.0, help="per run, seconds")
    parser.add_argument("--target-storage", choices=("sdbox", "mdbox"), default="sdbox")
    parser.add_argument("--scale", type=float, default=1.0, help="<1: a quick trial")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    args.tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = set(args.tools) - set(ALL_TOOLS)
    if unknown:
        parser.error(f"unknown tools {sorted(unknown)}; choose from {', '.join(ALL_TOOLS)}")
    names = ("small", "large") if args.corpus == "both" else (args.corpus,)
    results: dict[str, list[dict[str, object]]] = {}
    outputs = []
    for name in names:
        with tempfile.TemporaryDirectory(prefix=f"mailferry-bench-{name}-") as tmp:
            root = Path(tmp)
            root.chmod(0o755)
            rows = run_corpus(args, corpora.CORPORA[name](args.scale), root)
        text = table(name, rows) + "\n" + "\n".join(bars(name, rows))
        print(text, flush=True)
        outputs.append(text)
        results[name] = [row.as_dict() for row in rows]
    if len(outputs) > 1:
        print("\n\n".join(outputs))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
