"""The set-based statements that apply one staged batch to a table, per action and dialect.

Every statement reads the rows ``lo <= _syncline_row < hi`` of the staging table ``s``
(two bound parameters), so that a failing range can be bisected without restaging; an
action that takes two statements runs both on the same range.
"""

from __future__ import annotations

from dataclasses import dataclass

from syncline.connectors.destinations.base import WriteAction
from syncline.connectors.destinations.sql.identifiers import quote
from syncline.connectors.destinations.sql.values import ROW_COLUMN

RANK_COLUMN = "_syncline_rank"


@dataclass(frozen=True)
class Statements:
    """SQL for one batch: its target table, staging table, columns and id column."""

    dialect: str
    target: str
    """The quoted, qualified target table."""
    stage: str
    """The quoted staging table."""
    columns: tuple[str, ...]
    id_field: str
    placeholder: str = "%s"
    other_unique_keys: bool = False
    """Whether the table has a unique key besides the id's that a row could collide on."""

    def _q(self, name: str) -> str:
        return quote(name, self.dialect)

    @property
    def _range(self) -> str:
        row = f"s.{self._q(ROW_COLUMN)}"
        return f"{row} >= {self.placeholder} AND {row} < {self.placeholder}"

    @property
    def _match(self) -> str:
        ident = self._q(self.id_field)
        return f"t.{ident} = s.{ident}"

    @property
    def _values(self) -> list[str]:
        return [c for c in self.columns if c != self.id_field]

    def _insert_select(self) -> str:
        names = ", ".join(self._q(c) for c in self.columns)
        selected = ", ".join(f"s.{self._q(c)}" for c in self.columns)
        return f"INSERT INTO {self.target} ({names}) SELECT {selected} FROM {self.stage} s"

    def apply(self, action: WriteAction) -> tuple[str, ...]:
        """The statements for ``action``, in order; none when there is nothing to write."""
        if action is WriteAction.UPSERT:
            if self.dialect == "mysql" and self.other_unique_keys:
                return self.update_then_insert()
            return (self.upsert(),)
        if action is WriteAction.UPDATE:
            update = self.update()
            return () if update is None else (update,)
        if action is WriteAction.INSERT:
            return (f"{self._insert_select()} WHERE {self._range} AND NOT {self._exists()}",)
        if action is WriteAction.APPEND:
            return (f"{self._insert_select()} WHERE {self._range}",)
        return (self.delete(),)

    def upsert(self) -> str:
        """Insert the rows, replacing the fields of rows whose id already exists."""
        ident = self._q(self.id_field)
        values = self._values
        if self.dialect == "mysql":
            # ON DUPLICATE KEY UPDATE replaces the record that any unique key matches, so
            # it is right only when the id's key is the table's one unique key.
            pairs = [f"{self._q(c)} = VALUES({self._q(c)})" for c in values]
            updates = ", ".join(pairs or [f"{ident} = {ident}"])
            return f"{self._insert_select()} WHERE {self._range} ON DUPLICATE KEY UPDATE {updates}"

        rows = f"{self._insert_select()} WHERE {self._range}"
        if self.dialect == "duckdb":
            # DuckDB silently keeps the first of two rows with one id in a single upsert;
            # the batch's order says the last one is current.
            rows = f"{self._insert_select()} WHERE {self._last_in_range()}"
        if not values:
            return f"{rows} ON CONFLICT ({ident}) DO NOTHING"
        updates = ", ".join(f"{self._q(c)} = excluded.{self._q(c)}" for c in values)
        return f"{rows} ON CONFLICT ({ident}) DO UPDATE SET {updates}"

    def update_then_insert(self) -> tuple[str, ...]:
        """An upsert that matches records by the id alone, for MySQL tables with other keys.

        The rows whose id exists are updated, the others inserted: a row whose value in
        another unique key belongs to another record fails the statement (the bisection
        then rejects just that row) rather than overwriting that record.
        """
        names = ", ".join(self._q(c) for c in self.columns)
        selected = ", ".join(f"s.{self._q(c)}" for c in self.columns)
        insert = (
            f"INSERT INTO {self.target} ({names}) SELECT {selected} FROM {self._latest()} s "
            f"WHERE s.{self._q(RANK_COLUMN)} = 1 AND NOT {self._exists()}"
        )
        update = self.update()
        return (insert,) if update is None else (update, insert)

    def update(self) -> str | None:
        """Change the fields of the rows whose id exists; other rows change nothing."""
        values = self._values
        if not values:
            return None
        # When a batch repeats an id, the update must take its last row, not any one of them.
        rank = self._q(RANK_COLUMN)
        if self.dialect == "mysql":
            sets = ", ".join(f"t.{self._q(c)} = s.{self._q(c)}" for c in values)
            return (
                f"UPDATE {self.target} t JOIN {self._latest()} s ON {self._match} "
                f"SET {sets} WHERE s.{rank} = 1"
            )
        sets = ", ".join(f"{self._q(c)} = s.{self._q(c)}" for c in values)
        if self.dialect == "duckdb":
            return (
                f"UPDATE {self.target} AS t SET {sets} FROM {self.stage} s "
                f"WHERE {self._match} AND {self._last_in_range()}"
            )
        return (
            f"UPDATE {self.target} AS t SET {sets} FROM {self._latest()} s "
            f"WHERE {self._match} AND s.{rank} = 1"
        )

    def _last_in_range(self) -> str:
        """A condition on staged row ``s``: it is in range and the last there with its id.

        For DuckDB, whose window operator turns a float -0.0 among the rows it carries
        into 0.0: the window ranks the positions alone, and the values are read from the
        staging table itself.
        """
        ident = self._q(self.id_field)
        row = self._q(ROW_COLUMN)
        last = (
            f"SELECT s.{row} FROM {self.stage} s WHERE {self._range} "
            f"QUALIFY row_number() OVER (PARTITION BY s.{ident} ORDER BY s.{row} DESC) = 1"
        )
        return f"s.{row} IN ({last})"

    def _latest(self) -> str:
        """The staged rows in range, each ranked 1 when it is the last with its id."""
        ident = self._q(self.id_field)
        row = self._q(ROW_COLUMN)
        return (
            f"(SELECT s.*, row_number() OVER (PARTITION BY s.{ident} ORDER BY s.{row} DESC) "
            f"AS {self._q(RANK_COLUMN)} FROM {self.stage} s WHERE {self._range})"
        )

    def delete(self) -> str:
        """Remove the rows whose id is staged; ids already gone change nothing."""
        if self.dialect == "mysql":
            return (
                f"DELETE t FROM {self.target} t JOIN {self.stage} s ON {self._match} "
                f"WHERE {self._range}"
            )
        if self.dialect == "sqlite":
            ident = self._q(self.id_field)
            return (
                f"DELETE FROM {self.target} WHERE {ident} IN "
                f"(SELECT s.{ident} FROM {self.stage} s WHERE {self._range})"
            )
        return (
            f"DELETE FROM {self.target} AS t USING {self.stage} s "
            f"WHERE {self._match} AND {self._range}"
        )

    def _exists(self) -> str:
        return f"EXISTS (SELECT 1 FROM {self.target} t WHERE {self._match})"

    def unmatched(self, *, present: bool) -> str:
        """Staged rows (position, id) whose id is present in the table, or absent from it."""
        ident = self._q(self.id_field)
        condition = self._exists() if present else f"NOT {self._exists()}"
        row = self._q(ROW_COLUMN)
        return f"SELECT s.{row}, s.{ident} FROM {self.stage} s WHERE {condition} ORDER BY s.{row}"
