"""The frozen register: row helpers, natural order, the content hash and the JSON a closed cycle stores.

Pure (no app, no database).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskreg.snapshot import (
    ActionRow,
    RiskRow,
    Snapshot,
    natural_key,
    row_from_json,
    row_to_json,
    sort_rows,
)

AS_AT = date(2026, 6, 30)


def action(ref: str = "A-1", **extra: Any) -> ActionRow:
    values: dict[str, Any] = {
        "ref": ref,
        "risk_ref": "FIN-1",
        "description": "Do it",
        "owner_title": "Chief",
        "unit_code": "FRMD",
        "due_date": date(2026, 6, 1),
        "revised_due_date": None,
        "status": "on_track",
        "percent_complete": 50,
    }
    values.update(extra)
    return ActionRow(**values)


def risk(ref: str = "FIN-1", score: int = 6, **extra: Any) -> RiskRow:
    values: dict[str, Any] = {
        "ref": ref,
        "title": f"Risk {ref}",
        "cause": "the budget is cut.",
        "event": "projects stop",
        "consequence": "goals are missed.",
        "category_code": "FIN",
        "category_name": "Financial",
        "unit_code": "FRMD",
        "unit_name": "Finance",
        "level": "departmental",
        "nature": "threat",
        "status": "active",
        "owner_title": "Chief",
        "treatment": "treat",
        "inherent_likelihood": 5,
        "inherent_impact": 5,
        "inherent_score": 25,
        "inherent_band": "Critical",
        "residual_likelihood": 2,
        "residual_impact": 3,
        "residual_score": score,
        "residual_band": "Medium",
        "zone": "within_appetite",
    }
    values.update(extra)
    return RiskRow(**values)


def snapshot(*rows: RiskRow, **extra: Any) -> Snapshot:
    values: dict[str, Any] = {
        "cycle_code": "2026-Q2",
        "as_at": AS_AT,
        "statement_version": "2.0",
        "scales_version": "2020.1",
        "rows": rows,
    }
    values.update(extra)
    return Snapshot(**values)


# --------------------------------------------------------------------------- order


@pytest.mark.parametrize(
    ("refs", "ordered"),
    [
        (["R-10", "R-2", "R-1"], ["R-1", "R-2", "R-10"]),
        (["FIN-10", "FIN-9", "CR-2", "fin-1"], ["CR-2", "fin-1", "FIN-9", "FIN-10"]),
        (["B", "a", "C"], ["a", "B", "C"]),
        (["2026-10", "2026-9", "10", "9"], ["9", "10", "2026-9", "2026-10"]),
        (["A-1-10", "A-1-2", "A-10-1"], ["A-1-2", "A-1-10", "A-10-1"]),
        (["X", "1"], ["1", "X"]),  # numbers before words
    ],
)
def test_natural_order(refs: list[str], ordered: list[str]) -> None:
    assert sorted(refs, key=natural_key) == ordered


def test_natural_key_parts() -> None:
    assert natural_key("FIN-2025-003") == ((1, "fin-"), (0, 2025), (1, "-"), (0, 3))
    assert natural_key("") == ()


def test_sort_rows_is_score_descending_then_natural_reference() -> None:
    rows = [risk("R-10", 6), risk("R-2", 6), risk("R-1", 4), risk("R-3", 12)]
    assert [r.ref for r in sort_rows(rows)] == ["R-3", "R-2", "R-10", "R-1"]
    assert sort_rows([]) == []


# --------------------------------------------------------------------------- rows


@pytest.mark.parametrize(
    ("status", "is_open"),
    [("not_started", True), ("on_track", True), ("delayed", True), ("completed", False), ("cancelled", False)],
)
def test_action_is_open_unless_completed_or_cancelled(status: str, is_open: bool) -> None:
    assert action(status=status).is_open is is_open


@pytest.mark.parametrize(
    ("changes", "days"),
    [
        ({"due_date": date(2026, 6, 29)}, 1),
        ({"due_date": date(2026, 6, 30)}, 0),  # due today is not overdue
        ({"due_date": date(2026, 7, 1)}, 0),
        ({"due_date": date(2026, 3, 1)}, 121),
        ({"due_date": None}, 0),
        ({"due_date": date(2026, 1, 1), "revised_due_date": date(2026, 7, 31)}, 0),  # the revised date counts
        ({"due_date": date(2026, 7, 31), "revised_due_date": date(2026, 6, 20)}, 10),
        ({"due_date": date(2026, 1, 1), "status": "completed"}, 0),
        ({"due_date": date(2026, 1, 1), "status": "cancelled"}, 0),
        ({"due_date": date(2026, 1, 1), "status": "delayed"}, 180),
    ],
)
def test_days_overdue(changes: dict[str, Any], days: int) -> None:
    assert action(**changes).days_overdue(AS_AT) == days


def test_open_and_overdue_actions_of_a_risk() -> None:
    late = action("A-1", due_date=date(2026, 6, 29))  # one day overdue
    on_time = action("A-2", due_date=date(2026, 12, 1))
    done = action("A-3", due_date=date(2026, 1, 1), status="completed")
    row = risk(actions=(late, on_time, done))
    assert row.open_actions() == [late, on_time]
    assert row.overdue_actions(AS_AT) == [late]
    assert risk().open_actions() == []
    assert risk().overdue_actions(AS_AT) == []


def test_statement_reads_as_one_sentence() -> None:
    assert risk().statement == (
        "Because the budget is cut, there is a risk that projects stop, which would goals are missed."
    )
    plain = risk(cause="x", event="y", consequence="z")
    assert plain.statement == "Because x, there is a risk that y, which would z."


@pytest.mark.parametrize(("appetite_max", "gap"), [(None, None), (6, 0), (4, 2), (9, -3)])
def test_gap_is_residual_minus_appetite(appetite_max: int | None, gap: int | None) -> None:
    assert risk(score=6, appetite_max=appetite_max).gap == gap


def test_by_ref() -> None:
    a, b = risk("A"), risk("B")
    assert snapshot(a, b).by_ref() == {"A": a, "B": b}
    assert snapshot().by_ref() == {}
    assert snapshot().is_draft is False


# --------------------------------------------------------------------------- JSON and hash


def test_row_json_round_trip_with_dates_and_actions() -> None:
    row = risk(
        target_date=date(2027, 1, 31),
        assessed_on=date(2026, 6, 1),
        acceptance_until=date(2026, 12, 31),
        escalation_level="task_force",
        escalation_status="accepted",
        accepted_escalation_level="task_force",
        actions=(action(completed_on=date(2026, 5, 5), revised_due_date=date(2026, 6, 15)),),
    )
    data = row_to_json(row)
    assert data["target_date"] == "2027-01-31"
    assert data["actions"][0]["completed_on"] == "2026-05-05"
    assert data["actions"][0]["revised_due_date"] == "2026-06-15"
    assert data["accepted_escalation_level"] == "task_force"
    text = json.dumps(data)
    assert row_from_json(json.loads(text)) == row


def test_rows_frozen_by_older_code_still_load() -> None:
    data = row_to_json(risk(escalation_level="executive", escalation_status="accepted", actions=(action(),)))
    del data["accepted_escalation_level"]
    del data["title"]  # a field missing early on must not stop the fields after it from loading
    data["title"] = "Risk FIN-1"
    del data["zone"]
    data["a_field_from_the_future"] = 1
    with pytest.raises(TypeError, match="zone"):
        row_from_json(data)
    data["zone"] = "within_appetite"
    del data["appetite_level"]
    row = row_from_json(data)
    assert row.accepted_escalation_level == ""
    assert row.appetite_level == ""
    assert len(row.actions) == 1
    assert row.actions[0].due_date == date(2026, 6, 1)
    assert row.escalation_level == "executive"
    assert row.statement_version == ""


def test_content_hash_is_the_sha256_of_the_header_and_the_rows_array() -> None:
    rows = (risk("A"), risk("B", actions=(action(),)))
    snap = snapshot(*rows)
    payload = json.dumps([row_to_json(r) for r in rows], sort_keys=True, separators=(",", ":"))
    header = "2026-Q2|2026-06-30|2.0|2020.1|"
    assert snap.content_hash() == hashlib.sha256((header + payload).encode("utf-8")).hexdigest()
    assert snapshot().content_hash() == hashlib.sha256(f"{header}[]".encode()).hexdigest()


@pytest.mark.parametrize(
    "changes",
    [
        {"cycle_code": "2026-Q3"},
        {"as_at": date(2026, 7, 1)},
        {"statement_version": "3.0"},
        {"scales_version": "2026.1"},
        {"rows": (risk("A", title="Another title"),)},
        {"rows": (risk("A"), risk("B"))},
        {"rows": ()},
    ],
)
def test_any_change_changes_the_hash(changes: dict[str, Any]) -> None:
    base = snapshot(risk("A"))
    assert replace(base, **changes).content_hash() != base.content_hash()
    assert replace(base, is_draft=True).content_hash() == base.content_hash()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=8), max_size=5, unique=True), st.text(max_size=20))
def test_equal_registers_give_equal_hashes(refs: list[str], title: str) -> None:
    first = snapshot(*(risk(ref, title=title) for ref in refs))
    second = snapshot(*(risk(ref, title=title) for ref in refs))
    assert first.content_hash() == second.content_hash()
    assert all(row_from_json(row_to_json(r)) == r for r in first.rows)
