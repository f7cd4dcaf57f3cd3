"""The sign-in `next` parameter only ever leads to a path on this site (security.md F1).

Vectors come from Django's two CVEs on the same check (2014-3730, 2015-2317) and from how browsers read a
Location header: they drop tabs and newlines, trim leading control characters and spaces, and treat `\\` as `/`.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st

from riskreg.auth.views import safe_next
from riskreg.models import Role
from tests.conftest import PASSWORD, login
from tests.factories import make_user
from tests.security_world import record_summary

OFFSITE = [
    "https://evil.example",
    "http://evil.example/risks",
    "HTTPS://EVIL.EXAMPLE",
    "//evil.example",
    "///evil.example",
    "////evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\\/evil.example",
    "http:\\\\evil.example",
    "http:/\\/\\evil.example",
    "https:evil.example",
    "https:/evil.example",
    "\x08//evil.example",
    "\x00//evil.example",
    "\x1f/evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(document.domain)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "vbscript:msgbox(1)",
    "data:text/html,<script>alert(1)</script>",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "%2F%2Fevil.example",
    "%2f%2fevil.example",
    "/%2F/evil.example",
    "  //evil.example",
    "\u3000//evil.example",
    "\t//evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "\r\n//evil.example",
    "/\r/evil.example",
    "//evil.example/%2e%2e",
    "//evil.example@localhost",
    "https://localhost@evil.example",
    "http://localhost.evil.example",
    "//localhost%2F@evil.example",
    "evil.example",
    "ftp://evil.example",
    "mailto:someone@evil.example",
    "/%09/evil.example",
    "/%5Cevil.example",
    "/.//evil.example",
    "//evil.example\\@localhost",
]

ON_SITE = ["/", "/risks", "/risks?unit=GS-FRMD&page=2", "/risks/FRMD-2026-004#actions", "/review/?cycle=2026-Q1"]


def lands_on_this_site(location: str, base: str = "http://localhost/login") -> bool:
    """Whether a browser given this Location stays on `base`'s origin."""
    # What the WHATWG URL parser does before anything else: strip C0 controls and spaces at both ends, remove
    # tabs and newlines anywhere, and read backslashes as slashes in special (http/https) URLs.
    cleaned = re.sub(r"[\t\n\r]", "", location).strip("".join(map(chr, range(0x21)))).replace("\\", "/")
    target = urlsplit(urljoin(base, cleaned))
    origin = urlsplit(base)
    return (target.scheme, target.netloc) == (origin.scheme, origin.netloc)


def test_the_vector_list_is_long_enough() -> None:
    assert len(OFFSITE) >= 15
    assert sum(not lands_on_this_site(v) for v in OFFSITE) >= 30  # most would leave the site if followed


@pytest.mark.parametrize("vector", OFFSITE, ids=[repr(v)[1:-1][:40] for v in OFFSITE])
def test_safe_next_refuses_or_keeps_on_site(vector: str) -> None:
    result = safe_next(vector)
    assert result is None or lands_on_this_site(result)
    if not lands_on_this_site(vector):
        assert result is None


@pytest.mark.parametrize("path", ON_SITE)
def test_safe_next_keeps_local_paths(path: str) -> None:
    assert safe_next(path) == path


@pytest.mark.parametrize("value", [None, "", "risks", "/" + "a" * 2000, "/risks ", " /risks"])
def test_safe_next_refuses_odd_values(value: str | None) -> None:
    assert safe_next(value) is None


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("/\\:.@%?#&= \t\n\r\x00\x08\u3000aehlptvxjs2F5C"), max_size=24))
def test_safe_next_never_returns_an_offsite_target(value: str) -> None:
    result = safe_next(value)
    assert result is None or (result == value and lands_on_this_site(result))


def _location(response: Any) -> str:
    assert response.status_code == 302, response.status_code
    return str(response.location)


def test_sign_in_redirects_only_to_this_site(app: Flask) -> None:
    with app.app_context():
        email = make_user(role=Role.VIEWER, email="next@example.org").email
    offsite = []
    for vector in OFFSITE:
        client = app.test_client()
        response = client.post("/login", query_string={"next": vector}, data={"email": email, "password": PASSWORD})
        location = _location(response)
        if not lands_on_this_site(location):
            offsite.append((vector, location))
        # Already signed in, the login page forwards to `next` too: same rule.
        again = _location(client.get("/login", query_string={"next": vector}))
        if not lands_on_this_site(again):
            offsite.append((vector, again))
    for path in ON_SITE:
        client = app.test_client()
        login(client, email)
        assert _location(client.get("/login", query_string={"next": path})) == path
    record_summary(
        "open_redirect",
        app.config["SQLALCHEMY_DATABASE_URI"].split(":")[0].split("+")[0],
        {"vectors": len(OFFSITE), "requests": 2 * len(OFFSITE), "offsite_redirects": len(offsite)},
    )
    assert not offsite
