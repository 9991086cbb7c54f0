"""The README demo: real servers on loopback, a real migration, progress, verification.

Starts a SOURCE Dovecot (Maildir, filled with generated mail for a few users)
and a TARGET Dovecot (sdbox), then runs — as an administrator would type them —
``mailferry test-server``, ``mailferry migrate`` into a local Maildir tree and
into the target IMAP server (Dovecot master-user logins on both sides),
``mailferry verify``, and a second ``migrate`` to show the incremental sync;
then the service's journey with Exchange's cmdlet names (endpoint, batch from the
CSV run to Synced, ``| Format-List``, statistics, removal).
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from mailferry.rig.corpus import CorpusSpec, generate
from mailferry.rig.dovecot import DovecotServer, make_ca

ADMIN, ADMIN_PASSWORD = "admin", "demo-admin-pass"
USERS = ("alice@example.test", "bob@example.test", "carol@example.test")


def _say(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m", flush=True)


def _run(args: list[str], env: dict[str, str] | None = None, check: bool = True) -> int:
    print("$ mailferry " + shlex.join(args), flush=True)
    done = subprocess.run([sys.executable, "-m", "mailferry", *args], env=env, check=False)
    if check and done.returncode != 0:
        raise SystemExit(f"demo step failed (exit {done.returncode}): mailferry {args[0]}")
    return done.returncode


def _fill(source: DovecotServer, messages: int) -> None:
    for number, user in enumerate(USERS, start=1):
        source.add_user(user, f"{user}-password")
        spec = CorpusSpec(seed=number, messages=messages)
        written = source.write_maildir(user, generate(spec))
        print(f"source: {user}: {written} messages in {len(spec.folders)} folders")


def _csv(path: Path) -> Path:
    lines = ["EmailAddress,UserName,Password"]
    lines += [f"{user},{user}*{ADMIN},{ADMIN_PASSWORD}" for user in USERS]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


def _check_reachable(workdir: Path) -> None:
    """As root, Dovecot reads mail as its own user: every parent must be searchable."""
    if os.geteuid() != 0:
        return
    for parent in workdir.resolve().parents:
        if not parent.stat().st_mode & 0o001:
            raise SystemExit(
                f"--workdir {workdir}: {parent} is not searchable by other users, so the "
                "dovecot user could not read the mail; pick a directory such as /tmp/demo"
            )


def demo(workdir: Path, messages: int) -> None:
    _check_reachable(workdir)
    workdir.chmod(0o755)
    ca = make_ca(workdir / "ca")
    source = DovecotServer(workdir / "source", ca, name="source")
    target = DovecotServer(workdir / "target", ca, name="target", storage="sdbox", fsync=False)
    with source, target:
        source.add_master_user(ADMIN, ADMIN_PASSWORD)
        target.add_master_user(ADMIN, ADMIN_PASSWORD)
        _say("Generating the source mailboxes")
        _fill(source, messages)
        for user in USERS:
            target.add_user(user, f"{user}-target-password")
        users_csv = _csv(workdir / "users.csv")
        src = ["--source-server", "127.0.0.1", "--port", str(source.imap_port),
               "--security", "Tls", "--ca-file", str(source.ca_pem_path),
               "--csv", str(users_csv)]  # fmt: skip
        _say("1. Test the source server (STARTTLS)")
        _run(["test-server", "--remote-server", "127.0.0.1", "--port", str(source.imap_port),
              "--security", "Tls", "--ca-file", str(source.ca_pem_path)])  # fmt: skip
        maildir = workdir / "maildir-target"
        state = workdir / "maildir-state.db"
        _say(f"2. Migrate every user into a Maildir tree ({maildir})")
        _run(["migrate", *src, "--target", f"maildir:{maildir}", "--state", str(state),
              "--report", str(workdir / "report-maildir.json")])  # fmt: skip
        _say("3. Verify the Maildir tree against the source")
        _run(["verify", *src, "--target", f"maildir:{maildir}"])
        _say("4. Run again: an incremental sync copies nothing new")
        _run(["migrate", *src, "--target", f"maildir:{maildir}", "--state", str(state)])
        env = {**os.environ, "MAILFERRY_TARGET_PASSWORD": ADMIN_PASSWORD}
        imap = ["--target", f"imap://127.0.0.1:{target.imap_port}", "--target-login",
                "master-user", "--target-admin", ADMIN]  # fmt: skip
        _say("5. Migrate every user into the target IMAP server (master-user logins)")
        _run(["migrate", *src, *imap, "--state", str(workdir / "imap-state.db"),
              "--report", str(workdir / "report-imap.json")], env=env)  # fmt: skip
        _say("6. Verify the target IMAP server against the source")
        _run(["verify", *src, *imap], env=env)
        _service_journey(workdir, source, users_csv)
    _say(f"Done. Reports and state are in {workdir}")


def _service_journey(workdir: Path, source: DovecotServer, users_csv: Path) -> None:
    """The same users as a batch of the service, typed as Microsoft's article types it."""
    home = workdir / "service"
    env = {**os.environ, "MAILFERRY_HOME": str(home), "MAILFERRY_TARGET": f"maildir:{home}/mail"}
    env.pop("MAILFERRY_DB", None)
    _say("7. The service: an endpoint, a batch from the CSV, run to Synced (Exchange names)")
    _run(["endpoint", "new", "--name", "IMAPEndpoint", "--remote-server", "127.0.0.1",
          "--port", str(source.imap_port), "--security", "Tls",
          "--ca-file", str(source.ca_pem_path), "--format", "list"], env=env)  # fmt: skip
    _shell("mailferry Get-MigrationEndpoint IMAPEndpoint"
           " | Format-List EndpointType,RemoteServer,Port,Security,Max*", env)  # fmt: skip
    _run(["New-MigrationBatch", "-Name", "IMAPBatch1", "-SourceEndpoint", "IMAPEndpoint",
          "-CSVData", str(users_csv), "-AutoStart"], env=env)  # fmt: skip
    _shell("mailferry Get-MigrationBatch -Identity IMAPBatch1 | Format-List", env)
    _shell("mailferry Get-MigrationUserStatistics -Identity alice@example.test"
           " | Format-List Status,TotalItemsInSourceMailboxCount,SyncedItemCount,"
           "SkippedItemCount,PercentageComplete", env)  # fmt: skip
    _run(["Remove-MigrationBatch", "-Identity", "IMAPBatch1"], env=env)
    _run(["Get-MigrationBatch", "IMAPBatch1"], env=env, check=False)


def _shell(command: str, env: dict[str, str]) -> None:
    """A real shell pipe, as an administrator types it (``| Format-List`` included)."""
    print(f"$ {command}", flush=True)
    bindir = str(Path(sys.executable).parent)
    shell_env = {**env, "PATH": bindir + os.pathsep + env.get("PATH", "")}
    done = subprocess.run(["bash", "-c", f"set -o pipefail; {command}"], env=shell_env)
    if done.returncode != 0:
        raise SystemExit(f"demo step failed (exit {done.returncode}): {command}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m mailferry.rig", description=__doc__)
    parser.add_argument("command", choices=["demo"])
    parser.add_argument("--messages", type=int, default=1500, help="messages per user")
    parser.add_argument("--workdir", type=Path, help="keep everything here (default: temp)")
    args = parser.parse_args()
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        demo(args.workdir, args.messages)
        return
    with tempfile.TemporaryDirectory(prefix="mailferry-demo-") as tmp:
        demo(Path(tmp), args.messages)
