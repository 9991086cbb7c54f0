"""The incremental phase: kills during a re-run that has real work to do.

Each round first migrates everything (uninterrupted), then changes the SOURCE: flags
toggled on a few per cent of the existing messages (``\\Flagged``, ``\\Seen``,
``\\Answered`` and a keyword, over IMAP, as a mail client would) and 100 new messages
per user (bench/peers/corpora.py ``add_messages``). The killed runs and the completing
run are then incremental syncs; the target must equal the changed source. The new
messages are removed again after the round (each round starts from a fresh target); the
flag changes stay, so the source drifts a little from round to round (it is read anew).
Where the toggling hits one of two byte-identical messages, their flags differ.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import imapclient
from bench.crash.rounds import Expected
from bench.crash.scenarios import Scenario
from bench.crash.views import TIMEOUT, Labels, expected, read_imap
from bench.crash.world import World
from bench.peers import corpora

TOGGLED = ("\\Flagged", "\\Seen", "\\Answered", "$CrashLoop")
FRACTION = 0.04


def source_expectation(world: World, lf: bool) -> Expected:
    labels = Labels()
    port = world.source.imap_port
    views = {
        u.name: expected(read_imap(port, u.name, u.password, lf=lf, labels=labels))
        for u in world.users
    }
    return Expected(views, labels)


def toggle_flags(world: World, rng: random.Random) -> int:
    """Flip one of TOGGLED on a random ``FRACTION`` of every folder; how many."""
    changed = 0
    for user in world.users:
        client = imapclient.IMAPClient(
            "127.0.0.1", port=world.source.imap_port, ssl=False, timeout=TIMEOUT
        )
        try:
            client.login(user.name, user.password)
            for _, _, folder in client.list_folders():
                changed += _toggle_folder(client, folder, rng)
        finally:
            client.logout()
    return changed


def _toggle_folder(client: imapclient.IMAPClient, folder: str, rng: random.Random) -> int:
    client.select_folder(folder)
    uids = client.search(["NOT", "DELETED"])
    picked = [uid for uid in uids if rng.random() < FRACTION]
    if not picked:
        return 0
    flags = client.get_flags(picked)
    for uid in picked:
        flag = rng.choice(TOGGLED)
        have = {f.decode() if isinstance(f, bytes) else str(f) for f in flags.get(uid, ())}
        if flag in have:
            client.remove_flags([uid], [flag])
        else:
            client.add_flags([uid], [flag])
    return len(picked)


def stage(world: World, timeout: float, seed: int) -> Callable[
    [Scenario, int], AbstractContextManager[Expected]
]:  # fmt: skip
    """The rounds' stage (see rounds.Stage) for the incremental phase."""

    @contextmanager
    def run(scenario: Scenario, number: int) -> Iterator[Expected]:
        scenario.complete(scenario.directory / "initial.log", timeout)  # checked at the end
        # flags first: a flag change renames a Maildir file, and remove_files would miss it
        toggle_flags(world, random.Random(f"{seed}-{scenario.name}-{number}"))
        added = corpora.add_messages(world.source, world.corpus)
        try:
            scenario.begin_incremental(scenario.directory / "setup.log")
            yield source_expectation(world, scenario.lf)
        finally:
            corpora.remove_files(added)

    return run
