"""Backups of a data directory, and putting one back.

A backup is one .tar.gz: the database as of one moment, the generated JWT secret (so sessions
and API keys stay valid after a restore) and the profile last switched to, with a manifest.
DuckDB lets one process open the file, so a running app makes the copy itself, on its database
thread between two statements, with DuckDB's COPY FROM DATABASE into a new file: one
transaction's view, sequences included (`./backup` asks the app for it; a stopped app's
directory is copied by this module's command line). Restoring is for a stopped app only.

    python -m storage.backup make DATA_DIR [ARCHIVE]   # what ./backup runs when no app answers
    python -m storage.backup restore ARCHIVE DATA_DIR  # what ./restore runs
"""

from __future__ import annotations

import io
import json
import os
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from storage.db import Database

DB_FILE = "vllm_chat.duckdb"
KEPT_FILES = ("jwt_secret", "active_profile")  # beside the database, when they exist
MANIFEST = "manifest.json"
FORMAT = 1


@dataclass(frozen=True)
class Backup:
    path: Path
    bytes: int
    created_at: datetime


def copy_into(conn: duckdb.DuckDBPyConnection, target: Path) -> None:
    """The database of `conn`, as one transaction sees it, into a new file `target`. DuckDB
    copies it: a copy of the file by the app's process would close a second descriptor of it,
    and closing any descriptor drops the process's POSIX lock on the file, letting another
    process open the database the app is writing (it did, before this was done so)."""
    name = conn.execute("SELECT current_database()").fetchone()
    assert name is not None
    conn.execute(f"ATTACH '{_quoted(target)}' AS backup_copy")
    try:
        conn.execute(f'COPY FROM DATABASE "{name[0]}" TO backup_copy')
    finally:
        conn.execute("DETACH backup_copy")


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def copy_database(db: Database, target: Path) -> None:
    """The open database as of now, into `target`, on its own thread between two statements."""
    db.call(lambda conn: copy_into(conn, target))


def make(data_dir: Path, archive: Path | None, db: Database | None = None,
         keep: int | None = None) -> Backup:
    """Back up `data_dir` into `archive` (default: data_dir/backups/vllm-chat-<UTC time>.tar.gz),
    copying the database through `db` when the app has it open; then keep only the newest
    `keep` archives of the default folder."""
    created = datetime.now(UTC)
    folder = data_dir / "backups"
    archive = archive or folder / f"vllm-chat-{created:%Y%m%d-%H%M%S}.tar.gz"
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=archive.parent) as scratch:
        copied = Path(scratch) / DB_FILE
        if db is not None:
            copy_database(db, copied)
        else:
            _copy_closed(data_dir / DB_FILE, copied)
        files = [DB_FILE, *(n for n in KEPT_FILES if (data_dir / n).exists())]
        manifest = {"format": FORMAT, "created_at": created.isoformat(), "files": files}
        partial = archive.with_name(archive.name + ".partial")
        # Private from its first byte: it holds the JWT secret.
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=1).encode())
            tar.add(copied, DB_FILE)
            for name in files[1:]:
                tar.add(data_dir / name, name)
        partial.replace(archive)
    if keep is not None and archive.parent == folder:
        rotate(folder, keep)
    return Backup(archive, archive.stat().st_size, created)


def _copy_closed(source: Path, target: Path) -> None:
    """A stopped app's database (opening it refuses, with DuckDB's lock error, a file that
    another process has open)."""
    if not source.exists():
        raise FileNotFoundError(f"no database at {source}")
    conn = duckdb.connect(str(source))
    try:
        copy_into(conn, target)
    finally:
        conn.close()


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


def rotate(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` backups of `folder`; returns those deleted."""
    backups = sorted(folder.glob("vllm-chat-*.tar.gz"))
    doomed = backups[:-keep] if keep > 0 else backups
    for path in doomed:
        path.unlink()
    return doomed


def restore(archive: Path, data_dir: Path) -> list[str]:
    """Put a backup into a stopped app's `data_dir`. What it replaces is kept beside it as
    `<name>.before-restore-<UTC time>`. Returns the files restored."""
    with tarfile.open(archive, "r:gz") as tar:
        manifest = json.loads(_member(tar, MANIFEST))
        if manifest.get("format") != FORMAT or DB_FILE not in manifest.get("files", []):
            raise ValueError(f"{archive} is not a vLLM Chat backup")
        _refuse_if_open(data_dir / DB_FILE)
        data_dir.mkdir(parents=True, exist_ok=True)
        stamp = f"{datetime.now(UTC):%Y%m%d-%H%M%S}"
        for name in manifest["files"]:
            target = data_dir / name
            if target.exists():
                target.replace(target.with_name(f"{name}.before-restore-{stamp}"))
            partial = target.with_name(name + ".partial")
            partial.write_bytes(_member(tar, name))
            partial.chmod(0o600)
            partial.replace(target)
    wal = data_dir / (DB_FILE + ".wal")  # the replaced database's, which is not this one's
    if wal.exists():
        wal.replace(wal.with_name(f"{wal.name}.before-restore-{stamp}"))
    return list(manifest["files"])


def _member(tar: tarfile.TarFile, name: str) -> bytes:
    extracted = tar.extractfile(name)
    if extracted is None:
        raise ValueError(f"{name} is missing from the backup")
    return extracted.read()


def _refuse_if_open(db_file: Path) -> None:
    if not db_file.exists():
        return
    try:
        duckdb.connect(str(db_file)).close()
    except duckdb.IOException as exc:
        raise RuntimeError(f"{db_file} is open in another process: stop the app first") from exc


def main(argv: list[str]) -> int:
    if len(argv) in (2, 3) and argv[0] == "make":
        backup = make(Path(argv[1]), Path(argv[2]) if len(argv) == 3 else None)
        print(f"{backup.path} ({backup.bytes:,} bytes)")
        return 0
    if len(argv) == 3 and argv[0] == "restore":
        restored = restore(Path(argv[1]), Path(argv[2]))
        print(f"restored {', '.join(restored)} into {argv[2]}")
        return 0
    print("usage:\n" + "\n".join(__doc__.strip().splitlines()[-2:]), file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (OSError, ValueError, RuntimeError, duckdb.Error) as exc:
        sys.exit(f"error: {exc}")
