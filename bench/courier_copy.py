"""Benchmark: mailferry copying the small corpus from Courier IMAP next to from Dovecot.

The same corpus (bench/peers/corpora.py, ``small``; ``--scale`` shrinks it) is put on
a Dovecot source (Maildir written directly, as bench/migrate.py does) and on the rig's
Courier IMAP (filled over APPEND, which takes a while: Courier keeps keywords in files of
its own). The target is Dovecot (sdbox, fsync off, on tmpfs), emptied before each row.
Rows, each a ``python -m mailferry migrate`` of all users at once (the CLI's defaults):

- Dovecot -> Dovecot: per-user logins;
- Courier -> Dovecot: per-user logins (Courier's ``INBOX.`` prefix dropped on the way);
- Courier (UserRoot) -> Dovecot: ``mailadmin`` plus ``/users/<name>``, each user's
  tree read from the admin's virtual shared folders (``#shared.users.<name>``).

For each: wall, msg/s, MB/s, peak RSS, CPU seconds (mailferry / source server / target
Dovecot), a no-op re-run, and fidelity against the source as its owner reads it.
Run: ``python bench/courier_copy.py [--scale 0.1] [--json out.json]``. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.peers import corpora, mailferry_cli  # noqa: E402
from bench.peers.context import HOST, MASTER_PASSWORD, MASTER_USER, RunContext  # noqa: E402
from bench.peers.fidelity import MessageFacts, Snapshot, compare, merge, snapshot  # noqa: E402
from bench.peers.machine import memory_tempdir, server_cpu  # noqa: E402
from bench.peers.report import Row, table  # noqa: E402
from bench.peers.runner import run_parallel  # noqa: E402

from mailferry.connection.auth import Credentials  # noqa: E402
from mailferry.connection.options import ConnectOptions  # noqa: E402
from mailferry.rig import CourierServer, DovecotServer, make_ca  # noqa: E402
from mailferry.values.connection import Security  # noqa: E402

ADMIN, ADMIN_PASSWORD = "mailadmin", "mailadmin-pw"
CSV_HEADER = ["EmailAddress", "UserName", "Password", "UserRoot"]
LARGE = "> 35 MiB (LargeItem)"
Snapshots = dict[str, Snapshot]
Logins = list[list[str]]


def _large_item(folder: str, facts: MessageFacts) -> bool:
    return facts.size > corpora.MAILFERRY_MAX_MESSAGE


def _unprefixed(shot: Snapshot) -> Snapshot:
    """Courier's folders as the target holds them: ``INBOX/Sent`` is ``Sent``."""
    return Snapshot({k.removeprefix("INBOX/") or k: v for k, v in shot.folders.items()})


def snapshots(
    port: int, corpus: corpora.Corpus, rename: Callable[[Snapshot], Snapshot]
) -> Snapshots:
    options = ConnectOptions(HOST, port, Security.NONE, command_timeout=600)
    return {
        u.name: rename(asyncio.run(snapshot(options, Credentials(u.name, u.password))))
        for u in corpus.users
    }


class CopyBench:
    def __init__(self, target: DovecotServer, corpus: corpora.Corpus, work: Path, timeout: float):
        self.target, self.corpus, self.work, self.timeout = target, corpus, work, timeout

    def row(
        self, key: str, label: str, port: int, pid: int, want: Snapshots, logins: Logins
    ) -> Row:
        workdir = self.work / key
        ctx = RunContext(self.corpus, port, self.target.imap_port, self.target.config_path, workdir)
        workdir.mkdir(parents=True)
        with (workdir / "users.csv").open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([CSV_HEADER, *logins])
        for user in self.corpus.users:
            self.target.doveadm("kick", user.name, check=False)
            self.target.reset_user(user.name)
        commands = mailferry_cli.commands(ctx)
        before = server_cpu(pid), server_cpu(self.target.pid or 0)
        full = run_parallel(commands, timeout=self.timeout, cwd=REPO)
        time.sleep(0.3)  # let the sessions end and be reaped
        after = server_cpu(pid), server_cpu(self.target.pid or 0)
        row = Row(label, full=full)
        row.server_cpu = ((after[0] - before[0]).total, (after[1] - before[1]).total)
        got = snapshots(self.target.imap_port, self.corpus, lambda s: s)
        row.messages = sum(s.messages for s in got.values())
        row.bytes = sum(s.bytes for s in got.values())
        report = merge(
            {
                name: compare(want[name], got[name], skip=_large_item, skip_reason=LARGE)
                for name in want
            }
        )
        row.fidelity_full = report.summary()
        row.notes.extend(report.examples())
        row.notes.append(mailferry_cli.report_note(ctx))  # the full run's report
        row.noop = run_parallel(commands, timeout=self.timeout, cwd=REPO)
        if not full.ok:
            row.notes.append(f"full run {full.status}: {full.error}")
        return row


def run(args: argparse.Namespace, root: Path, target_root: Path) -> list[Row]:
    corpus = corpora.small_corpus(args.scale)
    ca = make_ca(root / "ca")
    source = DovecotServer(root / "source", ca, name="source", storage="maildir", fsync=False)
    target = DovecotServer(target_root / "target", ca, name="target", storage="sdbox", fsync=False)
    courier = CourierServer(root / "courier", ca)
    courier.add_user(ADMIN, ADMIN_PASSWORD, admin=True)
    for server in (source, target):
        server.add_master_user(MASTER_USER, MASTER_PASSWORD)
    for user in corpus.users:
        target.add_user(user.name, user.password)
        courier.add_user(user.name, user.password, shared_group="users")
    with source, target, courier:
        started = time.monotonic()
        stats = corpora.build(source, corpus)
        took = time.monotonic() - started
        print(f"corpus: {stats.messages} messages, {stats.bytes / 1e6:.0f} MB; {took:.0f} s")
        started = time.monotonic()
        for user in corpus.users:
            courier.fill(user.name, corpora.messages_of(user))
        print(f"Courier filled over APPEND in {time.monotonic() - started:.0f} s", flush=True)
        bench = CopyBench(target, corpus, root / "work", args.timeout)
        plain = [[u.name, u.name, u.password, ""] for u in corpus.users]
        rooted = [[u.name, ADMIN, ADMIN_PASSWORD, f"/users/{u.name}"] for u in corpus.users]
        dovecot_want = snapshots(source.imap_port, corpus, lambda s: s)
        courier_want = snapshots(courier.imap_port, corpus, _unprefixed)
        assert courier.pid is not None and source.pid is not None
        rows = []
        for key, label, port, pid, want, logins in (
            ("dovecot", "Dovecot -> Dovecot", source.imap_port, source.pid, dovecot_want, plain),
            ("courier", "Courier -> Dovecot", courier.imap_port, courier.pid, courier_want, plain),
            (
                "userroot",
                "Courier (UserRoot)",
                courier.imap_port,
                courier.pid,
                courier_want,
                rooted,
            ),
        ):
            started = time.monotonic()
            rows.append(bench.row(key, label, port, pid, want, logins))
            print(f"{label}: done in {time.monotonic() - started:.0f} s", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="<1: a quick trial")
    parser.add_argument("--timeout", type=float, default=1800.0, help="per run, seconds")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mailferry-bench-courier-") as tmp:
        root = Path(tmp)
        root.chmod(0o755)
        with memory_tempdir("mailferry-bench-courier-target-") as memory:
            Path(memory).chmod(0o755)
            rows = run(args, root, Path(memory))
    print(table("small" if args.scale == 1.0 else f"small x{args.scale:g}", rows), flush=True)
    if args.json:
        args.json.write_text(json.dumps([row.as_dict() for row in rows], indent=2, default=str))


if __name__ == "__main__":
    main()
