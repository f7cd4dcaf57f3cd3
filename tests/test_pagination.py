"""Register pages: every sort and direction pages through every risk exactly once in the documented order (NULL
keys last either way, id breaking ties), whichever end a page is read from, in a fixed number of statements.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, select

from riskreg.audit import SYSTEM
from riskreg.extensions import db
from riskreg.models import Risk, Role, User
from riskreg.risks import operations as ops
from riskreg.risks import queries
from tests.conftest import login
from tests.factories import category, make_risk, make_unit, make_user

COORD = "coord@example.org"
ZONE_RANK = {"outside_tolerance": 3, "above_appetite": 2, "within_appetite": 1, "not_evaluated": 0}
SORTS = ["ref", "title", "residual", "zone", "assessed"]


@pytest.fixture(autouse=True)
def quick_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    from argon2 import PasswordHasher

    from riskreg.auth import passwords

    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))


@pytest.fixture
def register(app: Flask) -> None:
    """17 live risks with tied titles, scores and dates, three never assessed (NULL score, date), one deleted."""
    with app.app_context():
        make_user(role=Role.COORDINATOR, email=COORD)
        first, second = make_unit(code="GS-ONE"), make_unit(code="GS-TWO")
        points = [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (3, 3), (2, 4), (4, 2), (5, 1), (1, 5), (3, 4), (4, 4)]
        points.append((2, 2))
        titles = ["Bravo", "Alpha", "Delta", "Bravo", "Charlie", "Echo", "Alpha", "Foxtrot"]
        for n, point in enumerate(points):
            make_risk(
                unit=first if n % 2 else second,
                title=titles[n % len(titles)],
                category_code=("FIN", "ICT", "OPS")[n % 3],
                residual=point,
                assessed_on=date.today() - timedelta(days=(n % 4) * 30),
            )
        fin = category("FIN").id
        for n in range(3):
            data = ops.RiskInput(titles[n], "cause", "event", "consequence", fin, "Chief")
            ops.create_risk(db.session, SYSTEM, data, first.id)
        gone = make_risk(unit=first, title="Alpha", residual=(5, 5))
        ops.delete_risk(db.session, SYSTEM, gone, "duplicate", gone.version)


def expected_order(sort: str, direction: str) -> list[str]:
    """The list's order as documented, computed in Python from every live risk."""
    rows = db.session.execute(
        select(Risk.id, Risk.ref, Risk.title, Risk.residual_score, Risk.zone, Risk.last_assessed_on).where(
            Risk.deleted_at.is_(None)
        )
    ).all()
    descending = direction == "desc"

    def keys(row: Any) -> list[Any]:
        return {
            "ref": [row.ref],
            "title": [row.title],
            "residual": [row.residual_score],
            "zone": [ZONE_RANK[row.zone.value], row.residual_score],
            "assessed": [row.last_assessed_on],
        }[sort]

    def compare(a: Any, b: Any) -> int:
        for x, y in zip(keys(a), keys(b), strict=True):
            if x == y:
                continue
            if x is None or y is None:
                return 1 if x is None else -1  # NULLs last, whichever the direction
            return (1 if x < y else -1) if descending else (-1 if x < y else 1)
        return (1 if a.id < b.id else -1) if descending else (-1 if a.id < b.id else 1)

    return [row.ref for row in sorted(rows, key=functools.cmp_to_key(compare))]


def coordinator() -> User:
    return db.session.scalars(select(User).where(User.email == COORD)).one()


@pytest.mark.parametrize("per_page", [3, 5])
def test_every_sort_pages_through_every_risk_once_in_order(app: Flask, register: None, per_page: int) -> None:
    with app.app_context():
        user = coordinator()
        for sort in SORTS:
            for direction in ("asc", "desc"):
                expected = expected_order(sort, direction)
                assert len(expected) == 16
                shown: list[str] = []
                for number in range(1, 1 + -(-len(expected) // per_page)):
                    filters = queries.RegisterFilters(sort=sort, direction=direction, page=number, per_page=per_page)
                    page = queries.register_page(db.session, user, filters, today=date.today(), default_per_page=50)
                    assert page.total == len(expected)
                    shown.extend(r.ref for r in page.rows)
                assert shown == expected, (sort, direction)


def test_filtered_pages_keep_the_order_within_the_filter(app: Flask, register: None) -> None:
    with app.app_context():
        user = coordinator()
        ict = category("ICT").id
        for sort in SORTS:
            wanted = [
                ref
                for ref in expected_order(sort, "desc")
                if db.session.scalar(select(Risk.category_id).where(Risk.ref == ref)) == ict
            ]
            shown: list[str] = []
            number, pages = 1, 1
            while number <= pages:
                filters = queries.RegisterFilters(category="ICT", sort=sort, page=number, per_page=2, direction="desc")
                page = queries.register_page(db.session, user, filters, today=date.today(), default_per_page=50)
                shown.extend(r.ref for r in page.rows)
                number, pages = number + 1, page.pages
            assert len(wanted) == 4
            assert shown == wanted, sort


@contextmanager
def counting_statements(app: Flask) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_statements_per_page_do_not_grow_with_depth(app: Flask, register: None) -> None:
    client = app.test_client()
    login(client, COORD)
    counts = {}
    for sort in ("residual", "title"):
        for page in (1, 2):
            with counting_statements(app) as statements:
                response = client.get("/risks", query_string={"per_page": 10, "page": page, "sort": sort})
            assert response.status_code == 200
            counts[sort, page] = len(statements)
    # One more only when a page straddles the risks with and without a score (one query per part of the order).
    assert counts["residual", 2] <= counts["residual", 1] + 1
    assert counts["title", 2] == counts["title", 1]


def test_the_pager_walks_from_first_to_last_page(app: Flask, register: None) -> None:
    client = app.test_client()
    login(client, COORD)
    url: str | None = "/risks?per_page=10&sort=title&dir=asc"
    seen: list[str] = []
    while url:
        html = client.get(url).text
        seen.extend(re.findall(r'<td class="ref"><a href="/risks/([^"]+)">', html))
        found = re.search(r'<a class="button button-quiet" href="([^"]+)">Next', html)
        url = found.group(1).replace("&amp;", "&") if found else None
    with app.app_context():
        assert seen == expected_order("title", "asc")
    last = client.get("/risks?per_page=10&sort=title&dir=asc&page=2").text
    assert "Showing <strong>11–16</strong> of <strong>16</strong>" in last
