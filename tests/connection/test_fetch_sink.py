"""FetchAssembler: a FetchRun assembles into the messages its FetchResponses would give."""

from __future__ import annotations

import datetime as dt

import pytest

from mailferry.connection.fetch_sink import FetchAssembler, FetchedMessage, QueueSink
from mailferry.imap.events import FetchRun

_DATE = dt.datetime(1996, 7, 17, 2, 44, 25, tzinfo=dt.timezone(dt.timedelta(hours=-7)))


def _run(item: str | None) -> FetchRun:
    body = (lambda n: b"body %d" % n) if item else (lambda n: None)
    return FetchRun(
        [
            (n, {"UID": n + 10, "FLAGS": ("\\Seen",), "INTERNALDATE": _DATE}, item, body(n))
            for n in (1, 2)
        ]
    )


@pytest.mark.parametrize("item", ["BODY[]", "RFC822", "BODY[HEADER]", None, "X-ODD"])
def test_a_run_assembles_like_its_responses(item: str | None) -> None:
    run = _run(item)
    assembler = FetchAssembler(1024)
    expected = [assembler.assemble(response) for response in run.responses()]
    got = FetchAssembler(1024).assemble_run(run)
    assert [(m.seq, dict(m.attributes), _read(m)) for m in got] == [
        (m.seq, dict(m.attributes), _read(m)) for m in expected
    ]
    assert got[1].uid == 12 and got[1].flags == ("\\Seen",) and got[1].internaldate == _DATE
    if item in ("BODY[]", "RFC822"):
        assert got[0].body is not None and got[0].body.read() == b"body 1"


def _read(message: FetchedMessage) -> dict[str, bytes]:
    return {name: body.read() for name, body in message.sections.items()}


def test_unwanted_runs_go_to_other() -> None:
    others: list[FetchedMessage] = []
    sink = QueueSink(1024, lambda m: "BODY[]" in m.sections, others.append)
    sink.run(_run(None))
    sink.run(_run("BODY[]"))
    assert [m.seq for m in others] == [1, 2]
    assert sink.flush() is None
    batch = sink.queue.get_nowait()
    assert isinstance(batch, list) and [m.uid for m in batch] == [11, 12]


def test_fetched_messages_compare_by_value() -> None:
    one = FetchedMessage(1, {"UID": 5}, {})
    assert one == FetchedMessage(1, {"UID": 5}, {})
    assert one != FetchedMessage(2, {"UID": 5}, {})
    assert "seq=1" in repr(one) and one.uid == 5 and one.body is None
