"""Set-MigrationConfig's values: one row of JSON in ``service_config`` (revision 0011)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from mailferry.state.schema import service_config
from mailferry.state.store import StateStore


class ConfigRows(StateStore):
    def service_config(self) -> dict[str, Any]:
        """The values set (empty: none; the defaults and the environment apply)."""
        with self._read("service_config") as connection:
            text = connection.execute(select(service_config.c.settings)).scalar()
        return {} if text is None else dict(json.loads(text))

    def set_service_config(self, values: Mapping[str, Any], now: dt.datetime) -> None:
        row = {"settings": json.dumps(dict(values), sort_keys=True), "updated_at": now}

        def run(connection: Connection) -> None:
            connection.execute(delete(service_config))
            connection.execute(insert(service_config).values(row))

        self._write("set_service_config", run)
