"""Register text search: through the database's full-text index (FTS5 / tsvector), ranked, kept in step with edits,
literal where the user typed punctuation, and never a server error whatever is typed.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from riskreg.audit import SYSTEM
from riskreg.extensions import db
from riskreg.models import OrgUnit, Risk, Role
from riskreg.risks import operations as ops
from riskreg.risks.search import parse_query, text_condition
from tests.conftest import login
from tests.factories import category, make_risk, make_unit, make_user

COORD = "coord@example.org"
FP = "fp@example.org"


@pytest.fixture(autouse=True)
def quick_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    from argon2 import PasswordHasher

    from riskreg.auth import passwords

    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))


def refs(client: FlaskClient, **params: Any) -> list[str]:
    response = client.get("/risks", query_string=params)
    assert response.status_code == 200
    return re.findall(r'<td class="ref"><a href="/risks/([^"]+)">', response.text)


def signed_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    login(client, email)
    return client


@pytest.fixture
def coordinator(app: Flask) -> FlaskClient:
    with app.app_context():
        make_user(role=Role.COORDINATOR, email=COORD)
    return signed_in(app, COORD)


def risk(app: Flask, title: str, **fields: Any) -> str:
    """A new risk in the unit GS-SRCH (created on first use); its reference."""
    with app.app_context():
        unit = db.session.scalars(select(OrgUnit).where(OrgUnit.code == "GS-SRCH")).first()
        return make_risk(unit=unit or make_unit(code="GS-SRCH"), title=title, **fields).ref


# --------------------------------------------------------------------------- ranking and matching


def test_a_title_match_ranks_above_a_match_in_the_cause(app: Flask, coordinator: FlaskClient) -> None:
    in_cause = risk(app, "Payments slow down", cause="quokka habitat survey overruns")
    in_title = risk(app, "Quokka survey overruns budget")
    elsewhere = risk(app, "Unrelated venue risk")
    assert refs(coordinator, q="quokka") == [in_title, in_cause]
    assert elsewhere not in refs(coordinator, q="quokka")
    # Ranking applies when the search names no other order; an explicit sort still sorts.
    assert refs(coordinator, q="quokka", sort="ref") == sorted([in_cause, in_title])


def test_words_match_as_prefixes_in_any_field_all_required(app: Flask, coordinator: FlaskClient) -> None:
    both = risk(app, "Ransomware halts services", consequence="member portal offline for weeks")
    title_only = risk(app, "Ransomware in the archive")
    assert refs(coordinator, q="ransom") == refs(coordinator, q="RANSOMWARE")
    assert set(refs(coordinator, q="ransom")) == {both, title_only}
    assert refs(coordinator, q="ransomware portal") == [both]  # title word + consequence word
    assert refs(coordinator, q="ransomware nowhere") == []


def test_a_reference_finds_its_risk_first(app: Flask, coordinator: FlaskClient) -> None:
    first = risk(app, "First risk")
    for n in range(3):
        risk(app, f"Risk number {n}")
    assert refs(coordinator, q=first)[0] == first
    assert refs(coordinator, q=first.lower()) == [first]


def test_search_is_scoped_and_ignores_deleted_risks(app: Flask) -> None:
    with app.app_context():
        mine, theirs = make_unit(code="GS-MINE"), make_unit(code="GS-THEIRS")
        make_user(role=Role.FOCAL_POINT, unit=mine, email=FP)
        visible = make_risk(unit=mine, title="Platypus breeding permit lapses").ref
        make_risk(unit=theirs, title="Platypus enclosure flooded")
        gone = make_risk(unit=mine, title="Platypus feed contract ends")
        ops.delete_risk(db.session, SYSTEM, gone, "duplicate", gone.version)
    assert refs(signed_in(app, FP), q="platypus") == [visible]


# --------------------------------------------------------------------------- the index follows the register


def test_the_index_follows_edits_deletions_and_restores(app: Flask, coordinator: FlaskClient) -> None:
    ref = risk(app, "Wombat shortage delays fieldwork")
    assert refs(coordinator, q="wombat") == [ref]
    with app.app_context():
        row = db.session.scalars(select(Risk).where(Risk.ref == ref)).one()
        data = ops.RiskInput("Numbat shortage delays fieldwork", "c", "e", "k", category("FIN").id, "Chief")
        ops.update_risk(db.session, SYSTEM, row, data, row.version)
    assert refs(coordinator, q="wombat") == []
    assert refs(coordinator, q="numbat") == [ref]
    with app.app_context():
        row = db.session.scalars(select(Risk).where(Risk.ref == ref)).one()
        ops.delete_risk(db.session, SYSTEM, row, "merged elsewhere", row.version)
    assert refs(coordinator, q="numbat") == []
    with app.app_context():
        row = db.session.scalars(select(Risk).where(Risk.ref == ref)).one()
        ops.restore_risk(db.session, SYSTEM, row, row.version)
        if db.engine.dialect.name == "sqlite":
            db.session.remove()
            with db.engine.begin() as conn:
                conn.execute(text("INSERT INTO risks_fts(risks_fts) VALUES ('integrity-check')"))
    assert refs(coordinator, q="numbat") == [ref]


def test_a_hard_deleted_row_leaves_the_index(app: Flask, coordinator: FlaskClient) -> None:
    with app.app_context():
        data = ops.RiskInput("Axolotl tank leaks", "c", "e", "k", category("FIN").id, "Chief")
        unassessed = ops.create_risk(db.session, SYSTEM, data, make_unit().id)  # no assessment: no child rows
        ref, risk_id = unassessed.ref, unassessed.id
        db.session.remove()
    assert refs(coordinator, q="axolotl") == [ref]
    with app.app_context():
        # Nothing in the app hard-deletes risks; an administrator's SQL might.
        with db.engine.begin() as conn:
            conn.execute(text("DELETE FROM risks WHERE id = :id"), {"id": risk_id})
        if db.engine.dialect.name == "sqlite":
            with db.engine.begin() as conn:
                # FTS5 compares the index with the content table and raises if they differ.
                conn.execute(text("INSERT INTO risks_fts(risks_fts) VALUES ('integrity-check')"))
    assert refs(coordinator, q="axolotl") == []


# --------------------------------------------------------------------------- literal text and hostile input


def test_percent_and_underscore_are_literal_characters(app: Flask, coordinator: FlaskClient) -> None:
    fifty = risk(app, "Budget 50% funded")
    five_hundred = risk(app, "Budget 500 funded")
    snake = risk(app, "Column a_b missing")
    risk(app, "Column a b missing")
    assert refs(coordinator, q="50%") == [fifty]
    assert set(refs(coordinator, q="50")) == {fifty, five_hundred}
    assert refs(coordinator, q="%") == [fifty]
    assert refs(coordinator, q="_") == [snake]
    assert refs(coordinator, q="a_b") == [snake]


@pytest.mark.parametrize(
    ("query", "finds"),
    [
        ('"', False),
        ('""', False),
        ('"unterminated phrase', False),
        ("*", False),
        ("ransom*", True),  # the prefix syntax people use
        ('"ransomware hits"', True),
        ("ransomware OR nothing", True),
        ("nothing OR", False),
        ("NEAR", False),
        ("NEAR(ransomware budget)", False),
        ("ransomware NEAR/2 budget", False),
        ("-", True),  # the hyphens of the reference
        ("-ransomware", False),
        ("title:ransomware", False),
        (":", False),
        ("AND", False),
        ("OR NOT", False),
        ("(", False),
        (")", False),
        ("^ransomware", False),
        ("{title cause}: x", False),
        ("'", False),
        ("\\", False),
        ("ransomware:*", False),
        ("a & b | !c", False),
        ("<->", False),
        ("ransomware budget one two three four five six seven eight nine ten", False),
    ],
)
def test_engine_syntax_in_a_query_is_text_not_an_error(
    app: Flask, coordinator: FlaskClient, query: str, finds: bool
) -> None:
    target = risk(app, "Ransomware hits the budget system")
    # Only the search's own syntax is obeyed (tests/test_search_syntax.py); the engines' operators are
    # characters that must appear as typed, like "%" and "_".
    assert refs(coordinator, q=query) == ([target] if finds else [])


_QUERY = st.lists(
    st.sampled_from(list("ab\" *:-()^{}%_'\\+@.,/&|!<>~") + ["NEAR", "AND", "OR", "NOT", "budget", "x"]), max_size=12
).map("".join)


@pytest.fixture
def searchable(app: Flask, coordinator: FlaskClient) -> FlaskClient:
    risk(app, "NEAR AND OR budget a_b 100%")
    return coordinator


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=_QUERY)
def test_any_query_gives_a_page(searchable: FlaskClient, query: str) -> None:
    assert searchable.get("/risks", query_string={"q": query}).status_code == 200


# --------------------------------------------------------------------------- through the index


def test_search_goes_through_the_full_text_index(app: Flask) -> None:
    with app.app_context():
        condition = text_condition("ransomware budget")
        sql = select(Risk.id).where(condition).compile(db.engine, compile_kwargs={"literal_binds": True})
        with db.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
                assert "risks_fts VIRTUAL TABLE" in plan
            else:
                conn.exec_driver_sql("SET enable_seqscan = off")  # the test table is tiny
                plan = " ".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {sql}"))
                assert "ix_risks_search" in plan


def test_how_a_query_is_answered() -> None:
    plain = parse_query("Ransomware budget")
    assert plain.fts5() == '(("ransomware"*) AND ("budget"*))'
    assert plain.tsquery() == "((ransomware:*) & (budget:*))"
    assert plain.ranked
    (fifty,) = parse_query("100%").groups[0].include
    assert (fifty.words, fifty.literal) == (("100",), "100%")
    assert not parse_query("%").ranked
    assert not parse_query("x").ranked
    (reference,) = parse_query("FRMD-2026-001").groups[0].include
    assert reference.words == ("frmd", "2026", "001")
