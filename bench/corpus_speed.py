"""How fast the corpus generator fills a Maildir: 100,000 messages by default.

    python bench/corpus_speed.py [--messages N] [--dir PATH] [--seed S]

Writes into a fresh temporary directory (on /dev/shm when it exists, so the figure is
the generator's, not the disk's; pass --dir to measure a real disk) and removes it.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from mailferry.rig import CorpusSpec, generate, write_maildir
from mailferry.rig.textpool import warm_up


def _default_parent() -> str | None:
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", default=_default_parent(), help="parent of the temp dir")
    args = parser.parse_args()

    spec = CorpusSpec(seed=args.seed, messages=args.messages)
    started = time.perf_counter()
    warm_up()
    pools = time.perf_counter() - started
    target = Path(tempfile.mkdtemp(prefix="corpus-speed-", dir=args.dir))
    try:
        started = time.perf_counter()
        stats = write_maildir(target / "Maildir", generate(spec))
        elapsed = time.perf_counter() - started
    finally:
        shutil.rmtree(target, ignore_errors=True)
    print(f"directory      {target.parent}")
    print(f"text pools     {pools:.2f} s (once per process)")
    print(f"messages       {stats.messages:,} in {len(stats.folders)} folders")
    print(f"bytes          {stats.bytes / 1e6:,.1f} MB")
    print(f"elapsed        {elapsed:.1f} s")
    print(
        f"throughput     {stats.messages / elapsed:,.0f} messages/s, "
        f"{stats.bytes / elapsed / 1e6:,.1f} MB/s"
    )


if __name__ == "__main__":
    main()
