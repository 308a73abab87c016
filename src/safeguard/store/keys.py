"""Secrets and state kept beside the store but outside the database: keys and audit checkpoints.

A copy of the database (a stolen file, a backup) must not carry what protects it. The key
folder is ``SAFEGUARD_KEY_DIR`` when set, else ``keys/`` in the state folder: the folder of the
SQLite file, or ``SAFEGUARD_STATE_DIR`` (default ``var``) for a server database. Keys are
created on first use, 32 random bytes each, in files of mode 0600 inside a folder of mode 0700;
every process of one installation must see the same folder (for PostgreSQL servers, set
``SAFEGUARD_KEY_DIR`` to a shared, protected path). Losing a key loses what it protects:
back the key folder up separately from the database.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from sqlalchemy.engine import URL, make_url

KEY_BYTES = 32


def _url(database_url: str | URL) -> URL:
    if isinstance(database_url, URL):
        return database_url
    return make_url(database_url.replace("postgresql://", "postgresql+psycopg://", 1))


def state_dir(database_url: str | URL) -> Path:
    """Where files that belong with a store live: beside an SQLite file, else the state dir."""
    url = _url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).resolve().parent
    return Path(os.environ.get("SAFEGUARD_STATE_DIR", "var"))


def store_id(database_url: str | URL) -> str:
    """A short name for one database (host, port, name or file; never the password)."""
    url = _url(database_url)
    where = f"{url.get_backend_name()}:{url.host or ''}:{url.port or ''}:{url.database or ''}"
    if url.get_backend_name() == "sqlite" and url.database:
        where = f"sqlite:{Path(url.database).resolve()}"
    return hashlib.sha256(where.encode()).hexdigest()[:16]


def key_dir(database_url: str | URL) -> Path:
    configured = os.environ.get("SAFEGUARD_KEY_DIR")
    return Path(configured) if configured else state_dir(database_url) / "keys"


_LOADED: dict[Path, bytes] = {}


def load_key(database_url: str | URL, name: str) -> bytes:
    """The key ``name`` of this installation, created (0600) on first use."""
    folder = key_dir(database_url)
    path = (folder / f"{name}.key").absolute()
    if path in _LOADED and path.exists():
        return _LOADED[path]
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = secrets.token_bytes(KEY_BYTES)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            data = path.read_bytes()
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
    if len(data) != KEY_BYTES:
        raise ValueError(f"{path} is not a {KEY_BYTES}-byte key")
    _LOADED[path] = data
    return data
