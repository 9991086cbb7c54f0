"""``create_app``: the REST API over one ``Mailferry`` façade.

Routes live under ``/api/v1`` (``routes_*``), the OpenAPI schema at
``/api/openapi.json``, its docs page at ``/api/docs``. ``read_access`` guards every GET,
``write_access`` everything else (``auth`` gives the bearer-token ones). Request bodies
are capped (``limits``); every error answers ``{code, message, details}``
(``handlers``). The façade is ``app.state.mailferry``; nothing here closes it (whoever
opened it does).
"""

from __future__ import annotations

from fastapi import FastAPI

from mailferry import __version__
from mailferry.app import Mailferry
from mailferry.interfaces.http import (
    routes_batches,
    routes_endpoints,
    routes_events,
    routes_mx,
    routes_servers,
    routes_statistics,
    routes_users,
)
from mailferry.interfaces.http.depends import Access
from mailferry.interfaces.http.handlers import install_error_handlers
from mailferry.interfaces.http.limits import JSON_MAX, UPLOAD_MAX, BodyLimit
from mailferry.interfaces.http.sse import StreamSettings
from mailferry.interfaces.web import mount_console

PREFIX = "/api/v1"
ROUTES = (
    routes_endpoints,
    routes_batches,
    routes_users,
    routes_events,
    routes_mx,
    routes_servers,
    routes_statistics,
)


def create_app(
    app: Mailferry,
    *,
    read_access: Access,
    write_access: Access,
    upload_max: int = UPLOAD_MAX,
    json_max: int = JSON_MAX,
    stream: StreamSettings | None = None,
) -> FastAPI:
    api = FastAPI(
        title="mailferry",
        version=__version__,
        description="IMAP migration batches, endpoints and users, as Exchange names them.",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    api.state.mailferry = app
    api.state.stream_settings = stream or StreamSettings()
    for module in ROUTES:
        api.include_router(module.routes(read_access, write_access), prefix=PREFIX)
    install_error_handlers(api)
    mount_console(api)  # the web console at / (interfaces/web)
    api.add_middleware(BodyLimit, upload_max=upload_max, json_max=json_max)
    return api
