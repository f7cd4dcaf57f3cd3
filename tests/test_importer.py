"""Importing registers as departments really keep them: workbooks and CSV files built here in many shapes."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter
from openpyxl import Workbook

from riskreg import paths
from riskreg.appetite import Zone, load_statement
from riskreg.importer import (
    FIELD_LIMITS,
    WORD_TABLE,
    ImportedAction,
    ImportPlan,
    ImportRejected,
    ImportResult,
    RowAction,
    parse_mapping,
    plan_import,
    read_register,
)
from riskreg.importer.columns import load_council_vocabulary
from riskreg.importer.values import LevelReader, read_date
from riskreg.scoring import Level, Scales, load_scales
from riskreg.snapshot import ActionRow, RiskRow, Snapshot


@pytest.fixture(scope="module")
def scales() -> Scales:
    return load_scales(paths.SCALES_FILE)


def xlsx(rows: Sequence[Sequence[Any]], *, title: str = "Register", merges: Sequence[str] = ()) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title
    for row in rows:
        ws.append(list(row))
    for cells in merges:
        ws.merge_cells(cells)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def by_ref(result: ImportResult) -> dict[str, Mapping[str, object]]:
    return {row.ref: row.values for row in result.rows}


def errors_of(result: ImportResult) -> list[str]:
    return [str(e) for e in result.errors]


# ------------------------------------------------------------------------------------------------ shapes


def test_title_rows_above_the_header_blank_and_total_rows_are_skipped(scales: Scales) -> None:
    data = xlsx(
        [
            ["Finance Department: risk register 2026"],
            ["Prepared by the focal point", None, None, "Status as at 31/03/2026"],
            [],
            ["Ref", "Risk title", "Cause", "Likelihood", "Impact", "Owner", "Comments"],
            ["FIN-001", "Late contributions", "Member arrears", 4, 3, "Chief, Budget", "watch"],
            [],
            ["FIN-002", "Exchange-rate loss", "CHF volatility", 2, 4, "Treasurer", None],
            ["FIN-003", "Total loss of the data centre", "Fire", 1, 5, "CIO", None],
            ["Total", None, None, None, None, None, None],
        ]
    )
    result = read_register(data, "finance.xlsx", scales)
    assert result.sheets == ("Register",)
    assert not result.errors
    assert [r.row for r in result.rows] == [5, 7, 8]
    assert any("row 9 was read as a total line" in w for w in result.warnings)
    first = by_ref(result)["FIN-001"]
    assert first["title"] == "Late contributions"
    assert first["cause"] == "Member arrears"
    assert (first["residual_likelihood"], first["residual_impact"]) == (4, 3)
    assert first["owner_title"] == "Chief, Budget"
    assert [(c.letter, c.header) for c in result.unmapped] == [("G", "Comments")]


def test_merged_group_headers_qualify_the_ratings_below_them(scales: Scales) -> None:
    data = xlsx(
        [
            ["Risk register"],
            ["", "", "Inherent risk", None, "Residual risk", None, "Target"],
            ["No.", "Risk", "L", "I", "L", "I", "LxI"],
            [1, "Data breach", 5, 4, 3, 4, "2x4"],
        ],
        merges=["C2:D2", "E2:F2"],
    )
    result = read_register(data, "merged.xlsx", scales)
    assert not result.errors, errors_of(result)
    values = by_ref(result)["1"]
    assert (values["inherent_likelihood"], values["inherent_impact"]) == (5, 4)
    assert (values["residual_likelihood"], values["residual_impact"]) == (3, 4)
    assert (values["target_likelihood"], values["target_impact"]) == (2, 4)
    fields = {c.letter: c.field for c in result.mapping}
    assert fields == {
        "A": "ref",
        "B": "title",
        "C": "inherent_likelihood",
        "D": "inherent_impact",
        "E": "residual_likelihood",
        "F": "residual_impact",
        "G": "target_score",
    }


def test_scale_labels_and_numbers_with_labels_are_read(scales: Scales) -> None:
    data = xlsx(
        [
            ["Ref", "Title", "Inherent likelihood", "Inherent impact", "Residual likelihood", "Residual impact"],
            ["R1", "One", "Almost certain", "Severe", "likely", "MODERATE"],
            ["R2", "Two", "4 - Likely", "Major (4)", "60%", "2"],
            ["R3", "Three", "Likely (3)", "Minor", "Rare", "Negligible"],
        ]
    )
    result = read_register(data, "labels.xlsx", scales)
    rows = by_ref(result)
    assert [rows["R1"][k] for k in ("inherent_likelihood", "inherent_impact")] == [5, 5]
    assert [rows["R1"][k] for k in ("residual_likelihood", "residual_impact")] == [4, 3]
    assert [rows["R2"][k] for k in ("inherent_likelihood", "inherent_impact", "residual_likelihood")] == [4, 4, 4]
    assert rows["R2"]["residual_impact"] == 2
    # "Likely (3)" contradicts itself: Likely is 4 on these scales.
    (error,) = result.errors
    assert (error.row, error.column_letter) == (4, "C")
    assert "contradicts itself" in error.message
    assert not result.warnings  # no word table was needed


def test_french_headers_and_values(scales: Scales) -> None:
    headers = (
        "Réf.|Intitulé|Cause|Événement|Conséquences|Catégorie|Service|Propriétaire|Probabilité inhérente|"
        "Gravité inhérente|Probabilité résiduelle|Gravité résiduelle|Mesures d'atténuation|Échéance|Statut"
    )
    values = (
        "FIN-7|Retards de contributions|Arriérés|Trésorerie insuffisante|Programmes reportés|Financier|GS-FRMD|"
        "Chef du budget|Élevé|Très élevé|Moyen|Élevé|Relances ciblées|30/06/2026|Ouvert"
    )
    data = xlsx([["Registre des risques — Service des finances"], headers.split("|"), values.split("|")])
    result = read_register(data, "registre.xlsx", scales)
    assert not result.errors, errors_of(result)
    assert not result.unmapped
    values = by_ref(result)["FIN-7"]
    assert values["event"] == "Trésorerie insuffisante"
    assert values["consequence"] == "Programmes reportés"
    assert values["category"] == "Financier"
    assert values["unit"] == "GS-FRMD"
    assert values["status"] == "active"
    assert (values["inherent_likelihood"], values["inherent_impact"]) == (4, 5)
    assert (values["residual_likelihood"], values["residual_impact"]) == (3, 4)
    assert values["actions"] == (ImportedAction("Relances ciblées", date(2026, 6, 30)),)
    assert any("stated table" in w for w in result.warnings)  # Élevé / Moyen used the word table


def test_csv_with_semicolons_bom_and_day_month_year_dates(scales: Scales) -> None:
    text = (
        "Réf;Titre;Description;Probabilité;Impact;Action;Échéance\r\n"
        'R-1;Panne du centre de données;"Because power fails, there is a risk that servers stop, which would halt '
        'meetings";4;3;"Groupe électrogène, contrat";15/09/2026\r\n'
        "R-2;Fraude;Paiements frauduleux;H;M;Double signature;2026-12-31\r\n"
    )
    result = read_register(("\ufeff" + text).encode("utf-8"), "registre.csv", scales)
    assert result.kind == "csv"
    assert not result.errors, errors_of(result)
    first, second = result.rows
    assert first.ref == "R-1"  # the BOM is not part of the first header
    assert first.values["cause"] == "power fails"
    assert first.values["event"] == "servers stop"
    assert first.values["consequence"] == "halt meetings"
    assert first.values["actions"] == (ImportedAction("Groupe électrogène, contrat", date(2026, 9, 15)),)
    assert (second.values["residual_likelihood"], second.values["residual_impact"]) == (4, 3)  # H / M
    assert second.values["event"] == "Paiements frauduleux"
    assert second.values["title"] == "Fraude"


def test_csv_with_commas_and_windows_1252_is_read_with_a_warning(scales: Scales) -> None:
    text = "Ref,Title,Likelihood,Impact,Category\nR1,Sécurité des données,2,5,ICT\n"
    result = read_register(text.encode("cp1252"), "old.csv", scales)
    assert by_ref(result)["R1"]["title"] == "Sécurité des données"
    assert any("Windows-1252" in w for w in result.warnings)


def test_workbook_written_by_xlsxwriter(scales: Scales) -> None:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("Risk Register 2026")
    dates = book.add_format({"num_format": "dd/mm/yyyy"})
    sheet.write_row(0, 0, ["Risk ID", "Risk Name", "Risk Owner", "Probability", "Severity", "Mitigation", "Deadline"])
    sheet.write_row(1, 0, ["OPS-12", "Venue unavailable", "Head, Conferences", 3, 5, "Back-up venue"])
    sheet.write_datetime(1, 6, datetime(2026, 3, 31), dates)
    sheet.write_row(2, 0, ["OPS-13", "Interpreters short", "Head, Languages", "M", "H", "Framework contract"])
    sheet.write_string(2, 6, "Q3 2026")
    sheet.write_formula(3, 0, '="OPS-"&14', None, "OPS-14")  # a formula with its cached value
    sheet.write_row(3, 1, ["Catering failure", "Head, Services", 1, 2])
    book.close()
    result = read_register(buffer.getvalue(), "xlsxwriter.xlsx", scales)
    assert not result.errors, errors_of(result)
    rows = by_ref(result)
    assert rows["OPS-12"]["actions"] == (ImportedAction("Back-up venue", date(2026, 3, 31)),)
    assert rows["OPS-13"]["actions"] == (ImportedAction("Framework contract", date(2026, 9, 30)),)
    assert (rows["OPS-13"]["residual_likelihood"], rows["OPS-13"]["residual_impact"]) == (3, 4)
    assert rows["OPS-14"]["title"] == "Catering failure"


def test_likelihood_times_impact_in_one_cell(scales: Scales) -> None:
    data = xlsx(
        [
            ["Ref", "Title", "Inherent (L x I)", "Residual rating", "Likelihood"],
            ["A", "One", "4x3", "3 × 3 = 9", None],
            ["B", "Two", "5*5", "2x2", None],
            ["C", "Three", "4x3=11", "9", None],
            ["D", "Four", None, None, "4x2"],
        ]
    )
    result = read_register(data, "pairs.xlsx", scales)
    rows = by_ref(result)
    assert (rows["A"]["inherent_likelihood"], rows["A"]["inherent_impact"]) == (4, 3)
    assert (rows["A"]["residual_likelihood"], rows["A"]["residual_impact"]) == (3, 3)
    assert (rows["B"]["inherent_likelihood"], rows["B"]["inherent_impact"]) == (5, 5)
    assert (rows["D"]["inherent_likelihood"], rows["D"]["inherent_impact"]) == (4, 2)  # under "Residual rating"
    messages = {(e.row, e.column_letter): e.message for e in result.errors}
    assert "does not add up" in messages[(4, "C")]
    assert "alone cannot give likelihood and impact" in messages[(4, "D")]


def test_high_medium_low_use_the_stated_table(scales: Scales) -> None:
    data = xlsx([["Ref", "Title", "Likelihood", "Impact"], ["1", "a", "H", "L"], ["2", "b", "Very High", "medium"]])
    result = read_register(data, "hml.xlsx", scales)
    rows = by_ref(result)
    assert (rows["1"]["residual_likelihood"], rows["1"]["residual_impact"]) == (4, 2)
    assert (rows["2"]["residual_likelihood"], rows["2"]["residual_impact"]) == (5, 3)
    assert sum("stated table" in w for w in result.warnings) == 2


@pytest.mark.parametrize("levels", sorted(WORD_TABLE))
def test_word_table_is_ordered_and_on_every_scale_size(levels: int) -> None:
    scale = tuple(Level(v, f"Level {v}", "") for v in range(1, levels + 1))
    reader = LevelReader(scale, "impact")
    places = [reader.read(word)[0] for word in ("Very low", "Low", "Medium", "High", "Very high")]
    assert places == sorted(places)
    assert places[0] == 1
    assert places[-1] == levels
    assert reader.read("Medium")[0] < reader.read("High")[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30/06/2026", date(2026, 6, 30)),
        ("30.06.26", date(2026, 6, 30)),
        ("2026-06-30", date(2026, 6, 30)),
        ("2026-06-30T00:00:00", date(2026, 6, 30)),
        ("1er juillet 2026", date(2026, 7, 1)),
        ("30 June 2026", date(2026, 6, 30)),
        ("December 2026", date(2026, 12, 31)),
        ("T2 2026", date(2026, 6, 30)),
        (46203, date(2026, 6, 30)),
    ],
)
def test_dates_as_people_write_them(text: object, expected: date) -> None:
    assert read_date(text) == expected


def test_month_first_dates_and_ongoing_due_dates(scales: Scales) -> None:
    data = xlsx(
        [
            ["Ref", "Title", "Action", "Due date", "Target date"],
            ["1", "a", "Train staff", "06/30/2026", "ongoing"],
            ["2", "b", "Review", "TBD", "31/02/2026"],
        ]
    )
    result = read_register(data, "dates.xlsx", scales)
    messages = {(e.row, e.column_letter): e.message for e in result.errors}
    assert "month/day/year" in messages[(2, "D")]
    assert "not a valid date" in messages[(3, "E")]
    assert by_ref(result)["2"]["actions"] == (ImportedAction("Review", None),)


def test_score_alone_and_score_that_does_not_match_are_errors(scales: Scales) -> None:
    data = xlsx(
        [
            ["Ref", "Title", "Likelihood", "Impact", "Risk score", "Band"],
            ["1", "Score only", None, None, 12, None],
            ["2", "Band only", None, None, None, "High"],
            ["3", "Wrong score", 3, 3, 12, None],
            ["4", "Band differs", 3, 3, 9, "High"],
            ["5", "Half a rating", 3, None, None, None],
        ]
    )
    result = read_register(data, "scores.xlsx", scales)
    messages = {(e.row, e.column_letter): e.message for e in result.errors}
    assert "alone cannot give likelihood and impact" in messages[(2, "E")]
    assert "alone cannot give likelihood and impact" in messages[(3, "F")]
    assert "does not match likelihood 3 × impact 3 = 9" in messages[(4, "E")]
    assert "impact is missing" in messages[(6, "D")]
    (warning,) = [w for r in result.rows for w in r.warnings]
    assert (warning.row, warning.column_letter) == (5, "F")
    assert "residual_score" not in by_ref(result)["4"]  # scores are checked, never imported


def test_text_is_cleaned_and_overlong_cells_are_refused(scales: Scales) -> None:
    long_title = "x" * (FIELD_LIMITS["title"] + 1)
    data = xlsx(
        [
            ["Ref", "Title", "Cause"],
            ["1", "  Power   cut  ", "Line one\r\nline two\u0085"],
            ["2", long_title, "ok"],
            ["3", "#N/A", "ok"],
        ]
    )
    result = read_register(data, "text.xlsx", scales)
    rows = by_ref(result)
    assert rows["1"]["title"] == "Power   cut"
    assert rows["1"]["cause"] == "Line one\nline two"
    assert [w.column_letter for r in result.rows for w in r.warnings] == ["C"]
    messages = {(e.row, e.column_letter): e.message for e in result.errors}
    assert "121 characters long; at most 120" in messages[(3, "B")]
    assert "Excel error #N/A" in messages[(4, "B")]


def test_mapping_overrides_the_guess_and_unknown_fields_are_refused(scales: Scales) -> None:
    data = xlsx([["Ref", "Heading", "Likelihood", "Notes"], ["1", "Power cut", 2, "keep"]])
    result = read_register(data, "m.xlsx", scales, mapping={"heading": "title", "LIKELIHOOD": "ignore"})
    assert by_ref(result)["1"] == {"ref": "1", "title": "Power cut"}
    assert [c.header for c in result.unmapped] == ["Notes"]
    with pytest.raises(ImportRejected, match="not a field"):
        read_register(data, "m.xlsx", scales, mapping={"Heading": "headline"})
    assert parse_mapping('[columns]\n"Risk heading" = "title"\n') == {"Risk heading": "title"}
    with pytest.raises(ImportRejected):
        parse_mapping('[columns]\n"Risk heading" = "nonsense"\n')


def test_every_register_sheet_is_read_or_only_the_named_one(scales: Scales) -> None:
    wb = Workbook()
    first = wb.active
    assert first is not None
    first.title = "Instructions"
    first.append(["How to fill in this register"])
    for name, ref in (("2025", "A-1"), ("2026", "A-2")):
        ws = wb.create_sheet(name)
        ws.append(["Ref", "Title", "Likelihood", "Impact"])
        ws.append([ref, f"Risk of {name}", 2, 2])
    buffer = io.BytesIO()
    wb.save(buffer)
    result = read_register(buffer.getvalue(), "two.xlsx", scales)
    assert result.sheets == ("2025", "2026")
    assert [(r.sheet, r.ref) for r in result.rows] == [("2025", "A-1"), ("2026", "A-2")]
    only = read_register(buffer.getvalue(), "two.xlsx", scales, sheet="2026")
    assert [r.ref for r in only.rows] == ["A-2"]
    with pytest.raises(ImportRejected, match="no sheet named"):
        read_register(buffer.getvalue(), "two.xlsx", scales, sheet="2027")
    with pytest.raises(ImportRejected, match="has no row of column headers"):
        read_register(buffer.getvalue(), "two.xlsx", scales, sheet="Instructions")


def test_ambiguous_columns_are_decided_by_their_values(scales: Scales) -> None:
    data = xlsx(
        [
            ["Ref", "Risk", "Impact", "Likelihood", "Severity", "Treatment", "Response"],
            ["1", "Flood", "Offices closed for weeks", 2, 4, "Treat", "Move servers upstairs"],
            ["2", "Strike", "Conferences cancelled at short notice", 3, 3, "Tolerate", "Contingency staff"],
        ]
    )
    result = read_register(data, "amb.xlsx", scales)
    assert not result.errors, errors_of(result)
    row = by_ref(result)["1"]
    assert row["consequence"] == "Offices closed for weeks"
    assert (row["residual_likelihood"], row["residual_impact"]) == (2, 4)
    assert row["treatment"] == "treat"
    assert row["actions"] == (ImportedAction("Move servers upstairs"),)


def test_section_headings_and_bulleted_actions(scales: Scales) -> None:
    data = xlsx(
        [
            ["Ref", "Title", "Actions", "Due"],
            ["STRATEGIC RISKS", None, None, None],
            ["S-1", "Relevance", "• Survey members\n• Publish results", "30/06/2026\n31/12/2026"],
        ]
    )
    result = read_register(data, "s.xlsx", scales)
    assert [r.ref for r in result.rows] == ["S-1"]
    assert by_ref(result)["S-1"]["actions"] == (
        ImportedAction("Survey members", date(2026, 6, 30)),
        ImportedAction("Publish results", date(2026, 12, 31)),
    )
    assert any("heading" in w for w in result.warnings)


def test_no_recognisable_header_is_refused_with_advice(scales: Scales) -> None:
    with pytest.raises(ImportRejected, match="recognises"):
        read_register(xlsx([["Alpha", "Beta"], [1, 2]]), "x.xlsx", scales)


def test_result_carries_the_file_hash(scales: Scales) -> None:
    import hashlib

    data = xlsx([["Ref", "Title"], ["1", "a"]])
    assert read_register(data, "h.xlsx", scales).sha256 == hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------------------------------------------ the plan


def _applied(plan: ImportPlan, existing: Mapping[str, Mapping[str, object]]) -> dict[str, dict[str, object]]:
    """What the operations layer would store after applying the plan (stand-in for the database)."""
    stored = {ref: dict(values) for ref, values in existing.items()}
    for number, planned in enumerate(plan.rows, start=1):
        if planned.action is RowAction.NEW:
            stored[planned.ref or f"NEW-{number}"] = dict(planned.row.values)
        elif planned.action is RowAction.UPDATE:
            target = stored[planned.ref]
            for change in planned.changes:
                if change.field == "actions":
                    target["actions"] = tuple(target.get("actions", ())) + tuple(change.new)  # type: ignore[arg-type]
                else:
                    target[change.field] = change.new
    return stored


def test_plan_classifies_new_update_unchanged_and_error(scales: Scales) -> None:
    data = xlsx(
        [
            ["Ref", "Title", "Category", "Likelihood", "Impact", "Status"],
            ["FIN-1", "Late contributions", "Financial", 4, 3, "Active"],
            ["FIN-2", "FX loss", "FIN", 2, 2, "Open"],
            ["FIN-3", "New risk", "FIN", 3, 3, "Draft"],
            ["FIN-4", "Broken", "FIN", 9, 3, "Active"],
            ["fin-1", "Duplicate", "FIN", 1, 1, "Active"],
            [None, "No ref, no match", "FIN", 1, 1, None],
        ]
    )
    existing = {
        "FIN-1": {
            "title": "Late contributions.",
            "category": ("FIN", "Financial"),
            "residual_likelihood": 4,
            "residual_impact": 3,
            "status": "active",
        },  # fmt: skip
        "FIN-2": {
            "title": "FX loss",
            "category": ("FIN", "Financial"),
            "residual_likelihood": 3,
            "residual_impact": 2,
            "status": Zone.WITHIN_APPETITE,
        },  # fmt: skip
    }
    plan = plan_import(read_register(data, "p.xlsx", scales), existing)
    assert [p.action for p in plan.rows] == [
        RowAction.UNCHANGED,
        RowAction.UPDATE,
        RowAction.NEW,
        RowAction.ERROR,
        RowAction.ERROR,
        RowAction.NEW,
    ]
    update = plan.rows[1]
    assert {c.field: (c.old, c.new) for c in update.changes} == {
        "residual_likelihood": (3, 2),
        "status": (Zone.WITHIN_APPETITE, "active"),
    }
    assert "appears twice" in plan.rows[4].errors[0].message
    assert plan.counts() == {"new": 2, "update": 1, "unchanged": 1, "error": 2}
    assert plan.has_errors


def test_reimporting_after_applying_changes_nothing(scales: Scales) -> None:
    data = xlsx(
        [
            ["Ref", "Title", "Cause", "Inherent L", "Inherent I", "Likelihood", "Impact", "Mitigation", "Due"],
            ["A-1", "Flood", "River", 4, 4, 2, 4, "Move servers", "30/06/2026"],
            [None, "Strike", "Pay", 3, 3, 3, 2, "Contingency staff", None],
            ["A-3", "Fraud", "Weak checks", "H", "H", "M", "H", "- Dual signature\n- Audit", "31/12/2026"],
        ]
    )
    first = plan_import(read_register(data, "r.xlsx", scales), {})
    assert first.counts()["new"] == 3
    stored = _applied(first, {})
    again = plan_import(read_register(data, "r.xlsx", scales), stored)
    assert [p.action for p in again.rows] == [RowAction.UNCHANGED] * 3
    assert again.rows[1].ref == "NEW-2"  # the row without a reference matched its risk by title


def test_plan_adds_missing_actions_and_redates_but_never_removes(scales: Scales) -> None:
    data = xlsx([["Ref", "Title", "Action", "Due"], ["A", "t", "Train staff", "30/09/2026"]])
    existing = {"A": {"title": "t", "actions": [{"description": "Train staff", "due_date": date(2026, 6, 30)},
                                                  {"description": "Other", "due_date": date(2026, 1, 1)}]}}  # fmt: skip
    (planned,) = plan_import(read_register(data, "a.xlsx", scales), existing).rows
    (change,) = planned.changes
    assert change.new == (ImportedAction("Train staff", date(2026, 9, 30)),)


# ------------------------------------------------------------------------------------------------ round trip


def _risk(ref: str, **overrides: Any) -> RiskRow:
    action = ActionRow(f"{ref}-A1", ref, "Send arrears reminders", "Chief, Budget", "GS-FRMD", date(2026, 6, 30), None,
                       "on_track", 40)  # fmt: skip
    values: dict[str, Any] = dict(
        ref=ref, title=f"Risk {ref}", cause="contributions arrive late, in part because of arrears",
        event="cash runs short before the year end", consequence="delay programme delivery", category_code="FIN",
        category_name="Financial", unit_code="GS-FRMD", unit_name="Financial Resources Management", level="corporate",
        nature="threat", status="active", owner_title="Chief, Budget", treatment="treat", inherent_likelihood=4,
        inherent_impact=4, inherent_score=16, inherent_band="High", residual_likelihood=3, residual_impact=4,
        residual_score=12, residual_band="High", zone="above_appetite", appetite_level="cautious", appetite_max=6,
        tolerance_max=9, statement_version="2.0", target_likelihood=2, target_impact=3, target_score=6,
        target_band="Medium", target_date=date(2026, 12, 31), control_effectiveness="partially_effective",
        controls_summary="Monthly cash forecast\nReserve fund", velocity=3, assessed_on=date(2026, 3, 1),
        actions=(action,),
    )  # fmt: skip
    values.update(overrides)
    return RiskRow(**values)


@pytest.mark.parametrize("audience", ["taskforce", "council"])
def test_council_workbook_register_sheet_imports_back_unchanged(scales: Scales, audience: str) -> None:
    from riskreg.workbook import CouncilInputs, build_council_workbook, load_layout

    rows = (
        _risk("FIN-2026-001"),
        _risk(
            "ICT-2026-002",
            category_code="ICT",
            category_name="Information security & data",
            level="departmental",
            treatment="tolerate",
            control_effectiveness="effective",
            actions=(),
            velocity=None,
        ),  # fmt: skip
        _risk(
            "OPS-2026-003",
            title='=HYPERLINK("http://x")',
            residual_likelihood=5,
            residual_impact=5,
            residual_score=25,
            residual_band="Critical",
            zone="outside_tolerance",
            target_date=None,
        ),  # fmt: skip
    )
    statement = load_statement(paths.STATEMENTS_DIR / "2.0.toml", scales)
    inputs = CouncilInputs(
        snapshot=Snapshot("2026-Q1", date(2026, 3, 31), "2.0", scales.version, rows),
        previous=None,
        statement=statement,
        scales=scales,
        category_names={"FIN": "Financial", "ICT": "Information security & data"},
        unit_names={"GS-FRMD": "Financial Resources Management"},
        audience=audience,  # type: ignore[arg-type]
        organisation="IUCS",
        session="Council 2026",
        symbol="C26/1",
        annex="1",
        classification="Internal",
        prepared_by="Risk coordination",
        generated_at=datetime(2026, 4, 1, tzinfo=UTC),
    )
    data = build_council_workbook(inputs, load_layout(paths.COUNCIL_LAYOUT))
    result = read_register(data, "council.xlsx", scales)
    assert result.sheets == (load_council_vocabulary(paths.COUNCIL_LAYOUT).register_sheet,)
    assert not result.errors, errors_of(result)
    assert not result.unmapped
    imported = by_ref(result)
    if audience == "council":
        # The Council pack shows fewer columns and no likelihood or impact: what it shows comes back,
        # the ratings are left as they are (with a note), and nothing reads as a change.
        assert set(imported) <= {r.ref for r in rows}
        assert any("residual ratings were not imported" in w for w in result.warnings)
    for row in rows:
        if row.ref not in imported:
            continue
        values = imported[row.ref]
        assert values["title"] == row.title
        assert (values["cause"], values["event"], values["consequence"]) == (row.cause, row.event, row.consequence)
        assert values["category"] == row.category_name
        assert values["owner_title"] == row.owner_title
        assert values["controls"] == row.controls_summary
        shown = [ImportedAction(a.description, a.due_date) for a in row.open_actions()]
        assert list(values.get("actions", ())) == shown
        if audience == "council":
            continue
        assert values["unit"] == row.unit_code
        assert values["level"] == row.level
        assert values["treatment"] == row.treatment
        assert values["control_effectiveness"] == row.control_effectiveness
        assert values.get("velocity") == row.velocity
        assert values.get("target_date") == row.target_date
        for name in ("inherent_likelihood", "inherent_impact", "residual_likelihood", "residual_impact"):
            assert values[name] == getattr(row, name)
    existing = {
        row.ref: {
            **{
                k: getattr(row, k)
                for k in (
                    "title",
                    "cause",
                    "event",
                    "consequence",
                    "owner_title",
                    "level",
                    "treatment",
                    "control_effectiveness",
                    "velocity",
                    "target_date",
                    "inherent_likelihood",
                    "inherent_impact",
                    "residual_likelihood",
                    "residual_impact",
                )
            },  # fmt: skip
            "category": (row.category_code, row.category_name),
            "unit": row.unit_code,
            "controls": row.controls_summary,
            "actions": [{"description": a.description, "due_date": a.due_date} for a in row.actions],
        }
        for row in rows
    }
    plan = plan_import(result, existing)
    assert [p.action for p in plan.rows] == [RowAction.UNCHANGED] * len(imported)


def test_council_vocabulary_is_empty_when_the_layout_is_missing(tmp_path: Path) -> None:
    assert load_council_vocabulary(tmp_path / "absent.toml").synonyms == {}
    broken = tmp_path / "broken.toml"
    broken.write_text("[sheets.register\n", encoding="utf-8")
    assert load_council_vocabulary(broken).register_sheet == ""
