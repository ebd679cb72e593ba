"""MySQL and MariaDB source: PyMySQL with an unbuffered cursor, built into Arrow columns."""

from syncline.connectors.sources.mysql.client import MySQLSource
from syncline.connectors.sources.mysql.config import MySQLConfig

__all__ = ["MySQLConfig", "MySQLSource"]
