"""The one check of path and query values before any view runs (and so before any query is built from them).

Both databases must answer the same to the same hostile URL: PostgreSQL refuses NUL in text and integers past
its column range, SQLite accepts both, so without this check one URL is a 404 on one and a 500 on the other.
The policy (README "URL and input values"):

- a path value with a control character (C0, DEL, C1), longer than `MAX_PATH_VALUE` characters, or an integer
  outside 0 .. 2**31-1 (every id column is a 32-bit integer) names nothing: 404, the normal error page;
- a query string with a value longer than `MAX_QUERY_VALUE`, a name longer than `MAX_PATH_VALUE`, or more than
  `MAX_QUERY_ARGS` arguments is malformed: 400;
- control characters in query names and values are removed before any view reads them, as browsers remove tab
  and newline from URLs: list filters keep their rule "anything odd is ignored, never an error", and `next`
  cannot smuggle `//host` past the redirect check behind a control character.

Form fields refuse control characters themselves, with a message beside the field (riskreg.validation).
Negative integers never reach a view: Werkzeug's `int` converter does not match a sign, so they are 404 already.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from flask import Flask, abort, request
from werkzeug.datastructures import ImmutableMultiDict

MAX_PATH_VALUE = 200
MAX_QUERY_VALUE = 2000
MAX_QUERY_ARGS = 100
MAX_ID = 2**31 - 1

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def init_app(app: Flask) -> None:
    # Registered before every other before-request function that could read the values (see web.init_app).
    app.before_request(check_request_values)


def check_request_values() -> None:
    """Abort with 404 (path) or 400 (query), or clean the query, as the module docstring says."""
    for value in (request.view_args or {}).values():
        if not path_value_ok(value):
            abort(404)
    pairs = list(request.args.items(multi=True))
    if not query_ok(pairs):
        abort(400)
    if any(_CONTROL.search(key) or _CONTROL.search(value) for key, value in pairs):
        request.args = ImmutableMultiDict([(_CONTROL.sub("", key), _CONTROL.sub("", value)) for key, value in pairs])


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
    return all(len(value) <= MAX_QUERY_VALUE and len(key) <= MAX_PATH_VALUE for key, value in pairs)
