"""Reading a users CSV from a path the caller names, without trusting what it is
(``/dev/zero``, a FIFO nothing writes to): the interfaces that take paths use this."""

from __future__ import annotations

import os


def read_csv(path: str | os.PathLike[str], *, source_name: str | None = None) -> bytes:
    """The CSV's bytes (at most the import limit); a refusal is a ``CsvValidationError``
    naming the file (``source_name``, default the path)."""
    from mailferry.service.users_csv.file import read_csv_file

    return read_csv_file(path, source_name=source_name)
