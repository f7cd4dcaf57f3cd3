"""The one check of path and query values before any view runs (and so before any query is built from them).

Both databases must answer the same to the same hostile URL: PostgreSQL refuses NUL in text and integers past
its column range, SQLite accepts both, so without this check one URL is a 404 on one and a 500 on the other.
The policy (README "URL and input values"):

- a path value with a control character (C0, DEL, C1), longer than `MAX_PATH_VALUE` characters, or an integer
  outside 0 .. 2**31-1 (every id column is a 32-bit integer) names nothing: 404, the normal error page;
- a query string with a control character in a name or value, a value longer than `MAX_QUERY_VALUE`, or more
  than `MAX_QUERY_ARGS` arguments is malformed: 400;
- a form value holding NUL is malformed (no database stores it, no person types it): 400. Other control
  characters in forms are the forms' own business (riskreg.validation), with a message beside the field.

Negative integers never reach a view: Werkzeug's `int` converter does not match a sign, so they are 404 already.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from flask import Flask, abort, request
from werkzeug.datastructures import MultiDict

MAX_PATH_VALUE = 200
MAX_QUERY_VALUE = 2000
MAX_QUERY_ARGS = 100
MAX_ID = 2**31 - 1

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def init_app(app: Flask) -> None:
    # Registered before every other before-request function that could read the values (see web.init_app).
    app.before_request(check_request_values)


def check_request_values() -> None:
    """Abort with 404 (path) or 400 (query, form) when a value breaks the policy in the module docstring."""
    for value in (request.view_args or {}).values():
        if not path_value_ok(value):
            abort(404)
    if not query_ok(list(request.args.items(multi=True))):
        abort(400)
    if request.method in _BODY_METHODS and request.mimetype in _FORM_TYPES and _has_nul(request.form):
        abort(400)


def _has_nul(form: MultiDict[str, str]) -> bool:
    return any("\x00" in key or "\x00" in value for key, value in form.items(multi=True))


def path_value_ok(value: object) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return 0 <= value <= MAX_ID
    if isinstance(value, str):
        return len(value) <= MAX_PATH_VALUE and not _CONTROL.search(value)
    return True


def query_ok(pairs: Sequence[tuple[str, str]]) -> bool:
    if len(pairs) > MAX_QUERY_ARGS:
        return False
    for key, value in pairs:
        if len(value) > MAX_QUERY_VALUE or len(key) > MAX_PATH_VALUE:
            return False
        if _CONTROL.search(key) or _CONTROL.search(value):
            return False
    return True
