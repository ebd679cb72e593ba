"""Helpers of the source tests: run SQL on the test servers, find a closed port."""

from __future__ import annotations

import socket
from typing import Any

import psycopg
import pymysql

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5"
"""Where the PostgreSQL test databases are created and dropped from."""


def closed_port() -> int:
    """A loopback TCP port that nothing listens on: bound, never listened on, then freed."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def pg_run(config: dict[str, Any], *statements: str) -> None:
    """Run ``statements`` in the PostgreSQL database of ``config``, committed."""
    conninfo = f"host=127.0.0.1 port=5432 user=postgres dbname={config['database']}"
    with psycopg.connect(conninfo, autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement.encode())


def mysql_run(config: dict[str, Any], *statements: str) -> None:
    """Run ``statements`` in the MariaDB database of ``config``, committed."""
    with mysql_admin(config["database"]) as connection, connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
        connection.commit()


def mysql_admin(database: str | None = None) -> pymysql.Connection[Any]:
    """A root connection to the MariaDB test server."""
    return pymysql.connect(
        host="127.0.0.1", port=3306, user="root", password="", database=database, charset="utf8mb4"
    )


class RejectingPostgres:
    """A loopback server speaking just enough of PostgreSQL's protocol to refuse a password.

    The real test server trusts every loopback login, so a wrong password can only be
    shown this way: it asks for a clear-text password, records it, and answers with the
    server's own error (SQLSTATE 28P01).
    """

    def __init__(self) -> None:
        import threading

        self.received_password: str | None = None
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._server.getsockname()[1])
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> RejectingPostgres:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.close()
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        import struct

        try:
            client, _ = self._server.accept()
        except OSError:
            return
        with client:
            while True:
                length, code = struct.unpack("!ii", _read(client, 8))
                if code in (80877103, 80877104):  # SSL or GSS encryption request: refuse
                    client.sendall(b"N")
                    continue
                _read(client, length - 8)  # the startup parameters
                break

            client.sendall(b"R" + struct.pack("!ii", 8, 3))  # clear-text password, please
            _, length = struct.unpack("!ci", _read(client, 5))
            self.received_password = _read(client, length - 4).rstrip(b"\0").decode()

            fields = b"SFATAL\0VFATAL\0C28P01\0Mpassword authentication failed for user\0\0"
            client.sendall(b"E" + struct.pack("!i", len(fields) + 4) + fields)


def _read(client: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = client.recv(count - len(data))
        if not chunk:
            raise ConnectionError("client went away")
        data += chunk
    return data
