"""The application façade: the one way into mailferry for every interface.

The CLI (``interfaces/cli``) and the REST API (``interfaces/http``) call only this
package (and the plain values of ``mailferry.values``); nothing under ``interfaces``
imports the service, the engine or the state directly (``tests/interfaces/
test_layering.py``). Every method returns JSON-ready values (dicts with the
Exchange-named PascalCase keys, lists of them, or None) and raises only
``mailferry.errors`` classes. Async where the work is network I/O.

This docstring is the source of truth for the API::

    from mailferry.app import Mailferry
    app = Mailferry.open(db_url: str | None, env: Mapping[str, str], *,
                         describe: Callable[[MailferryError], str] = str,
                         clock: Callable[[], datetime] | None = None,
                         changes: ServiceChanges | None = None)   # serve's overrides
    app.close();  with Mailferry.open(...) as app: ...
    app.now() -> datetime;  app.lease_seconds, app.poll_seconds -> float

    # endpoints
    async new_endpoint(req: EndpointRequest, *, skip_verification: bool = False) -> dict
    get_endpoints() -> list[dict];  get_endpoint(name: str) -> dict
    async set_endpoint(name: str, changes: EndpointChanges, *,
                       skip_verification: bool = False) -> dict
    remove_endpoint(name: str) -> None
    async test_endpoint(name: str, *, timeout: float = 15.0) -> dict
    async test_server(req: ServerTestRequest) -> dict
        # {"RemoteServer","Port","Security","Result": Success|Failed,"FailedStep",
        #  "Error","Steps": [{"Step","Seconds","Ok","Detail"}],"Capabilities"}
    # batches
    new_batch(req: BatchRequest) -> dict          # csv_data bytes; CsvValidationError by row
    get_batches(*, status: str | None = None, endpoint: str | None = None) -> list[dict]
    get_batch(name: str) -> dict
    start_batch(name: str) -> dict;  stop_batch(name) -> dict;  complete_batch(name) -> dict
    remove_batch(name: str, *, force: bool = False) -> dict      # Status Removing
    sync_batch(name: str) -> dict                 # the batch + "UsersQueued": int
    add_users(name: str, csv_data: bytes, csv_name: str = "CSV", *,
              allow_unknown_columns: bool = False) -> dict       # the batch + "UsersAdded"
    set_batch(name: str, changes: BatchChanges) -> dict
    write_batch_report(name: str, fmt: str, out: TextSink) -> None   # fmt in REPORT_FORMATS
    incomplete_users(name: str) -> list[dict]     # user views whose last sync left mail
    batch_progress(names: Collection[str]) -> list[dict]
        # [{"Batch": batch view, "Users": [statistics views, CSV order]}] (live views)
    # users (paged in SQL: keyset on the address)
    get_users(*, batch: str | None = None, status: str | None = None,
              after: str | None = None, limit: int | None = None) -> UsersPage
        # {"Items": [user views, address order], "Next": address | None, "Total": int}
    get_user(email: str) -> dict
    user_statistics(email: str, *, include_skipped: bool = False,
                    skipped_limit: int | None = None, include_report: bool = False) -> dict
    sync_user(email) -> dict;  stop_user(email) -> dict;  start_user(email) -> dict
    remove_user(email: str, *, force: bool = False) -> dict
        # {"EmailAddress","BatchId","Purged": bool[, "User": view while Removing]}
    wait_user(email: str) -> dict | None          # blocks (bounded): a Stop/Remove ends
    # MX (lookup_mx(domain, expected, *, nameserver, timeout) needs no database)
    async check_mx(domain: str, expected: Sequence[str] = (), *,
                   nameserver: str | None = None, timeout: float = 5.0) -> dict
        # {"Domain","Result": PointsToTarget|PointsElsewhere|NoTargetGiven|Failed,
        #  "PointsToTarget","Expected","Records","CheckedAt","Detail","Error",
        #  "RecordedOn": [batch names]} (Failed: "Reason","Nameservers" instead)
    record_mx(view: dict) -> list[str]
    # one-shot (module functions oneshot.migrate / oneshot.verify need no database)
    async migrate(req: MigrationRequest, on_event: Callable[[str, object], None] | None
                  = None, *, on_user_done: Callable[[UserOutcome], None] | None = None
                  ) -> MigrationRun   # .outcomes, .source, .target, .ok, .report() -> dict
    async verify(req: VerifyRequest) -> VerificationRun   # .outcomes, .ok, .report()
        # on_event(address, event): events of mailferry.values.progress
    # events (the event log; for the SSE stream)
    events(*, after: int = 0, limit: int = 100) -> list[dict]
        # {"Id","Time","Kind","Batch","User","Endpoint","Detail"}, oldest first
    last_event_id() -> int
    # the scheduler
    service_running() -> bool
    async run_here(batch_names: Collection[str], on_change: Callable[[], None] | None) -> None
    async serve(on_pass: Callable[[list[dict]], None] | None = None) -> None
    # scale-out (PostgreSQL; docs/design/scale-out.md)
    async serve_with_workers(on_pass=None, on_acting: Callable[[], None] | None = None) -> None
    async run_worker(*, concurrency: int = 1, queues: Sequence[str] = (),
                     on_start: Callable[[dict], None] | None = None) -> dict  # Identity, JobsRun
    get_workers() -> list[dict]   # Role, Host, Pid, Started, Heartbeat, RunningJobs, Alive
    database_info() -> dict       # Backend, Revision, JobQueueSchema
    # tokens (mailferry.app.tokens.TokenAdmin)
    app.tokens.new(name: str, *, read_only: bool) -> tuple[str, dict]
    app.tokens.list() -> list[dict];  app.tokens.revoke(name: str) -> None
    app.tokens.check(secret: str) -> dict | None

Request types (frozen dataclasses, below) take targets as text (``TargetRequest``:
``maildir:PATH`` / ``imap[s]://HOST[:PORT]``, login mode, admin user, security,
separator, secret, per-user logins CSV); statuses and formats are text checked
case-insensitively (``InvalidSetting`` names the choices). Settings come from the
environment (``mailferry.app.settings``).
"""

from __future__ import annotations

from mailferry.app.batches import REPORT_FORMATS, TextSink
from mailferry.app.facade import Mailferry
from mailferry.app.oneshot import MigrationRun, VerificationRun
from mailferry.app.requests import (
    BatchChanges,
    BatchRequest,
    EndpointChanges,
    EndpointRequest,
    MigrationRequest,
    ServerTestRequest,
    ServiceChanges,
    SourceRequest,
    TargetRequest,
    VerifyRequest,
)
from mailferry.app.users import UsersPage

__all__ = [
    "REPORT_FORMATS",
    "BatchChanges",
    "BatchRequest",
    "EndpointChanges",
    "EndpointRequest",
    "Mailferry",
    "MigrationRequest",
    "MigrationRun",
    "ServerTestRequest",
    "ServiceChanges",
    "SourceRequest",
    "TargetRequest",
    "TextSink",
    "UsersPage",
    "VerificationRun",
    "VerifyRequest",
]
