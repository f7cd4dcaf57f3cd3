"""Database connection policy: SQLite pragmas and write locking; nothing here runs at import time.

SQLite gets foreign keys, WAL and a busy timeout on every connection (security.md L1). Write requests
start with BEGIN IMMEDIATE so that a read-then-write never fails with SQLITE_BUSY half-way (J6).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from flask import Flask, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_busy_timeout_ms = 5000


def init_app(app: Flask) -> None:
    global _busy_timeout_ms
    _busy_timeout_ms = int(app.config["SQLITE_BUSY_TIMEOUT_MS"])
    if not event.contains(Engine, "connect", _on_connect):
        event.listen(Engine, "connect", _on_connect)
        event.listen(Engine, "begin", _on_begin)


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # Take transaction control from the sqlite3 module so _on_begin can choose the BEGIN kind.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(_busy_timeout_ms)}")
    # In-memory databases cannot use WAL; the pragma answers "memory" there and that is fine.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def _on_begin(connection: Connection) -> None:
    if connection.dialect.name != "sqlite":
        return
    if connection.info.get("riskreg_no_begin"):
        return
    reading = has_request_context() and request.method in _READ_METHODS
    connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")
