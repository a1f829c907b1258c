"""Where a state store is: what ``--state`` (or ``DESTKIT_STATE``) says, and opening it.

- a path (``.destkit/state.db``, ``~/destkit/state.db``: ``~/`` is the home folder) or
  ``sqlite:///relative.db`` / ``sqlite:////absolute.db``: an SQLite file, the embedded default
  for one machine;
- ``postgresql://user:password@host:5432/database`` (or ``postgres://``): a PostgreSQL store
  that any number of processes on any machines can share. Two query parameters are destkit's
  own: ``schema`` (``destkit`` by default) and ``pool_size`` (10); the others go to the driver
  (``sslmode``, ``host`` for a Unix socket folder...).

What is printed of a location never shows a password.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from .contract import StateError, StateStore

__all__ = [
    "DEFAULT_STATE_PATH",
    "STATE_ENV",
    "PostgreSQLLocation",
    "default_location",
    "open_store",
    "describe_location",
]

DEFAULT_STATE_PATH = Path(".destkit") / "state.db"
#: The environment variable that gives ``--state`` its default.
STATE_ENV = "DESTKIT_STATE"
_SCHEMA = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


@dataclass(frozen=True)
class PostgreSQLLocation:
    dsn: str
    schema: str
    pool_size: int
    user: str
    database: str
    server: str
    display: str


def default_location(environ: Mapping[str, str] | None = None) -> str:
    """``DESTKIT_STATE`` when set, else the SQLite file ``.destkit/state.db``."""
    env = os.environ if environ is None else environ
    return env.get(STATE_ENV) or str(DEFAULT_STATE_PATH)


def _is_postgresql(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://"))


def _sqlite_path(location: str) -> Path:
    if location.startswith("sqlite:"):
        if not location.startswith("sqlite:///") or location == "sqlite:///":
            raise StateError(f"{location}: an SQLite URL is sqlite:///relative/path.db or sqlite:////absolute/path.db")
        return Path(location[len("sqlite:///") :])
    if "://" in location:
        scheme = location.split("://", 1)[0]
        raise StateError(f"{scheme}://...: not a state store destkit knows (a file path, sqlite:///path or postgresql://...)")
    return _from_home(location)


def _from_home(path: str) -> Path:
    """``~`` and ``~/...`` from the home folder, as a shell would have done had it seen them
    (``DESTKIT_STATE`` in a unit file, a quoted ``--state``); ``~name.db`` stays a file name."""
    if path != "~" and not path.startswith("~/"):
        return Path(path)
    try:
        return Path(path).expanduser()
    except RuntimeError:
        raise StateError(f"{path}: no home folder to start '~' from (set HOME, or give the whole path)") from None


def parse_postgresql(location: str) -> PostgreSQLLocation:
    """Split destkit's own parameters from the driver's; describe the server without the password."""
    parts = urlsplit(location)
    options = parse_qsl(parts.query, keep_blank_values=True)
    driver = [(name, value) for name, value in options if name not in ("schema", "pool_size")]
    ours = dict(options)
    schema = ours.get("schema", "destkit")
    if not _SCHEMA.match(schema):
        raise StateError(f"schema={schema!r}: a schema name is letters, digits and '_' (at most 63)")
    try:
        pool_size = int(ours.get("pool_size", "10"))
    except ValueError:
        pool_size = 0
    if not 1 <= pool_size <= 200:
        raise StateError(f"pool_size={ours.get('pool_size')!r}: a number of connections from 1 to 200")
    host = parts.hostname or dict(driver).get("host") or "localhost"
    server = host if host.startswith("/") else f"{host}:{parts.port or 5432}"
    user = unquote(parts.username or "") or os.environ.get("PGUSER") or "(the system user)"
    database = unquote(parts.path.lstrip("/")) or user
    masked_netloc = parts.netloc
    if parts.password is not None:
        masked_netloc = f"{quote(unquote(parts.username or ''), safe='')}:***@" + parts.netloc.rsplit("@", 1)[1]
    display = urlunsplit((parts.scheme, masked_netloc, parts.path, parts.query, ""))
    dsn = urlunsplit(("postgresql", parts.netloc, parts.path, urlencode(driver), ""))
    return PostgreSQLLocation(dsn, schema, pool_size, user, database, server, display)


def describe_location(location: str | os.PathLike[str]) -> str:
    """The location fit to print: a PostgreSQL password is masked."""
    text = str(location)
    return parse_postgresql(text).display if _is_postgresql(text) else text


def open_store(location: str | os.PathLike[str] | None = None, *, create: bool = True) -> StateStore:
    """The store at ``location`` (``DESTKIT_STATE``, else ``.destkit/state.db``, when None), not
    yet opened: ``async with open_store(...) as store``. With ``create=False`` (commands that
    only read or tidy), a store that does not exist yet is an error rather than a new empty one."""
    text = default_location() if location is None else str(location)
    if not text:
        raise StateError("--state is empty: give a path or a postgresql:// URL")
    if _is_postgresql(text):
        from .postgresql import PostgreSQLStore

        return PostgreSQLStore(parse_postgresql(text), create=create)
    from .sqlite import SQLiteStore

    return SQLiteStore(_sqlite_path(text), create=create)
