"""The API's JSON shapes, for validation and the OpenAPI schema.

Requests and responses use Exchange's PascalCase names (the CLI prints the same views):
a body field is named like the cmdlet's parameter (``RemoteServer``, ``MaxConcurrent
Migrations``), a response like the cmdlet's output property. Query flags are camelCase
(``skipVerification``, ``includeSkippedItems``). Request bodies refuse unknown fields
(a typo is an error, not a silent default). Views allow properties beyond those listed
(a later version may add some); none of them ever holds a secret.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

NAME_PATTERN = r"^[^/\x00-\x1f\x7f]+$"
"""A name addresses a resource in a path: no slash, no control characters."""
HOST_PATTERN = r"^[A-Za-z0-9._:\[\]-]+$"
"""A host name (IDNs in their xn-- form) or an IP address."""
Name = Field(min_length=1, max_length=256, pattern=NAME_PATTERN)
Host = Field(min_length=1, max_length=253, pattern=HOST_PATTERN)


class Request(BaseModel):
    """Fields of a form or a query string: text, converted (``true``, ``5``)."""

    model_config = ConfigDict(extra="forbid")


class JsonRequest(Request):
    """A JSON body: each value must have its JSON type already (no ``"5"`` for 5)."""

    model_config = ConfigDict(extra="forbid", strict=True)


def iso_time(value: object) -> object:
    """ISO 8601 text only: never a number taken as seconds since 1970."""
    if isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str):
        raise ValueError("expected an ISO 8601 time as text, e.g. 2026-11-24T10:00:00Z")
    try:
        return dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError("not an ISO 8601 time, e.g. 2026-11-24T10:00:00Z") from None


IsoTime = Annotated[dt.datetime, BeforeValidator(iso_time)]
WALL_CLOCK = "In TimeZone (else UTC) unless the time names a zone."


class View(BaseModel):
    model_config = ConfigDict(extra="allow")


# -- errors -------------------------------------------------------------------------


class ErrorBody(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. not_found, invalid_csv.")
    message: str = Field(description="What went wrong, in words (never a secret).")
    details: dict[str, Any] = Field(description="Facts about the error (CSV rows, names…).")


# -- endpoints ----------------------------------------------------------------------


class EndpointCreate(JsonRequest):
    """New-MigrationEndpoint -IMAP's parameters."""

    Name: str = Name
    RemoteServer: str = Host
    Port: int | None = Field(default=None, ge=1, le=65535, description="Default 993 (Ssl), 143.")
    Security: str | None = Field(default=None, description="None | Ssl (default) | Tls")
    Authentication: str | None = Field(default=None, description="Basic (default) | Plain")
    MaxConcurrentMigrations: int | None = Field(default=None, description="1–100, default 20")
    MaxConcurrentIncrementalSyncs: int | None = Field(default=None, description="Default 10")
    AcceptUntrustedCertificates: bool = False
    CaFile: str | None = Field(default=None, description="A CA file on the server's machine.")


class EndpointPatch(JsonRequest):
    """Set-MigrationEndpoint's parameters (absent or null: unchanged)."""

    RemoteServer: str | None = Field(
        default=None, min_length=1, max_length=253, pattern=HOST_PATTERN
    )
    Port: int | None = Field(default=None, ge=1, le=65535)
    Security: str | None = None
    Authentication: str | None = None
    MaxConcurrentMigrations: int | None = None
    MaxConcurrentIncrementalSyncs: int | None = None
    AcceptUntrustedCertificates: bool | None = None
    CaFile: str | None = None


class EndpointView(View):
    Identity: str
    Name: str
    EndpointType: str
    RemoteServer: str
    Port: int
    Security: str
    Authentication: str
    MaxConcurrentMigrations: int
    MaxConcurrentIncrementalSyncs: int
    AcceptUntrustedCertificates: bool
    CreationDateTime: str | None


class ServerTestView(View):
    """Test-MigrationServerAvailability's result."""

    Result: str


# -- batches ------------------------------------------------------------------------


class BatchSettings(Request):
    """New-MigrationBatch's parameters besides the CSV: form fields of a multipart
    upload, or query parameters of a ``text/csv`` body."""

    Name: str = Field(min_length=1, max_length=64, pattern=NAME_PATTERN)
    SourceEndpoint: str = Name
    Target: str | None = Field(
        default=None, description="maildir:PATH or imap[s]://HOST[:PORT] (default: the service's)"
    )
    TargetLogin: str = Field(
        default="master-user", description="master-user | admin-authzid | per-user | xoauth2"
    )
    TargetUser: str | None = Field(default=None, description="The target's admin user.")
    TargetSecurity: str | None = Field(default=None, description="None | Ssl | Tls")
    MasterSeparator: str = Field(default="*", min_length=1, max_length=8)
    TargetUserFormat: str | None = Field(
        default=None,
        description="How the target knows each mailbox: {address} (default), {local}, or a "
        "template of {address}, {local} and {domain}.",
    )
    TargetPassword: str | None = Field(
        default=None, description="The admin password or XOAUTH2 token (never shown again)."
    )
    OAuthProvider: str | None = Field(
        default=None, description="entra | google | refresh-token (TargetLogin xoauth2)."
    )
    OAuthSettings: str | None = Field(
        default=None,
        description="The provider's settings as a JSON object, secrets included (kept "
        "encrypted, never shown again).",
    )
    TargetPreset: str | None = Field(
        default=None, description="The target's limits and folder names: m365."
    )
    MaxBytesPerSecond: int | None = Field(
        default=None, ge=1024, description="Cap on the bytes written to each target mailbox."
    )
    EndpointMaxBytesPerSecond: int | None = Field(
        default=None, ge=1024, description="Cap on the bytes written to the target endpoint."
    )
    ExcludeFolders: list[str] = Field(default_factory=list)
    IncludeFolders: list[str] = Field(default_factory=list)
    AutoStart: bool = False
    StartAfter: IsoTime | None = Field(
        default=None, description="In TimeZone, else UTC, unless a zone is given."
    )
    CompleteAfter: IsoTime | None = Field(
        default=None, description="In TimeZone, else UTC, unless a zone is given."
    )
    NotificationEmails: list[str] = Field(default_factory=list)
    AllowUnknownColumns: bool = False
    ContentFilter: str | None = None
    SourceKind: Literal["auto", "imap", "gmail"] = Field(
        default="auto", description="gmail: the source's folders are labels (auto: detected)."
    )
    GmailLabels: Literal["one-folder", "copy-each"] = Field(
        default="one-folder", description="A message in several labels: one folder or each."
    )
    MaxMessageSize: int | None = Field(default=None, ge=1, description="Bytes (35 MB).")
    ItemLimit: int | None = Field(default=None, ge=1, description="Items per mailbox (500,000).")
    IncludeDeleted: bool = False
    PropagateDeletions: bool = False
    AutoComplete: bool = Field(default=False, description="Complete once the initial sync is done.")
    ReportIntervalHours: float | None = Field(default=None, gt=0, le=8760)
    SkipReports: bool = False
    TimeZone: str | None = Field(default=None, description="IANA zone of StartAfter/CompleteAfter.")
    Locale: str | None = Field(default=None, description="The target's folder names: da-DK.")


class BatchPatch(JsonRequest):
    """Set-MigrationBatch's parameters (absent or null: unchanged; ContentFilter "" removes it)."""

    StartAfter: IsoTime | None = None
    CompleteAfter: IsoTime | None = None
    NotificationEmails: list[str] | None = None
    ExcludeFolders: list[str] | None = None
    IncludeFolders: list[str] | None = None
    ContentFilter: str | None = None
    TargetPreset: str | None = Field(default=None, description="m365, or none to remove it.")
    MaxBytesPerSecond: int | None = Field(default=None, ge=0, description="0 removes the cap.")
    EndpointMaxBytesPerSecond: int | None = Field(
        default=None, ge=0, description="0 removes the cap."
    )
    OAuthSettings: dict[str, Any] | None = Field(
        default=None,
        description="Merged into the batch's OAuth2 settings (refresh_tokens by mailbox); "
        "kept encrypted, never shown again.",
    )
    MaxMessageSize: int | None = Field(default=None, ge=1)
    ItemLimit: int | None = Field(default=None, ge=1)
    IncludeDeleted: bool | None = None
    PropagateDeletions: bool | None = None
    AutoComplete: bool | None = None
    ReportIntervalHours: float | None = Field(default=None, gt=0, le=8760)
    SkipReports: bool | None = None
    TimeZone: str | None = None
    ApproveSkippedItems: bool = False
    Update: bool = False
    Locale: str | None = None


class AddUsersSettings(Request):
    AllowUnknownColumns: bool = False


class BatchView(View):
    Identity: str
    Name: str
    Status: str
    SourceEndpoint: str | None
    TotalCount: int
    ActiveCount: int
    StoppedCount: int
    SyncedCount: int
    FinalizedCount: int
    FailedCount: int
    PercentageComplete: int
    Error: str | None


class SyncView(BatchView):
    UsersQueued: int


# -- users --------------------------------------------------------------------------


class UserView(View):
    Identity: str
    EmailAddress: str
    BatchId: str
    Status: str
    StatusSummary: str
    Error: str | None


class UsersPage(View):
    Items: list[UserView]
    Next: str | None = Field(description="Pass as ?after= for the next page (null: the last).")
    NextLink: str | None = Field(description="The next page's path and query (null: the last).")
    Total: int = Field(description="Users matching the filters, on every page.")


class SkippedItemView(View):
    Kind: str
    FolderName: str | None
    Subject: str | None
    MessageSize: int | None


class UserStatisticsView(View):
    Identity: str
    EmailAddress: str
    Status: str
    Error: str | None
    TotalItemsInSourceMailboxCount: int
    SyncedItemCount: int
    SkippedItemCount: int
    SkippedItems: list[SkippedItemView]
    BytesTransferred: int
    PercentageComplete: int


# -- events -------------------------------------------------------------------------


class EventView(View):
    Id: int
    Time: str
    Kind: str
    Batch: str | None
    User: str | None


class EventsPage(View):
    Items: list[EventView]
    Next: int = Field(description="Pass as ?after= for what comes next.")


class MxView(View):
    """The MX check's findings for a domain."""


class UserRemoval(View):
    EmailAddress: str
    BatchId: str
    Purged: bool = Field(description="False: Removing until its running job was cancelled.")
    User: UserView | None = None
