"""Importing registers through the web and the operations: preview, apply all or nothing, idempotence, scope.

Requests run outside any app context held by the test (Flask would otherwise share `g`, and the signed-in
user, between requests); setup and checks open their own short app contexts. Both databases.
"""

from __future__ import annotations

import html
import io
import re
import time
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from riskreg import audit
from riskreg.audit import SYSTEM
from riskreg.extensions import db
from riskreg.importer import ImportRejected, RowAction, read_register
from riskreg.imports import operations as import_ops
from riskreg.imports import uploads
from riskreg.imports.planning import plan_for_unit, usable_ref
from riskreg.models import (
    Action,
    Assessment,
    AuditEvent,
    Control,
    ControlEffectiveness,
    ImportRun,
    OrgUnit,
    Risk,
    RiskLevel,
    Role,
    Treatment,
)
from riskreg.policy import current_scales, load_bundled_policy
from riskreg.risks import operations as ops
from tests.conftest import login
from tests.factories import category, make_risk, make_unit, make_user
from tests.test_import_hostile import CORPUS
from tests.test_importer import xlsx

FP_FRMD = "fp.frmd@example.org"
FP_ICT = "fp.ict@example.org"
COORD = "coord@example.org"
VIEWER = "viewer@example.org"
# security.md G8's file name as a browser sends it (the HTML standard escapes " as %22; Werkzeug decodes it).
XSS_NAME = '"><img src=x onerror=alert(1)>.xlsx'.replace('"', "%22")

HEADER = [
    "Ref", "Risk title", "Cause", "Event", "Consequence", "Category", "Department", "Risk owner",
    "Inherent likelihood", "Inherent impact", "Residual likelihood", "Residual impact", "Existing controls",
    "Mitigation", "Due date",
]  # fmt: skip


def register_row(ref: str, title: str, **overrides: Any) -> list[Any]:
    values: dict[str, Any] = {
        "Ref": ref,
        "Risk title": title,
        "Cause": "member states pay late",
        "Event": "cash runs short",
        "Consequence": "programmes are delayed",
        "Category": "Financial",
        "Department": "GS-FRMD",
        "Risk owner": "Chief, Budget",
        "Inherent likelihood": 4,
        "Inherent impact": 4,
        "Residual likelihood": 3,
        "Residual impact": 3,
        "Existing controls": "Monthly cash forecast",
        "Mitigation": "Send arrears reminders",
        "Due date": date(2030, 6, 30),
    }
    values.update(overrides)
    return [values[h] for h in HEADER]


def register_book(*rows: list[Any]) -> bytes:
    return xlsx([["Finance department: risk register 2026"], [], HEADER, *rows])


@dataclass(frozen=True)
class World:
    existing_ref: str  # a FRMD risk with one control and one action


@pytest.fixture(autouse=True)
def quick_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    from argon2 import PasswordHasher

    from riskreg.auth import passwords

    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))


@pytest.fixture
def world(app: Flask) -> World:
    with app.app_context():
        load_bundled_policy(db.session, SYSTEM)
        db.session.commit()
        frmd = make_unit(code="GS-FRMD", name="Financial Resources Management")
        ict = make_unit(code="GS-ICT", name="Information Services")
        make_user(role=Role.FOCAL_POINT, unit=frmd, email=FP_FRMD)
        make_user(role=Role.FOCAL_POINT, unit=ict, email=FP_ICT)
        make_user(role=Role.COORDINATOR, email=COORD)
        make_user(role=Role.VIEWER, email=VIEWER)
        risk = make_risk(unit=frmd, title="Exchange-rate loss", residual=(2, 3), owner_title="Treasurer")
        ops.add_control(db.session, SYSTEM, risk, ops.ControlInput(description="Hedging policy"))
        ops.add_action(
            db.session,
            SYSTEM,
            risk,
            ops.ActionInput("Review hedging", owner_title="Treasurer", due_date=date(2030, 1, 1)),
        )
        return World(risk.ref)


def signed_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    login(client, email)
    return client


def upload(
    client: FlaskClient,
    data: bytes,
    filename: str = "register.xlsx",
    *,
    unit: str = "GS-FRMD",
    sheet: str = "",
    mapping: bytes | None = None,
) -> TestResponse:
    form: dict[str, Any] = {"file": (io.BytesIO(data), filename), "unit": unit, "sheet": sheet}
    if mapping is not None:
        form["mapping"] = (io.BytesIO(mapping), "mapping.toml")
    return client.post("/import/", data=form, content_type="multipart/form-data")


def token_of(page: str) -> str:
    found = re.search(r'name="token" value="([A-Za-z0-9_-]{32})"', page)
    assert found, "no apply/cancel token on the page"
    return found.group(1)


@pytest.fixture
def app_config(tmp_path: Path) -> dict[str, Any]:
    # Each test's uploads in its own folder, not in the instance folder that every app of the run shares.
    return {"IMPORT_UPLOAD_DIR": str(tmp_path / "uploads")}


def stored_files(app: Flask) -> list[str]:
    folder = Path(app.instance_path) / app.config["IMPORT_UPLOAD_DIR"]
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def fingerprint(app: Flask) -> dict[str, int]:
    """Row counts of everything an import may write."""
    with app.app_context():
        return {
            model.__name__: db.session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Risk, Assessment, Action, Control, ImportRun, AuditEvent)
        }


def risk_by_ref(ref: str) -> Risk:
    return db.session.scalars(select(Risk).where(Risk.ref == ref)).one()


# --------------------------------------------------------------------------------------------- web journey


def test_workbooks_of_different_shapes_import_through_the_web_to_the_expected_risks(app: Flask, world: World) -> None:
    coordinator = signed_in(app, COORD)
    data = register_book(
        register_row("FIN-001", "Late contributions"),
        register_row("FIN-002", "Bank failure", **{"Residual likelihood": None, "Residual impact": None}),
        register_row("7", "Payroll error", Category="FIN", **{"Inherent likelihood": None, "Inherent impact": None}),
    )
    before = fingerprint(app)
    response = upload(coordinator, data)
    assert response.status_code == 200, response.text
    assert '3</span><span class="card-label">new risks' in response.text
    assert fingerprint(app) == before  # the preview writes nothing
    assert len(stored_files(app)) == 2  # the bytes and their description, under the token

    applied = coordinator.post("/import/apply", data={"token": token_of(response.text)})
    assert applied.status_code == 303
    assert stored_files(app) == []
    page = coordinator.get(applied.headers["Location"]).text  # the import job's page (run at once in tests)
    assert "Imported register.xlsx into GS-FRMD: 3 new, 0 updated, 0 unchanged" in page
    with app.app_context():
        first = risk_by_ref("FIN-001")
        assert (first.title, first.cause, first.event, first.consequence) == (
            "Late contributions", "member states pay late", "cash runs short", "programmes are delayed",
        )  # fmt: skip
        assert (first.category.code, first.owner_title, first.org_unit.code) == ("FIN", "Chief, Budget", "GS-FRMD")
        assessment = first.current_assessment
        assert assessment is not None
        assert (assessment.inherent_likelihood, assessment.inherent_impact) == (4, 4)
        assert (assessment.residual_likelihood, assessment.residual_impact) == (3, 3)
        assert assessment.rationale == "Imported from register.xlsx."
        assert [c.description for c in first.controls] == ["Monthly cash forecast"]
        assert [(a.description, a.due_date, a.owner_title) for a in first.actions] == [
            ("Send arrears reminders", date(2030, 6, 30), "Chief, Budget")
        ]
        only_inherent = risk_by_ref("FIN-002").current_assessment
        assert only_inherent is not None
        assert only_inherent.residual_score == only_inherent.inherent_score == 16
        assert "residual rating is taken to be the same" in only_inherent.rationale
        numbered = risk_by_ref("FRMD-7")  # a bare number gets the unit's prefix
        assert numbered.current_assessment is not None
        assert numbered.current_assessment.inherent_score == numbered.current_assessment.residual_score == 9
        run = db.session.scalars(select(ImportRun)).one()
        assert (run.created_count, run.updated_count, run.unchanged_count) == (3, 0, 0)
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "import")).one()
        assert event.actor_email == COORD
        assert run.sha256 in event.changes_json
        assert '"created": 3' in event.changes_json


def test_french_workbook_and_semicolon_csv_import_through_the_web(app: Flask, world: World) -> None:
    focal = signed_in(app, FP_FRMD)
    french = xlsx(
        [
            ["Registre des risques — Service des finances"],
            ["Réf.", "Intitulé", "Cause", "Conséquences", "Catégorie", "Service", "Propriétaire",
             "Probabilité résiduelle", "Gravité résiduelle", "Mesures d'atténuation", "Échéance"],
            ["FR-1", "Retards de contributions", "Arriérés", "Programmes reportés", "Financier ", "GS-FRMD",
             "Chef du budget", "Élevé", "Moyen", "Relances ciblées", "30/06/2030"],
        ]
    )  # fmt: skip
    response = upload(focal, french, "registre.xlsx")
    # "Financier" is not a RiskReg category: an error in the preview, beside its cell.
    assert response.status_code == 200
    assert "is not one of RiskReg" in html.unescape(response.text)
    assert '<td class="num">3</td><td>E</td>' in response.text
    csv_text = (
        "Réf;Titre;Description;Catégorie;Propriétaire;Probabilité;Impact;Action;Échéance\r\n"
        "R-1;Panne du centre de données;Les serveurs s'arrêtent;ICT;DSI;4;3;Groupe électrogène;15/09/2030\r\n"
    )
    response = upload(focal, ("\ufeff" + csv_text).encode(), "registre.csv")
    assert response.status_code == 200, response.text
    assert focal.post("/import/apply", data={"token": token_of(response.text)}).status_code == 303
    with app.app_context():
        risk = risk_by_ref("R-1")
        assert (risk.event, risk.category.code, risk.residual_score) == ("Les serveurs s'arrêtent", "ICT", 12)
        assert [a.due_date for a in risk.actions] == [date(2030, 9, 15)]


def test_preview_lists_errors_with_cell_and_nothing_can_be_applied(app: Flask, world: World) -> None:
    coordinator = signed_in(app, COORD)
    data = register_book(
        register_row("FIN-001", "Fine"),
        register_row("FIN-002", "Bad rating", **{"Residual likelihood": "sometimes"}),
        register_row("FIN-003", "No due date", **{"Due date": None}),
        register_row("FIN-004", "No category", Category=None),
        register_row("FIN-005", "Unknown category", Category="Weather"),
    )
    before = fingerprint(app)
    response = upload(coordinator, data)
    assert response.status_code == 200
    text = html.unescape(response.text)
    assert "4 rows with errors" in text
    assert "Nothing can be applied while the file has errors" in text
    assert "Apply the import" not in text
    assert re.search(r"<td>Register</td><td class=\"num\">5</td><td>K</td><td>[^<]*sometimes", text)
    assert "An action needs a due date: 'Send arrears reminders'" in text
    assert "A new risk needs a category" in text
    assert "Category 'Weather' is not one of RiskReg's" in text
    refused = coordinator.post("/import/apply", data={"token": token_of(response.text)})
    assert refused.status_code == 400
    assert "Nothing was written" in refused.text
    assert fingerprint(app) == before


def test_cancel_deletes_the_stored_file_and_changes_nothing(app: Flask, world: World) -> None:
    coordinator = signed_in(app, COORD)
    before = fingerprint(app)
    response = upload(coordinator, register_book(register_row("FIN-001", "Late contributions")))
    token = token_of(response.text)
    assert len(stored_files(app)) == 2
    cancelled = coordinator.post("/import/cancel", data={"token": token})
    assert cancelled.status_code == 303
    assert stored_files(app) == []
    assert fingerprint(app) == before
    assert coordinator.post("/import/apply", data={"token": token}).status_code == 404
    assert coordinator.get(f"/import/{token}").status_code == 404


def test_reimporting_the_same_file_changes_nothing(app: Flask, world: World) -> None:
    coordinator = signed_in(app, COORD)
    data = register_book(
        register_row("FIN-001", "Late contributions", Mitigation="• Send reminders (due 30/06/2030)\n• Escalate"),
        register_row("", "No reference at all", **{"Due date": date(2030, 1, 31)}),
    )
    first = upload(coordinator, data)
    assert coordinator.post("/import/apply", data={"token": token_of(first.text)}).status_code == 303
    with app.app_context():
        versions = {ref: v for ref, v in db.session.execute(select(Risk.ref, Risk.version))}
    before = fingerprint(app)
    again = upload(coordinator, data)
    assert '0</span><span class="card-label">new risks' in again.text
    assert '2</span><span class="card-label">unchanged' in again.text
    assert coordinator.post("/import/apply", data={"token": token_of(again.text)}).status_code == 303
    after = fingerprint(app)
    assert after["ImportRun"] == before["ImportRun"] + 1
    assert after["AuditEvent"] == before["AuditEvent"] + 1
    assert {k: v for k, v in after.items() if k not in ("ImportRun", "AuditEvent")} == {
        k: v for k, v in before.items() if k not in ("ImportRun", "AuditEvent")
    }
    with app.app_context():
        assert {ref: v for ref, v in db.session.execute(select(Risk.ref, Risk.version))} == versions


def test_update_writes_only_the_changed_fields(app: Flask, world: World) -> None:
    coordinator = signed_in(app, COORD)
    with app.app_context():
        risk = risk_by_ref(world.existing_ref)
        before_cause, before_assessments, version = risk.cause, len(risk.assessments), risk.version
    data = xlsx(
        [
            ["Ref", "Title", "Owner", "Residual likelihood", "Residual impact", "Controls", "Actions", "Due date"],
            [world.existing_ref, "Exchange-rate loss", "Chief Treasurer", 4, 3, "Hedging policy",
             "Review hedging\nBuy forward contracts", "31/12/2030\n30/09/2030"],
        ]
    )  # fmt: skip
    response = upload(coordinator, data)
    text = html.unescape(response.text)
    assert '1</span><span class="card-label">updates' in response.text
    assert re.search(r"Owner:</span> <span class=\"import-old\">Treasurer</span>.*Chief Treasurer", text)
    assert "Residual likelihood:" in text
    assert "Controls:" not in text
    assert coordinator.post("/import/apply", data={"token": token_of(response.text)}).status_code == 303
    with app.app_context():
        risk = risk_by_ref(world.existing_ref)
        assert risk.owner_title == "Chief Treasurer"
        assert risk.cause == before_cause  # not in the file: untouched
        assert risk.version > version
        assert len(risk.assessments) == before_assessments + 1
        assert (risk.residual_likelihood, risk.residual_impact) == (4, 3)
        assert [(a.description, a.due_date, a.revised_due_date) for a in risk.actions] == [
            ("Review hedging", date(2030, 1, 1), date(2030, 12, 31)),  # re-dated: the original stays as baseline
            ("Buy forward contracts", date(2030, 9, 30), None),
        ]
        assert [c.description for c in risk.controls if c.retired_at is None] == ["Hedging policy"]


def test_apply_refuses_when_the_register_changed_since_the_preview(app: Flask, world: World) -> None:
    coordinator = signed_in(app, COORD)
    response = upload(coordinator, register_book(register_row("FIN-001", "A"), register_row("FIN-002", "B")))
    token = token_of(response.text)
    with app.app_context():  # meanwhile FIN-001 arrives by another route (another import, another process)
        other = ops.RiskInput("A", "c", "e", "q", risk_by_ref(world.existing_ref).category_id, "Owner")
        ops.create_risk(db.session, SYSTEM, other, risk_by_ref(world.existing_ref).org_unit_id, ref="FIN-001")
    before = fingerprint(app)
    refused = coordinator.post("/import/apply", data={"token": token})
    assert refused.status_code == 303  # to the import job, which plans again under the unit's lock and refuses
    job_page = coordinator.get(refused.headers["Location"]).text
    assert 'data-job-status="failed"' in job_page
    assert "The register changed since the preview (2 → 1 new, 0 → 1 updated)" in html.unescape(job_page)
    assert fingerprint(app) == before
    assert coordinator.get(f"/import/{token}").status_code == 200  # the new preview
    assert coordinator.post("/import/apply", data={"token": token}).status_code == 303  # the new preview applies
    with app.app_context():
        assert db.session.scalars(select(ImportRun)).one().created_count == 1


# --------------------------------------------------------------------------------------------- scope


def test_focal_point_imports_into_their_own_unit_only(app: Flask, world: World) -> None:
    focal = signed_in(app, FP_FRMD)
    data = register_book(
        register_row("FIN-001", "Ours"),
        register_row("ICT-001", "Theirs", Department="GS-ICT"),
        register_row("ICT-002", "Theirs by name", Department="Information Services"),
    )
    response = upload(focal, data, unit="GS-ICT")  # the posted unit is ignored: focal points have no choice
    assert response.status_code == 200
    text = html.unescape(response.text)
    assert "Into GS-FRMD — Financial Resources Management" in text
    assert "2 rows with errors" in text
    assert "This row names the unit 'GS-ICT', but the import is into GS-FRMD" in text
    token = token_of(response.text)
    other = signed_in(app, FP_ICT)
    assert other.get(f"/import/{token}").status_code == 404
    assert other.post("/import/apply", data={"token": token}).status_code == 404
    assert other.post("/import/cancel", data={"token": token}).status_code == 404
    assert len(stored_files(app)) == 2
    assert signed_in(app, VIEWER).get("/import/").status_code == 403


def test_references_used_outside_the_unit_are_errors(app: Flask, world: World) -> None:
    with app.app_context():
        ict = db.session.scalars(select(OrgUnit).where(OrgUnit.code == "GS-ICT")).one()
        ict_ref = make_risk(unit=ict, title="Ransomware", category_code="ICT").ref
        deleted = risk_by_ref(world.existing_ref)
        ops.delete_risk(db.session, SYSTEM, deleted, "duplicate", deleted.version)
    coordinator = signed_in(app, COORD)
    response = upload(coordinator, register_book(register_row(ict_ref, "Mine?"), register_row(world.existing_ref, "X")))
    text = html.unescape(response.text)
    assert f"Reference {ict_ref} is already used in RiskReg outside GS-FRMD" in text
    assert "Ransomware" not in text  # says the reference is taken, not what the other unit's risk is
    assert f"Reference {world.existing_ref} belongs to a deleted risk of this unit" in text


def test_references_are_made_usable_and_unique() -> None:
    assert usable_ref("FIN/2026/01", "FRMD") == "FIN-2026-01"
    assert usable_ref("7", "FRMD") == "FRMD-7"
    assert usable_ref("1.2", "FRMD") == "FRMD-1.2"
    assert usable_ref("new", "FRMD") == "FRMD-new"
    assert usable_ref(" R 12 ", "FRMD") == "R-12"
    assert usable_ref("#", "FRMD") == ""


# --------------------------------------------------------------------------------------------- hostile uploads


def test_hostile_files_through_the_web_answer_400_with_the_reason(app: Flask, world: World) -> None:
    coordinator = signed_in(app, COORD)
    refused = [case for case in CORPUS if case.expect == "refused"]
    assert len(refused) >= 20
    for case in refused:
        data = case.build()
        response = upload(coordinator, data, case.filename)
        assert response.status_code == 400, case.build.__name__
        # Files over the site's import limit (8 MB here) are refused for their size before anything else.
        reason = case.match if len(data) <= int(app.config["IMPORT_MAX_BYTES"]) else "the import accepts files up to"
        assert reason in html.unescape(response.text), case.build.__name__
        assert 'class="error-message" id="file-error"' in response.text
    assert stored_files(app) == []
    assert fingerprint(app)["ImportRun"] == 0


def test_hostile_files_that_are_cleaned_show_why_in_the_preview(app: Flask, world: World) -> None:
    coordinator = signed_in(app, COORD)
    cleaned = [case for case in CORPUS if case.expect != "refused"]
    assert cleaned
    for case in cleaned:
        response = upload(coordinator, case.build(), case.filename)
        assert response.status_code == 200, case.build.__name__
        assert case.expect in html.unescape(response.text), case.build.__name__
        assert coordinator.post("/import/cancel", data={"token": token_of(response.text)}).status_code == 303
    assert stored_files(app) == []


def test_bad_mapping_file_is_refused_beside_its_field(app: Flask, world: World) -> None:
    coordinator = signed_in(app, COORD)
    data = register_book(register_row("FIN-001", "A"))
    response = upload(coordinator, data, mapping=b'[columns]\n"Risk title" = "colour"\n')
    assert response.status_code == 400
    assert 'id="mapping-error"' in response.text
    assert "is not a field" in html.unescape(response.text)
    response = upload(coordinator, data, mapping=b'[columns]\n"Comments" = "rationale"\n', sheet="Nope")
    assert response.status_code == 400
    assert "no sheet named 'Nope'" in html.unescape(response.text)


def test_oversized_upload_is_refused_with_413(app: Flask, world: World) -> None:
    coordinator = signed_in(app, COORD)
    too_big = b"x" * (int(app.config["MAX_CONTENT_LENGTH"]) + 1)
    response = upload(coordinator, too_big, "big.csv")
    assert response.status_code == 413
    assert "File too large" in response.text
    over_import_limit = b"Ref,Title\r\n" + b"x" * int(app.config["IMPORT_MAX_BYTES"])
    response = upload(coordinator, over_import_limit, "big.csv")
    assert response.status_code == 400
    assert "the import accepts files up to 8 MB" in response.text
    assert stored_files(app) == []


def test_file_name_is_escaped_everywhere_and_never_a_path(app: Flask, world: World) -> None:
    coordinator = signed_in(app, COORD)
    response = upload(coordinator, register_book(register_row("FIN-001", "A")), XSS_NAME)
    assert response.status_code == 200
    assert "<img src=x" not in response.text
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;.xlsx" in response.text  # decoded by Werkzeug, escaped
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{32}\.(bin|json)", name) for name in stored_files(app))
    token = token_of(response.text)
    assert "<img" not in coordinator.get(f"/import/{token}").text
    assert coordinator.post("/import/apply", data={"token": token}).status_code == 303
    listing = coordinator.get("/import/").text
    assert "<img src=x" not in listing
    assert "&lt;img src=x" in listing
    refused = upload(coordinator, b"%PDF-1.7 not a sheet", XSS_NAME.replace(".xlsx", ".csv"))
    assert refused.status_code == 400
    assert "<img src=x" not in refused.text


def test_stored_uploads_older_than_a_day_are_swept(tmp_path: Path) -> None:
    meta = uploads.StoredUpload(uploads.new_token(), "GS-FRMD", "a.xlsx", "0" * 64, 1, time.time())
    uploads.store(tmp_path, b"data", meta)
    (tmp_path / "unrelated.txt").write_text("kept")
    assert uploads.sweep(tmp_path, now=time.time() + 3600) == 0
    assert uploads.load(tmp_path, meta.token) is not None
    assert uploads.claim(tmp_path, meta.token)  # one Apply takes it ...
    assert not uploads.claim(tmp_path, meta.token)  # ... a second (double click, another process) finds nothing
    assert uploads.load(tmp_path, meta.token) is None
    uploads.release(tmp_path, meta.token)  # the apply failed: it can be applied again
    assert uploads.load(tmp_path, meta.token) is not None
    assert uploads.sweep(tmp_path, now=time.time() + 2 * 86400) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["unrelated.txt"]
    assert uploads.load(tmp_path, "../../etc/passwd") is None
    old = uploads.StoredUpload(uploads.new_token(), "GS-FRMD", "a.xlsx", "0" * 64, 1, time.time() - 2 * 86400)
    uploads.store(tmp_path, b"data", old)
    assert uploads.load(tmp_path, old.token) is None  # expired: refused and removed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["unrelated.txt"]


# --------------------------------------------------------------------------------------------- operations


def _plan(app: Flask, data: bytes, unit_code: str = "GS-FRMD") -> tuple[OrgUnit, Any]:
    unit = db.session.scalars(select(OrgUnit).where(OrgUnit.code == unit_code)).one()
    result = read_register(data, "ops.xlsx", current_scales(db.session))
    return unit, plan_for_unit(db.session, unit, result)


def test_apply_is_all_or_nothing_when_a_row_fails_midway(
    app: Flask, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [register_row(f"FIN-{n:03d}", f"Risk {n}") for n in range(1, 6)]
    rows.append(register_row(world.existing_ref, "Exchange-rate loss", **{"Risk owner": "New owner"}))
    real = audit.row  # every audit event, the update's and the bulk-written new risks' alike
    calls = {"n": 0}

    def failing_on_the_fourth(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 4:
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    before = fingerprint(app)
    with app.app_context():
        unit, plan = _plan(app, register_book(*rows))
        assert plan.counts() == {"new": 5, "update": 1, "unchanged": 0, "error": 0}
        monkeypatch.setattr(audit, "row", failing_on_the_fourth)
        with pytest.raises(RuntimeError):
            import_ops.apply_import(db.session, SYSTEM, unit, plan, file_name="ops.xlsx", sha256="0" * 64,
                                    scales=current_scales(db.session))  # fmt: skip
    assert calls["n"] == 4
    assert fingerprint(app) == before
    with app.app_context():
        assert risk_by_ref(world.existing_ref).owner_title == "Treasurer"  # the update before the failure, undone


def test_apply_refuses_a_plan_with_errors(app: Flask, world: World) -> None:
    before = fingerprint(app)
    with app.app_context():
        unit, plan = _plan(app, register_book(register_row("FIN-001", "A", Category="Nope")))
        assert plan.has_errors
        assert plan.rows[0].action is RowAction.ERROR
        with pytest.raises(import_ops.ImportRefused, match="1 row"):
            import_ops.apply_import(db.session, SYSTEM, unit, plan, file_name="x", sha256="0" * 64,
                                    scales=current_scales(db.session))  # fmt: skip
    assert fingerprint(app) == before


def test_existing_for_import_gives_what_plan_import_compares(app: Flask, world: World) -> None:
    with app.app_context():
        unit = db.session.scalars(select(OrgUnit).where(OrgUnit.code == "GS-FRMD")).one()
        values = import_ops.existing_for_import(db.session, unit)[world.existing_ref]
    assert values["title"] == "Exchange-rate loss"
    assert values["owner_title"] == "Treasurer"
    assert values["category"] == ("FIN", "Financial")
    assert "GS-FRMD" in values["unit"]  # type: ignore[operator]
    assert (values["residual_likelihood"], values["residual_impact"]) == (2, 3)
    assert values["controls"] == "Hedging policy"
    assert [(a.description, a.due_date) for a in values["actions"]] == [("Review hedging", date(2030, 1, 1))]  # type: ignore[attr-defined]


def test_refused_files_raise_only_import_rejected(app: Flask, world: World) -> None:
    with app.app_context(), pytest.raises(ImportRejected):
        _plan(app, b"")


# --------------------------------------------------------------------------------------------- round trip


def test_council_workbook_register_sheet_imports_back_with_no_loss(app: Flask, world: World) -> None:
    """RiskReg's own Council workbook (task force audience, which shows the ratings) into a fresh state."""
    from riskreg import paths
    from riskreg.policy import statement_in_force, to_pure
    from riskreg.risks.rows import live_snapshot
    from riskreg.workbook import CouncilInputs, build_council_workbook, load_layout

    fields = (
        "ref", "title", "cause", "event", "consequence", "category_code", "unit_code", "level", "owner_title",
        "treatment", "inherent_likelihood", "inherent_impact", "residual_likelihood", "residual_impact",
        "control_effectiveness", "velocity", "target_date", "controls_summary",
    )  # fmt: skip
    with app.app_context():
        ict = db.session.scalars(select(OrgUnit).where(OrgUnit.code == "GS-ICT")).one()
        scales = current_scales(db.session)
        # The source register is built without committing, read into a workbook, then rolled back: the
        # import then lands in the same database as it was before, with none of these risks.
        sources = [
            ("Ransomware locks the file servers", "ICT", (4, 5), (3, 4), "treat", "partially_effective", 3),
            ('=HYPERLINK("http://x") looks like a formula', "OPS", (3, 3), (2, 2), "tolerate", "effective", None),
            ("Data centre flood", "SAF", (5, 5), (5, 4), "transfer", "ineffective", 5),
        ]
        for title, code, inherent, residual, treatment, effectiveness, velocity in sources:
            data = ops.RiskInput(
                title=title, cause="the backup site is shared", event=f"{title.lower()} happens",
                consequence="meetings stop for a week", category_id=category(code).id, owner_title="Chief, ICT",
                treatment=Treatment(treatment), level=RiskLevel.SECTOR, target_date=date(2031, 3, 31),
            )  # fmt: skip
            assessment = ops.AssessmentInput(
                *inherent, *residual, control_effectiveness=ControlEffectiveness(effectiveness),
                velocity=velocity, rationale="workshop",
            )  # fmt: skip
            risk = ops.create_risk(db.session, SYSTEM, data, ict.id, assessment=assessment, scales=scales, commit=False)
            ops.add_control(db.session, SYSTEM, risk, ops.ControlInput("Offsite backups"), commit=False)
            ops.add_control(db.session, SYSTEM, risk, ops.ControlInput("Patch monthly"), commit=False)
            ops.add_action(db.session, SYSTEM, risk, ops.ActionInput("Test restores", "CIO", date(2030, 3, 31)),
                           commit=False)  # fmt: skip
        statement = statement_in_force(db.session, date.today())
        assert statement is not None
        snapshot = live_snapshot(db.session, "2026-Q2", statement.version, scales.version)
        snapshot = replace(snapshot, rows=tuple(row for row in snapshot.rows if row.unit_code == "GS-ICT"))
        originals = {row.ref: row for row in snapshot.rows}
        assert len(originals) == 3
        inputs = CouncilInputs(
            snapshot=snapshot, previous=None, statement=to_pure(statement), scales=scales,
            category_names={}, unit_names={"GS-ICT": "Information Services"}, audience="taskforce",
            organisation="IUCS", session="Council 2026", symbol="C26/1", annex="1", classification="Internal",
            prepared_by="Risk coordination", generated_at=datetime(2026, 6, 1, tzinfo=UTC),
        )  # fmt: skip
        workbook = build_council_workbook(inputs, load_layout(paths.COUNCIL_LAYOUT))
        db.session.rollback()
        assert not db.session.scalars(select(Risk).where(Risk.org_unit_id == ict.id)).all()

        result = read_register(workbook, "council.xlsx", scales)
        assert not result.unmapped
        plan = plan_for_unit(db.session, ict, result)
        assert [p.action for p in plan.rows] == [RowAction.NEW] * 3, [str(e) for e in plan.errors]
        import_ops.apply_import(db.session, SYSTEM, ict, plan, file_name="council.xlsx", sha256=result.sha256,
                                scales=scales)  # fmt: skip
        statement = statement_in_force(db.session, date.today())
        assert statement is not None
        again = live_snapshot(db.session, "2026-Q2", statement.version, scales.version)
        imported = {row.ref: row for row in again.rows if row.unit_code == "GS-ICT"}
        assert set(imported) == set(originals)
        for ref, original in originals.items():
            for name in fields:
                assert getattr(imported[ref], name) == getattr(original, name), (ref, name)
            assert [(a.description, a.due_date) for a in imported[ref].actions] == [
                (a.description, a.due_date) for a in original.actions
            ]
        # And the workbook read against the imported register: nothing to change.
        replay = plan_for_unit(db.session, ict, read_register(workbook, "council.xlsx", scales))
        assert [p.action for p in replay.rows] == [RowAction.UNCHANGED] * 3


def test_app_refuses_to_start_when_openpyxl_would_not_use_defusedxml(monkeypatch: pytest.MonkeyPatch) -> None:
    import openpyxl

    from riskreg import ConfigurationError, create_app

    config = {"SECRET_KEY": "k" * 40, "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    create_app(config)  # starts as it is
    monkeypatch.setattr(openpyxl, "DEFUSEDXML", False)
    with pytest.raises(ConfigurationError, match="defusedxml"):
        create_app(config)
    monkeypatch.setattr(openpyxl, "DEFUSEDXML", True)
    monkeypatch.setenv("OPENPYXL_DEFUSEDXML", "False")
    with pytest.raises(ConfigurationError, match="OPENPYXL_DEFUSEDXML"):
        create_app(config)
