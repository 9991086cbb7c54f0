"""Batches: New / Get / Set / Start / Stop / Complete / Remove / SyncNow / AddUsers and
the report (Exchange's *-MigrationBatch), as Exchange-named views.

Each action only records intent; a scheduler (``mailferry serve``, or ``run_here``)
carries it out. Views carry the batch's user counters from one aggregate query.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from mailferry.app.core import AppCore
from mailferry.app.requests import BatchChanges, BatchRequest

if TYPE_CHECKING:
    from mailferry.state.migration_records import Batch

REPORT_FORMATS = ("csv", "json", "exchange")


class TextSink(Protocol):
    """Where a report is written (a file, stdout, an HTTP response's buffer)."""

    def write(self, text: str, /) -> object: ...


class BatchUseCases(AppCore):
    def new_batch(self, req: BatchRequest) -> dict[str, Any]:
        """Create a batch from CSV bytes (started at once with ``auto_start``). A
        refused CSV raises ``CsvValidationError`` listing every row's problem."""
        from mailferry.app.batch_options import new_options, time_zone
        from mailferry.app.targets import batch_secret, batch_target, with_gmail, with_locale
        from mailferry.service.batches import manage
        from mailferry.values.exchange_times import in_zone

        target = with_locale(
            with_gmail(
                batch_target(req.target, self._ctx.settings.default_target),
                req.source_kind,
                req.gmail_labels,
            ),
            req.locale,
        )
        zone = time_zone(req.time_zone)
        request = manage.BatchRequest(
            name=req.name,
            source_endpoint=req.source_endpoint,
            csv_data=req.csv_data,
            csv_name=req.csv_name,
            # the default target itself (no --target, no preset or cap): not stored
            target=None if target is self._ctx.settings.default_target else target,
            target_secret=batch_secret(target, req.target, self._env),
            exclude_folders=req.exclude_folders,
            include_folders=req.include_folders,
            auto_start=req.auto_start,
            start_after=in_zone(req.start_after, zone),
            complete_after=in_zone(req.complete_after, zone),
            notification_emails=req.notification_emails,
            allow_unknown_columns=req.allow_unknown_columns,
            content_filter=req.content_filter,
            options=new_options(req),
        )
        return self._batch_view(manage.new_batch(self._ctx, request))

    def get_batches(
        self, *, status: str | None = None, endpoint: str | None = None
    ) -> list[dict[str, Any]]:
        """Every batch (of a status, of a source endpoint), by name."""
        from mailferry.app.choices import batch_status
        from mailferry.service.batches import manage

        wanted = None if status is None else batch_status(status)
        return self._batch_views(manage.get_batches(self._ctx, status=wanted, endpoint=endpoint))

    def get_batch(
        self, name: str, *, include_report: bool = False, diagnostic: bool = False
    ) -> dict[str, Any]:
        """Get-MigrationBatch; ``include_report``: the batch's own timeline as ``Report``
        (a line per event); ``diagnostic``: ``DiagnosticInfo`` (its stored options and
        target, the users by stored status, the jobs running, when it is next due)."""
        from mailferry.service.batches import manage
        from mailferry.service.batches.diagnostics import batch_diagnostics, batch_timeline

        batch = manage.get_batch(self._ctx, name)
        view = self._batch_view(batch)
        if include_report:
            view["Report"] = batch_timeline(self._ctx, batch)
        if diagnostic:
            view["DiagnosticInfo"] = batch_diagnostics(self._ctx, batch)
        return view

    def start_batch(self, name: str) -> dict[str, Any]:
        """Start a Created batch, resume a Stopped one, retry its failed users."""
        from mailferry.service.batches import manage

        return self._batch_view(manage.start_batch(self._ctx, name))

    def stop_batch(self, name: str) -> dict[str, Any]:
        from mailferry.service.batches import manage

        return self._batch_view(manage.stop_batch(self._ctx, name))

    def complete_batch(self, name: str) -> dict[str, Any]:
        """A final incremental sync, then no more syncing (``incomplete_users`` names
        the users whose last sync left mail behind: warn of them)."""
        from mailferry.service.batches import manage

        return self._batch_view(manage.complete_batch(self._ctx, name))

    def remove_batch(self, name: str, *, force: bool = False) -> dict[str, Any]:
        """Removing: the scheduler cancels running copies, then purges the batch, its
        users' state and every stored credential. The batch as it is now (Removing)."""
        from mailferry.service.batches import manage

        return self._batch_view(manage.remove_batch(self._ctx, name, force=force))

    def sync_batch(self, name: str) -> dict[str, Any]:
        """SyncNow: an incremental sync of the synced users; ``UsersQueued`` says how many."""
        from mailferry.service.batches import manage

        asked = manage.sync_now(self._ctx, name)
        return {**self.get_batch(name), "UsersQueued": asked}

    def add_users(
        self,
        name: str,
        csv_data: bytes,
        csv_name: str = "CSV",
        *,
        allow_unknown_columns: bool = False,
    ) -> dict[str, Any]:
        """Add a CSV's users to a batch; ``UsersAdded`` says how many."""
        from mailferry.service.batches import manage

        added = manage.add_users(
            self._ctx, name, csv_data, csv_name, allow_unknown_columns=allow_unknown_columns
        )
        return {**self.get_batch(name), "UsersAdded": added}

    def get_config(self) -> dict[str, Any]:
        """Get-MigrationConfig: the service-wide settings in effect (``service/config``)."""
        from mailferry.service.config import config_view

        return config_view(self._ctx)

    def set_config(self, changes: Mapping[str, float | None]) -> dict[str, Any]:
        """Set-MigrationConfig: store values (None: back to the environment's/default)."""
        from mailferry.service.config import set_config

        return set_config(self._ctx, changes)

    def migration_statistics(self) -> dict[str, Any]:
        """Get-MigrationStatistics: every user's status and copies, summed."""
        from mailferry.service.batches.statistics import tenant_statistics

        return tenant_statistics(self._ctx)

    def set_batch(self, name: str, changes: BatchChanges) -> dict[str, Any]:
        from mailferry.app.batch_options import OPTION_FIELDS, changed_options, time_zone
        from mailferry.app.target_changes import TargetChange, changed_target
        from mailferry.app.targets import with_locale
        from mailferry.service.batches import manage
        from mailferry.values.exchange_times import in_zone

        skip = {"target", "approve_skipped_items", "update", "locale", *OPTION_FIELDS}
        fields = {k: v for k, v in changes.__dict__.items() if k not in skip}
        batch = manage.get_batch(self._ctx, name)
        target = TargetChange()
        if changes.target is not None:
            secret = batch.target_secret
            plain = None if secret is None else self._ctx.vault.decrypt(secret)
            target = changed_target(batch.target, plain, changes.target)
        if changes.locale is not None:
            localized = with_locale(target.settings or batch.target, changes.locale)
            target = TargetChange(localized, target.secret)
        options = changed_options(batch.options, changes, self._ctx.now())
        zone = time_zone(changes.time_zone or batch.options.time_zone)
        for when in ("start_after", "complete_after"):
            fields[when] = in_zone(fields[when], zone)
        service_changes = manage.BatchChanges(
            **fields, target=target.settings, target_secret=target.secret, options=options
        )
        if changes.update:
            manage.record_update(self._ctx, name)
        return self._batch_view(manage.set_batch(self._ctx, name, service_changes))

    def write_batch_report(self, name: str, fmt: str, out: TextSink) -> None:
        """The report (per-user statistics and skipped items), CSV or JSON, written to
        ``out`` as it is read (a 50,000-user report is never held in memory)."""
        from mailferry.errors import InvalidSetting
        from mailferry.service.batches import manage
        from mailferry.service.reports.batch_report import write_batch_report

        if fmt not in REPORT_FORMATS:
            raise InvalidSetting(
                [f"report format {fmt!r} is not one of {', '.join(REPORT_FORMATS)}"]
            )
        write_batch_report(self._ctx, manage.get_batch(self._ctx, name), fmt, out)

    def incomplete_users(self, name: str) -> list[dict[str, Any]]:
        """The users whose last sync ran to its end but left mail behind (Complete
        warns of them, Remove refuses them without ``force``)."""
        from mailferry.service.batches import manage
        from mailferry.service.properties import batch_started, user_properties

        batch = manage.get_batch(self._ctx, name)
        users = manage.incomplete_users(self._ctx.store.users(batch_id=batch.id))
        return [user_properties(u, batch_started=batch_started(batch)) for u in users]

    def batch_progress(self, names: Collection[str]) -> list[dict[str, Any]]:
        """For a live view: each batch still there, ``{"Batch": view, "Users": [...]}``
        with its users' statistics views (no skipped items), in CSV order."""
        from mailferry.service.properties import batch_started, user_statistics_properties

        found = []
        now = self.now()
        for name in names:
            batch = self._ctx.store.batch(name)
            if batch is None:
                continue
            started = batch_started(batch)
            users = [
                user_statistics_properties(u, [], now, False, batch_started=started)
                for u in self._ctx.store.users(batch_id=batch.id)
            ]
            found.append({"Batch": self._batch_view(batch), "Users": users})
        return found

    def _batch_view(self, batch: Batch) -> dict[str, Any]:
        return self._batch_views([batch])[0]

    def _batch_views(self, found: list[Batch]) -> list[dict[str, Any]]:
        """Get-MigrationBatch's views: the batches' counters in one aggregate query."""
        from mailferry.service.batches.users import user_tallies
        from mailferry.service.properties import batch_tally_properties

        tallies, now = user_tallies(self._ctx, found), self.now()
        return [batch_tally_properties(b, tallies[b.id], now) for b in found]
