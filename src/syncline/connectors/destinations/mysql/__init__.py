"""MySQL and MariaDB tables as a destination: a staging table, then set-based statements."""

from syncline.connectors.destinations.mysql.client import MySQLDestination
from syncline.connectors.destinations.mysql.config import MySQLDestinationConfig

__all__ = ["MySQLDestination", "MySQLDestinationConfig"]
