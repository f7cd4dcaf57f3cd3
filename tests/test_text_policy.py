"""The text policy (riskreg/textpolicy.py) on every text field of every form and in the importer, and a corpus
of naughty strings (tests/data/naughty_strings.txt) through form -> Council workbook -> import with no change.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from wtforms import Form, HiddenField, PasswordField, StringField

from riskreg.extensions import db
from riskreg.importer import RowAction, read_register
from riskreg.importer.sources import unescape_xstring
from riskreg.models import OrgUnit, Risk, RiskCategory, Role
from riskreg.models.register import TITLE_MAX
from riskreg.policy import current_scales
from riskreg.textpolicy import TextPolicyError, check_text, read_statement, statement_part
from riskreg.workbook.cells import clean_text, escape_xstring
from tests.conftest import login
from tests.factories import make_unit, make_user
from tests.test_exports import download

CORPUS_FILE = Path(__file__).parent / "data" / "naughty_strings.txt"
FORM_MODULES = (
    "riskreg.auth.forms",
    "riskreg.exports.forms",
    "riskreg.imports.forms",
    "riskreg.review.forms",
    "riskreg.risks.forms",
    "riskreg.statements.forms",
)
# Fields that are not stored text: the sign-in form's e-mail and password are compared, never kept.
NOT_STORED = {("LoginForm", "email")}


def naughty_strings() -> list[str]:
    lines = CORPUS_FILE.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line and not line.startswith("#")]


def test_the_corpus_has_at_least_200_strings() -> None:
    strings = naughty_strings()
    assert len(strings) >= 200
    assert len(set(strings)) == len(strings)


# --------------------------------------------------------------------------- the policy itself


def test_invisible_only_text_is_refused_naming_the_field() -> None:
    for text in ("\u200b", "\ufeff", "\u200b\u2060\ufeff", "\u3164", "\u2800", "\u202e", "\x07"):
        with pytest.raises(TextPolicyError, match="^Title is made only of invisible characters"):
            check_text(text, "Title")
    assert check_text("   ", "Title").text == ""  # blank is empty (the field's "required" rule decides)


def test_bidi_and_control_characters_are_removed_and_said() -> None:
    checked = check_text("\u202eevil\u202c \u2066x\u2069\u200e", "Title")
    assert checked.text == "evil x"
    assert checked.removed
    assert "bidirectional" in checked.message("Title")
    assert checked.message("Title").startswith("Title: ")
    assert check_text("a\x0bb\x00c\x85", "Cause").text == "abc"
    assert check_text("\ufeff Title \u200b", "Title") == check_text("Title", "Title")  # edges, silently
    assert check_text("a\r\nb\rc", "Cause").text == "a\nb\nc"
    assert check_text("tab\tinside", "Title").text == "tab\tinside"
    assert check_text("👨\u200d👩\u200d👧 e\u0301", "Title").text == "👨\u200d👩\u200d👧 e\u0301"  # joiners inside stay


def test_statement_parts_read_back_exactly() -> None:
    from riskreg.snapshot import RiskRow

    samples = ["", "x", "a, b", "a,", "etc", "x, there is a risk", "that", "why?", "…", "line\nbreak", "x, which"]
    for cause in samples:
        for event in samples:
            for consequence in (*samples, "y, which would z", "z, there is a risk that w"):
                parts = (cause, event, consequence)
                row: Any = RiskRow.__new__(RiskRow)
                object.__setattr__(row, "cause", cause)
                object.__setattr__(row, "event", event)
                object.__setattr__(row, "consequence", consequence)
                assert read_statement(row.statement) == parts, parts
    with pytest.raises(TextPolicyError, match="The cause may not contain ', there is a risk that'"):
        statement_part("x, there is a risk that y", "cause", "The cause")
    with pytest.raises(TextPolicyError, match="may not contain ', WHICH WOULD'"):
        statement_part("x, WHICH WOULD y", "event", "The event")
    assert statement_part("etc. . .", "consequence", "The consequence") == "etc"


def test_ooxml_escapes_are_escaped_when_written_and_decoded_when_read() -> None:
    for text in ("_x0041_", "_x005F_", "a_x005F_x0041_b", "__x0041__", "_xD83D__xDE00_", "_x00e9_", "plain _x00"):
        written = clean_text(text)
        assert unescape_xstring(written) == text
    assert escape_xstring("_x0041_") == "_x005F_x0041_"
    assert unescape_xstring("_x0041_") == "A"  # what Excel shows for an unescaped one
    assert unescape_xstring("_xD83D__xDE00_") == "😀"


# --------------------------------------------------------------------------- every text field of every form


def _text_fields() -> list[tuple[type[Form], str]]:
    found = []
    for module_name in FORM_MODULES:
        module = importlib.import_module(module_name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if not issubclass(cls, Form) or cls.__module__ != module_name:
                continue
            for name, unbound in vars(cls).items():
                field_class = getattr(unbound, "field_class", None)
                if field_class is None or not issubclass(field_class, StringField):
                    continue
                if issubclass(field_class, HiddenField | PasswordField) or (cls.__name__, name) in NOT_STORED:
                    continue
                found.append((cls, name))
    return found


TEXT_FIELDS = _text_fields()


def _validate(app: Flask, cls: type[Form], name: str, value: str) -> tuple[bool, list[str], Any]:
    with app.test_request_context():
        form = cls(formdata=MultiDict({name: value}), meta={"csrf": False})
        field = form[name]
        ok = field.validate(form)
        return ok, list(field.errors), field.data


def test_every_stored_text_field_is_covered() -> None:
    names = {f"{cls.__name__}.{name}" for cls, name in TEXT_FIELDS}
    assert {"RiskForm.title", "RiskForm.cause", "ControlForm.description", "DraftForm.title"} <= names
    assert {"UserForm.name", "UserForm.email", "DecisionForm.comment", "ExportForm.prepared_by"} <= names
    assert len(TEXT_FIELDS) >= 30


@pytest.mark.parametrize(("cls", "name"), TEXT_FIELDS, ids=[f"{c.__name__}.{n}" for c, n in TEXT_FIELDS])
def test_every_text_field_applies_the_policy(app: Flask, cls: type[Form], name: str) -> None:
    ok, errors, data = _validate(app, cls, name, "Cash\u202e flow")
    assert not ok, "a bidirectional control character was accepted"
    ok, invisible, _ = _validate(app, cls, name, "\u200b\ufeff")
    assert not ok, "text made only of invisible characters was accepted"
    ok, control, _ = _validate(app, cls, name, "Cash\x0b flow")
    assert not ok, "a control character was accepted"
    ok, _, _ = _validate(app, cls, name, "ab\u202ec@example.org")  # passes an e-mail pattern but for the bidi
    assert not ok, "a bidirectional control character was accepted in an address-like value"
    policy_messages = [m for m in errors if "bidirectional" in m]
    if policy_messages:
        # The policy's own message: the field is named, the cleaned text is shown again.
        assert data == "Cash flow"
        assert all(not m.startswith(":") for m in policy_messages)
        assert any("invisible" in m for m in invisible)
    else:
        # Fields with a strict pattern (codes, versions, e-mail addresses) refuse these with the pattern's rule.
        assert errors
        assert invisible
        assert control


def test_a_form_shows_the_cleaned_text_with_a_message_naming_the_field(app: Flask) -> None:
    with app.app_context():
        unit = make_unit(code="GS-BIDI")
        make_user(role=Role.COORDINATOR, unit=unit, email="bidi@example.org")
        category_id = db.session.scalar(select(RiskCategory.id).where(RiskCategory.code == "FIN"))
        assert category_id is not None
    client = app.test_client()
    login(client, "bidi@example.org")
    data = {**_risk_form(category_id, "Payroll \u202eevil", "late pay", "Chief"), "unit": "GS-BIDI"}
    shown = client.post("/risks/new", data=data)
    assert shown.status_code == 200
    assert "Title: bidirectional control characters" in shown.text
    assert 'value="Payroll evil"' in shown.text
    invisible = client.post("/risks/new", data={**data, "title": "\u200b\u200b"})
    assert "Title is made only of invisible characters" in invisible.text
    joined = client.post("/risks/new", data={**data, "title": "ok", "cause": "x, there is a risk that y"})
    assert "The cause may not contain" in joined.text
    saved = client.post("/risks/new", data={**data, "title": "Payroll evil"})
    assert saved.status_code == 303


# --------------------------------------------------------------------------- form -> export -> import


def _risk_form(category_id: int, title: str, text: str, owner: str) -> dict[str, str]:
    return {
        "unit": "GS-NAUGHTY",
        "title": title,
        "cause": text,
        "event": text,
        "consequence": text,
        "category_id": str(category_id),
        "owner_title": owner,
        "nature": "threat",
        "level": "departmental",
        "treatment": "treat",
        "inherent_likelihood": "4",
        "inherent_impact": "4",
        "residual_likelihood": "3",
        "residual_impact": "3",
        "control_effectiveness": "not_assessed",
    }


def _accepted(text: str, label: str, *, line: bool, limit: int, part: str = "") -> str:
    """What the forms accept for `text`: the policy's result, on one line and within the limit if need be."""
    try:
        value = check_text(text, label).text
    except TextPolicyError:
        value = ""
    if line:
        value = " ".join(value.split("\n")).strip()
    value = value[:limit].strip()
    if part:
        try:
            value = statement_part(value, part, label)
        except TextPolicyError:
            value = re.sub(r",", ";", value)
            value = statement_part(value, part, label)
    return value or "(blank)"


def test_naughty_strings_survive_form_export_and_import_unchanged(app: Flask) -> None:
    with app.app_context():
        unit = make_unit(code="GS-NAUGHTY")
        make_user(role=Role.COORDINATOR, unit=unit, email="naughty@example.org")
        category_id = db.session.scalar(select(RiskCategory.id).where(RiskCategory.code == "FIN"))
        assert category_id is not None
    client = app.test_client()
    login(client, "naughty@example.org")

    expected: dict[str, tuple[str, str, str]] = {}
    refused = changed = 0
    for text in naughty_strings():
        # First as typed: accepted as the policy says, or refused with a message on the page.
        response = client.post("/risks/new", data=_risk_form(category_id, text, text, text))
        title = _accepted(text, "Title", line=True, limit=TITLE_MAX)
        part = _accepted(text, "The cause", line=False, limit=4000, part="cause")
        part = _accepted(part, "The event", line=False, limit=4000, part="event")
        owner = _accepted(text, "Risk owner", line=True, limit=200)
        if response.status_code == 200:
            refused += 1
            assert 'class="field-error"' in response.text or "error" in response.text
            response = client.post("/risks/new", data=_risk_form(category_id, title, part, owner))
        assert response.status_code == 303, (text, response.text[:3000])
        ref = response.headers["Location"].rsplit("/", 1)[-1]
        expected[ref] = (title, part, owner)
    with app.app_context():
        for ref, (title, part, owner) in expected.items():
            risk = db.session.scalars(select(Risk).where(Risk.ref == ref)).one()
            stored = (risk.title, risk.cause, risk.event, risk.consequence, risk.owner_title)
            if stored != (title, part, part, part, owner):
                changed += 1
    assert changed == 0
    assert refused > 20  # the corpus does hit the policy

    export = download(
        client,
        cycle="now",
        audience="taskforce",
        symbol="C26/12",
        annex="2",
        classification="For official use only",
        prepared_by="Strategic Planning Department",
    )
    assert export.status_code == 200, export.text[:2000]

    from riskreg.imports.operations import plan_for_unit

    with app.app_context():
        scales = current_scales(db.session)
        result = read_register(export.data, "council.xlsx", scales)
        rows = {row.ref: row for row in result.rows if row.ref in expected}
        assert set(rows) == set(expected)
        differences = {}
        for ref, (title, part, owner) in expected.items():
            values = rows[ref].values
            got = tuple(values.get(n) for n in ("title", "cause", "event", "consequence", "owner_title"))
            if got != (title, part, part, part, owner):
                differences[ref] = got
            assert not rows[ref].errors, rows[ref].errors
        assert differences == {}
        unit = db.session.scalars(select(OrgUnit).where(OrgUnit.code == "GS-NAUGHTY")).one()
        plan = plan_for_unit(db.session, unit, result)
        ours = [p for p in plan.rows if p.ref in expected]
        assert len(ours) == len(expected)
        assert {p.action for p in ours} == {RowAction.UNCHANGED}, [
            (p.ref, p.changes) for p in ours if p.action is not RowAction.UNCHANGED
        ][:5]


def test_the_importer_applies_the_same_policy(app: Flask) -> None:
    import io

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Ref", "Title", "Cause", "Event", "Consequence", "Likelihood", "Impact"])
    ws.append(["R-1", "\u202eevil", "late.", "x", "y", 2, 3])
    ws.append(["R-2", "\u200b", "c", "e", "k", 2, 3])
    ws.append(["R-3", "ok", "a, there is a risk that b", "e", "k", 2, 3])
    ws.append(["R-4", "_x0041_", "c", "e", "k", 2, 3])  # written undecoded by openpyxl: Excel shows "A"
    buffer = io.BytesIO()
    wb.save(buffer)
    with app.app_context():
        result = read_register(buffer.getvalue(), "policy.xlsx", current_scales(db.session))
    rows = {row.ref: row for row in result.rows}
    assert rows["R-1"].values["title"] == "evil"
    assert rows["R-1"].values["cause"] == "late"
    (warning,) = rows["R-1"].warnings
    assert warning.column_letter == "B"
    assert warning.message.startswith("Title: bidirectional")
    (error,) = rows["R-2"].errors
    assert error.message.startswith("Title is made only of invisible characters")
    (error,) = rows["R-3"].errors
    assert error.message.startswith("Cause may not contain")
    assert rows["R-4"].values["title"] == "A"


def test_the_cli_dry_run_prints_the_warnings_the_preview_shows(app: Flask, tmp_path: Path) -> None:
    import io

    from openpyxl import Workbook

    with app.app_context():
        make_unit(code="GS-CLI")
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Ref", "Title", "Cause", "Event", "Consequence", "Category", "Owner", "Likelihood", "Impact"])
    ws.append(["R-1", "Power\u202e cut", "storms", "the grid fails", "offices close", "FIN", "Chief", 2, 3])
    path = tmp_path / "register.xlsx"
    buffer = io.BytesIO()
    wb.save(buffer)
    path.write_bytes(buffer.getvalue())
    result = app.test_cli_runner().invoke(args=["import", "register", str(path), "--unit", "GS-CLI", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "warning: Sheet B2: Title: bidirectional control characters" in result.output
    assert "dry run: nothing was written" in result.output
