"""Tests read a store's rows through a read-only connection of their own, never through the Store (the
only module that talks to SQLite)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from almeval.store import Store


def _connect(where: Path | Store) -> sqlite3.Connection:
    path = where.path if isinstance(where, Store) else Path(where)
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def fetch(where: Path | Store, sql: str, params: tuple | list = ()) -> list[tuple]:
    with _connect(where) as con:
        return con.execute(sql, params).fetchall()


def one(where: Path | Store, sql: str, params: tuple | list = ()) -> tuple:
    with _connect(where) as con:
        return con.execute(sql, params).fetchone()


def dicts(where: Path | Store, sql: str, params: tuple | list = ()) -> list[dict[str, Any]]:
    with _connect(where) as con:
        con.row_factory = sqlite3.Row
        return [dict(r) for r in con.execute(sql, params).fetchall()]
