"""The register list: filters, literal search, sorting, pages, scope, deleted risks, and its query count."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select

from riskreg.audit import SYSTEM
from riskreg.extensions import db
from riskreg.models import Risk, Role
from riskreg.policy import load_bundled_policy
from riskreg.risks import operations as ops
from tests.conftest import login
from tests.factories import category, make_risk, make_unit, make_user

FP = "fp.frmd@example.org"
COORD = "coord@example.org"


@pytest.fixture(autouse=True)
def quick_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    from argon2 import PasswordHasher

    from riskreg.auth import passwords

    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))


@dataclass(frozen=True)
class Register:
    percent: str  # "Budget 100% funded", FIN, 2x2 Low, within appetite
    underscore: str  # "Cash a_b shortfall", FIN, 3x3 Medium, above appetite, owner Head of Treasury
    plain: str  # "Conference venue lost", OPS, 4x4 High, outside tolerance, overdue action
    ict: str  # another unit's risk, 5x5 Critical
    deleted: str  # FRMD, soft-deleted


@pytest.fixture
def register(app: Flask) -> Register:
    with app.app_context():
        # conftest's TRUNCATE ... CASCADE of users also empties appetite_statements on PostgreSQL.
        load_bundled_policy(db.session, SYSTEM)
        db.session.commit()
        frmd = make_unit(code="GS-FRMD", name="Financial Resources")
        ict = make_unit(code="GS-ICT", name="Information Services")
        make_user(role=Role.FOCAL_POINT, unit=frmd, email=FP)
        make_user(role=Role.COORDINATOR, email=COORD)
        percent = make_risk(unit=frmd, title="Budget 100% funded", residual=(2, 2))
        underscore = make_risk(unit=frmd, title="Cash a_b shortfall", residual=(3, 3), owner_title="Head of Treasury")
        plain = make_risk(unit=frmd, title="Conference venue lost", category_code="OPS", residual=(4, 4))
        late = date.today() - timedelta(days=3)
        ops.add_action(db.session, SYSTEM, plain, ops.ActionInput("Book a backup venue", "Chief, Conferences", late))
        other = make_risk(unit=ict, title="Marker ICT ransomware", category_code="ICT", residual=(5, 5))
        deleted = make_risk(unit=frmd, title="Deleted marker risk", residual=(5, 5))
        ops.delete_risk(db.session, SYSTEM, deleted, "duplicate", deleted.version)
        return Register(percent.ref, underscore.ref, plain.ref, other.ref, deleted.ref)


def listed(html: str) -> list[str]:
    return re.findall(r'<td class="ref"><a href="/risks/([^"]+)">', html)


def as_user(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    login(client, email)
    return client


def refs(client: FlaskClient, **params: Any) -> list[str]:
    response = client.get("/risks", query_string=params)
    assert response.status_code == 200
    return listed(response.text)


# --------------------------------------------------------------------------- filters and search


def test_each_filter_narrows_the_list(app: Flask, register: Register) -> None:
    client = as_user(app, COORD)
    r = register
    assert sorted(refs(client)) == sorted([r.percent, r.underscore, r.plain, r.ict])
    assert refs(client, unit="GS-ICT") == [r.ict]
    assert refs(client, category="OPS") == [r.plain]
    assert refs(client, band="High") == [r.plain]
    assert refs(client, band="critical") == [r.ict]  # band names match whatever the case
    assert refs(client, zone="above_appetite") == [r.underscore]
    assert refs(client, zone="within_appetite") == [r.percent]
    assert refs(client, owner="treasury") == [r.underscore]
    assert refs(client, overdue="1") == [r.plain]
    assert refs(client, status="closed") == []
    assert sorted(refs(client, status="open", unit="GS-FRMD")) == sorted([r.percent, r.underscore, r.plain])


def test_unknown_filter_values_are_ignored_not_errors(app: Flask, register: Register) -> None:
    client = as_user(app, COORD)
    everything = sorted(refs(client))
    assert sorted(refs(client, zone="purple", status="nope", band="Huge", sort="password", dir="up")) == everything
    assert refs(client, unit="NO-SUCH-UNIT") == []


def test_search_treats_percent_and_underscore_as_literal_characters(app: Flask, register: Register) -> None:
    client = as_user(app, FP)
    assert refs(client, q="%") == [register.percent]
    assert refs(client, q="_") == [register.underscore]
    assert refs(client, q="a_b") == [register.underscore]
    assert refs(client, q="100%") == [register.percent]
    assert refs(client, q="VENUE") == [register.plain]  # case does not matter
    assert set(refs(client, q="three months")) == {register.percent, register.underscore, register.plain}
    assert refs(client, q=register.plain) == [register.plain]  # the reference is searched too


def test_focal_point_never_sees_another_unit_or_deleted_risks(app: Flask, register: Register) -> None:
    client = as_user(app, FP)
    assert register.ict not in refs(client)
    assert refs(client, unit="GS-ICT") == []
    assert refs(client, q="Marker") == []
    assert register.deleted not in refs(client, q="Deleted marker")
    coordinator = as_user(app, COORD)
    assert refs(coordinator, q="Deleted marker") == []


# --------------------------------------------------------------------------- sorting and pages


def test_sorting_by_each_allowed_key_and_direction(app: Flask, register: Register) -> None:
    client = as_user(app, COORD)
    r = register
    by_score = [r.ict, r.plain, r.underscore, r.percent]  # 25, 16, 9, 4
    assert refs(client) == by_score  # default: residual score, highest first
    assert refs(client, sort="residual", dir="asc") == by_score[::-1]
    assert refs(client, sort="zone") == [r.ict, r.plain, r.underscore, r.percent]
    by_title = [r.percent, r.underscore, r.plain, r.ict]  # Budget…, Cash…, Conference…, Marker…
    assert refs(client, sort="title") == by_title
    assert refs(client, sort="title", dir="desc") == by_title[::-1]
    assert refs(client, sort="ref") == sorted(by_score)
    assert len(refs(client, sort="assessed")) == 4


def test_pages_cover_every_risk_once_and_show_counts(app: Flask, register: Register) -> None:
    with app.app_context():
        unit = db.session.scalars(select(Risk).where(Risk.ref == register.plain)).one().org_unit
        for n in range(9):
            make_risk(unit=unit, title=f"Extra risk {n}", residual=(1 + n % 5, 2))
    client = as_user(app, FP)
    first = client.get("/risks", query_string={"per_page": 10, "sort": "title"}).text
    assert "Showing <strong>1–10</strong> of <strong>12</strong> risks" in first
    second = client.get("/risks", query_string={"per_page": 10, "sort": "title", "page": 2}).text
    assert "Showing <strong>11–12</strong> of <strong>12</strong>" in second
    assert len(set(listed(first)) | set(listed(second))) == 12
    beyond = client.get("/risks", query_string={"per_page": 10, "sort": "title", "page": 99}).text
    assert listed(beyond) == listed(second)  # a page past the end shows the last page


def test_zone_counts_of_the_filtered_list(app: Flask, register: Register) -> None:
    text = as_user(app, FP).get("/risks").text
    counts = dict(re.findall(r'zone-(within|above|outside)">.*?</span> <span class="zone-count">(\d+)</span>', text))
    assert counts == {"within": "1", "above": "1", "outside": "1"}


# --------------------------------------------------------------------------- query count


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


def _add_risks(app: Flask, unit_code: str, count: int) -> None:
    with app.app_context():
        unit_id = db.session.scalar(select(Risk.org_unit_id).where(Risk.ref.like(unit_code + "-%")).limit(1))
        fin = category("FIN").id
        for n in range(count):
            data = ops.RiskInput(f"Bulk risk {n}", "a cause", "an event", "a consequence", fin, "Treasurer")
            assessment = ops.AssessmentInput(3, 4, 1 + n % 5, 1 + n % 4, rationale="bulk")
            risk = ops.create_risk(db.session, SYSTEM, data, unit_id, assessment=assessment, commit=False)
            if n % 3 == 0:
                due = date.today() - timedelta(days=1 + n)
                ops.add_action(db.session, SYSTEM, risk, ops.ActionInput("Overdue", "Treasurer", due), commit=False)
        db.session.commit()


def test_list_query_count_is_the_same_for_10_and_100_rows(app: Flask, register: Register) -> None:
    client = as_user(app, FP)
    _add_risks(app, "FRMD", 10 - 3)
    with counting_statements(app) as small:
        page = client.get("/risks?per_page=200")
    assert len(listed(page.text)) == 10
    _add_risks(app, "FRMD", 90)
    with counting_statements(app) as large:
        page = client.get("/risks?per_page=200")
    assert len(listed(page.text)) == 100
    assert len(small) == len(large), (small, large)
    print(f"register list: {len(large)} SQL statements for 10 and for 100 rows")


# --------------------------------------------------------------------------- no input reaches a 500

_TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40)
_PARAMS = st.fixed_dictionaries(
    {},
    optional={
        "q": st.one_of(_TEXT, st.sampled_from(["%", "_", "%_%", "\\", "'; DROP TABLE risks; --", "Marker"])),
        "sort": st.one_of(_TEXT, st.sampled_from(["ref", "title", "residual", "zone", "assessed"])),
        "dir": st.one_of(_TEXT, st.sampled_from(["asc", "desc"])),
        "page": st.one_of(_TEXT, st.integers(-5, 10**12).map(str)),
        "per_page": st.one_of(_TEXT, st.sampled_from(["10", "25", "200", "0", "-1", "1e3"])),
        "unit": st.one_of(_TEXT, st.sampled_from(["GS-FRMD", "GS-ICT"])),
        "category": st.one_of(_TEXT, st.sampled_from(["FIN", "OPS", "ICT"])),
        "band": st.one_of(_TEXT, st.sampled_from(["Low", "High", "critical"])),
        "zone": st.one_of(_TEXT, st.sampled_from(["within_appetite", "outside_tolerance", "not_evaluated"])),
        "status": st.one_of(_TEXT, st.sampled_from(["open", "active", "closed"])),
        "owner": _TEXT,
        "overdue": st.one_of(_TEXT, st.just("1")),
        "due": st.one_of(_TEXT, st.just("1")),
        "escalated": st.one_of(_TEXT, st.just("1")),
    },
)


@pytest.fixture
def focal_client(app: Flask, register: Register) -> FlaskClient:
    return as_user(app, FP)


# GET requests change nothing, so the examples can share one database and one signed-in client.
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=_PARAMS)
def test_any_query_string_gives_a_page_within_scope(
    focal_client: FlaskClient, register: Register, params: dict[str, str]
) -> None:
    response = focal_client.get("/risks", query_string=params)
    assert response.status_code == 200
    assert set(listed(response.text)) <= {register.percent, register.underscore, register.plain}
    assert "Marker ICT" not in response.text
    assert "Deleted marker" not in response.text
