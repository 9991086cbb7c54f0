"""The console in a real browser (headless Chromium), against a real server (uvicorn
with the scheduler beside it, as ``mailferry serve --http`` runs them) and the rig's
Dovecot as the source: sign in, an endpoint (Test connection), a CSV with two bad rows
(both shown), fixed, a batch created and started, watched to Synced without a reload,
a user with a skipped >35 MB item, the report downloaded, stop/start, removal.
Saves the screenshots of ``docs/screenshots/``."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from mailferry.rig import DovecotServer
from tests.http.api_support import api_env, open_api
from tests.service.service_support import MakeUser, address, filled_user, users_csv
from tests.web.browser_support import chromium, shoot, text_of, wait
from tests.web.web_support import ADMIN

BIG = 37_000_000  # over the 35 MiB (36,700,160 bytes) a message may be


@dataclass(frozen=True)
class Message:
    folder: str
    data: bytes
    flags: tuple[str, ...]
    internaldate: dt.datetime


def big_message(subject: str) -> Message:
    head = f"From: Big Sender <big@example.com>\r\nSubject: {subject}\r\n"
    head += "Date: Tue, 01 Dec 2026 10:00:00 +0000\r\nMessage-ID: <big@example.com>\r\n\r\n"
    line = b"x" * 998 + b"\r\n"
    body = line * (BIG // len(line) + 1)
    return Message("INBOX", head.encode() + body, (), dt.datetime(2026, 12, 1, tzinfo=dt.UTC))


def fill(driver: WebDriver, element_id: str, value: str) -> None:
    field = driver.find_element(By.ID, element_id)
    field.clear()
    field.send_keys(value)


def click(driver: WebDriver, element_id: str) -> None:
    driver.find_element(By.ID, element_id).click()


def status_is(driver: WebDriver, *wanted: str) -> bool:
    return text_of(driver, "batch-status") in wanted


def test_the_console_journey_in_chromium(
    dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    small = filled_user(dovecot_source, make_user, seed=131, messages=9)
    big = make_user("big", servers=(dovecot_source,))
    dovecot_source.write_maildir(big.name, [big_message("The big one")])
    rows = [(address(p), p.name, p.password) for p in (small, big)]
    good = tmp_path / "users.csv"
    good.write_bytes(users_csv(rows))
    bad = tmp_path / "users-bad.csv"
    bad.write_bytes(users_csv([*rows, ("not-an-address", "x", "pw"), (rows[0][0], "y", "pw")]))
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with open_api(tmp_path, api_env(tmp_path), scheduler=True) as api, chromium(downloads) as d:
        api.facade.admins.new(*ADMIN)
        d.get(api.url + "/batches")
        assert "/signin" in d.current_url  # no session: sent to sign in
        shoot(d, "signin")
        fill(d, "name", ADMIN[0])
        fill(d, "password", ADMIN[1])
        click(d, "signin-password")
        wait(d, lambda d: d.find_element(By.TAG_NAME, "h1").text == "Migration batches")

        # an endpoint, tested first
        d.get(api.url + "/endpoints/new")
        fill(d, "name", "RigSource")
        fill(d, "remote_server", "127.0.0.1")
        fill(d, "port", str(dovecot_source.imaps_port))
        fill(d, "ca_file", str(dovecot_source.ca_pem_path))
        click(d, "test-connection")
        wait(d, lambda d: text_of(d, "test-outcome") == "Success")
        steps = d.find_element(By.CSS_SELECTOR, "#test-result ol").text
        assert "tcp" in steps.lower() and "tls" in steps.lower(), steps
        shoot(d, "endpoint-test")
        click(d, "create-endpoint")
        wait(d, lambda d: "RigSource" in d.find_element(By.ID, "endpoints").text)

        # a CSV with two bad rows: both shown, nothing created; then the fixed file
        d.get(api.url + "/batches/new")
        fill(d, "name", "Pilot")
        Select(d.find_element(By.ID, "endpoint")).select_by_visible_text("RigSource")
        d.find_element(By.ID, "csv").send_keys(str(bad))
        click(d, "create-batch")
        problems = wait(d, lambda d: d.find_element(By.ID, "csv-problems"))
        lines = problems.find_elements(By.CSS_SELECTOR, "tbody tr")
        assert [line.find_element(By.TAG_NAME, "td").text for line in lines] == ["4", "5"]
        assert api.facade.get_batches() == []
        shoot(d, "csv-problems")
        d.find_element(By.ID, "csv").send_keys(str(good))
        click(d, "create-batch")
        wait(d, lambda d: d.current_url.endswith("/batches/Pilot"))

        # start, and watch it reach Synced without a reload
        click(d, "action-start")
        wait(d, lambda d: status_is(d, "Starting", "Syncing", "Synced"))
        d.execute_script("window.__sameDocument = true;")
        wait(d, lambda d: status_is(d, "Synced"), 60)
        assert d.execute_script("return window.__sameDocument === true;")  # no reload
        assert text_of(d, "batch-percent") == "100%"
        wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, "svg.chart"))
        shoot(d, "batch")
        d.get(api.url + "/batches")
        row = d.find_element(By.CSS_SELECTOR, 'tr[data-batch="Pilot"]')
        assert "Synced" in row.text and "100%" in row.text
        shoot(d, "batches")

        # the user with the skipped large item
        d.get(api.url + "/batches/Pilot")
        d.find_element(By.LINK_TEXT, address(big)).click()
        skipped = wait(d, lambda d: d.find_element(By.ID, "skipped"))
        assert "LargeItem" in skipped.text and "The big one" in skipped.text
        assert "37.0 MB" in skipped.text and "Big Sender" in skipped.text
        assert text_of(d, "user-skipped") == "1"
        assert "job_finished" in text_of(d, "timeline")
        shoot(d, "user")

        # the report, downloaded
        d.get(api.url + "/batches/Pilot")
        click(d, "report-csv")
        report = downloads / "Pilot-report.csv"
        wait(d, lambda d: report.is_file() and report.stat().st_size > 0)
        text = report.read_text()
        assert address(small) in text and address(big) in text and "LargeItem" in text

        # stop, start again
        click(d, "action-stop")
        wait(d, lambda d: status_is(d, "Stopped"), 30)
        click(d, "action-start")
        wait(d, lambda d: status_is(d, "Synced"), 60)

        # a phone-sized view of the batch
        d.set_window_size(390, 844)
        d.get(api.url + "/batches/Pilot")
        shoot(d, "batch-phone")
        d.set_window_size(1280, 900)

        # remove: a confirmation with the MX warning first
        click(d, "action-remove")
        assert "MX switch was not recorded" in text_of(d, "mx-warning")
        shoot(d, "remove")
        click(d, "confirm-remove")
        wait(d, lambda d: "is being removed" in d.find_element(By.CLASS_NAME, "flash").text)
        deadline = time.monotonic() + 30
        wait(d, lambda d: not d.find_elements(By.CSS_SELECTOR, 'tr[data-batch="Pilot"]'), 30)
        assert time.monotonic() < deadline
        assert api.facade.get_batches() == []
