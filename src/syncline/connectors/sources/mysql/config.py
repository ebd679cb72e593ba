"""Configuration of the MySQL and MariaDB source."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr

from syncline.connectors.config import ConnectorConfig


class MySQLConfig(ConnectorConfig):
    """How to reach the MySQL or MariaDB database that models are queried on."""

    host: str
    """Server host name or IP address."""

    port: int = Field(default=3306, ge=1, le=65535)
    """Server port; a numeric string is accepted too."""

    user: str
    """User to log in as; it only needs to read the tables that models use."""

    database: str
    """Database (schema) that unqualified table names resolve to."""

    password: SecretStr | None = None
    """Password of ``user``; leave out when the account has none."""

    charset: str = "utf8mb4"
    """Connection character set; ``utf8mb4`` carries every Unicode character."""

    ssl_ca: Path | None = None
    """CA certificate file; when set, the connection uses TLS and verifies the server."""

    ssl_cert: Path | None = None
    """Client certificate file, for servers that require one."""

    ssl_key: Path | None = None
    """Private key file of ``ssl_cert``."""

    ssl_verify_identity: bool = False
    """Also check that the server certificate names ``host``."""

    def connect_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``pymysql.connect``, password included: for the driver only."""
        kwargs: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "database": self.database,
            "password": self.password.get_secret_value() if self.password else "",
            "charset": self.charset,
            "connect_timeout": 10,
            "autocommit": True,
            # TIMESTAMP columns are stored in UTC; reading them in UTC keeps them exact.
            "init_command": "SET time_zone = '+00:00'",
        }
        if self.ssl_ca is not None:
            kwargs["ssl_ca"] = str(self.ssl_ca)
            kwargs["ssl_verify_cert"] = True
            kwargs["ssl_verify_identity"] = self.ssl_verify_identity
        if self.ssl_cert is not None:
            kwargs["ssl_cert"] = str(self.ssl_cert)
        if self.ssl_key is not None:
            kwargs["ssl_key"] = str(self.ssl_key)
        return kwargs
