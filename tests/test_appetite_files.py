"""Statement and taxonomy documents as the loaders read them, every rule with its message; zones and levels as
words; comparison of two statement versions. Pure (no app, no database); every document is built in the test.
"""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from riskreg import appetite, paths
from riskreg.appetite import AppetiteError, AppetiteLevel, CategoryAppetite, Zone
from riskreg.scoring import Scales, load_scales


@pytest.fixture
def scales() -> Scales:
    return load_scales(paths.SCALES_FILE)


def minimal(**extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "version": "9",
        "title": "T",
        "overall": "O",
        "categories": {"FIN": {"level": "cautious"}},
    }
    doc.update(extra)
    return doc


def endorsed(**extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "status": "endorsed",
        "endorsing_body": "Council",
        "session": "Council 2030",
        "document_symbol": "C30/1",
        "endorsed_on": date(2030, 5, 1),
        "effective_from": date(2031, 1, 1),
    }
    record.update(extra)
    return minimal(**record)


# --------------------------------------------------------------------------- words


def test_zones_and_levels_read_as_words() -> None:
    assert [z.label for z in Zone] == ["Within appetite", "Above appetite", "Outside tolerance", "Not evaluated"]
    assert [z.severity for z in Zone] == [0, 1, 2, 0]
    assert [lv.label for lv in AppetiteLevel] == ["Averse", "Minimal", "Cautious", "Open", "Eager"]
    assert appetite.LEVEL_DEFAULTS[AppetiteLevel.EAGER] == (12, 16)
    assert set(appetite.LEVEL_MEANINGS) == set(AppetiteLevel)


# --------------------------------------------------------------------------- statements


def test_a_minimal_draft_and_its_defaults(scales: Scales) -> None:
    statement = appetite.parse_statement(minimal(), scales)
    assert (statement.version, statement.title, statement.overall, statement.status) == ("9", "T", "O", "draft")
    assert (statement.organisation, statement.preamble, statement.supersedes, statement.session) == ("", "", "", "")
    assert (statement.endorsed_on, statement.effective_from, statement.effective_to) == (None, None, None)
    fin = statement.for_category("FIN")
    assert fin == CategoryAppetite("FIN", AppetiteLevel.CAUTIOUS, 6, 9, False, None, "")
    assert statement.for_category("OPS") is None


def test_texts_are_trimmed_and_levels_read_in_any_case(scales: Scales) -> None:
    doc = minimal(title="  Title  ", categories={"FIN": {"level": " Open ", "narrative": "  Why.  "}})
    doc["categories"]["FIN"]["level"] = "OPEN"
    statement = appetite.parse_statement(doc, scales)
    assert statement.title == "Title"
    assert statement.categories["FIN"].level is AppetiteLevel.OPEN
    assert statement.categories["FIN"].narrative == "Why."
    assert (statement.categories["FIN"].appetite_max, statement.categories["FIN"].tolerance_max) == (9, 12)


def test_an_endorsed_statement_keeps_its_record(scales: Scales) -> None:
    statement = appetite.parse_statement(
        endorsed(effective_to=date(2032, 1, 1), review_due_on=date(2031, 6, 30)), scales
    )
    assert statement.status == "endorsed"
    assert (statement.endorsing_body, statement.session, statement.document_symbol) == (
        "Council",
        "Council 2030",
        "C30/1",
    )
    assert (statement.endorsed_on, statement.effective_from) == (date(2030, 5, 1), date(2031, 1, 1))
    assert (statement.effective_to, statement.review_due_on) == (date(2032, 1, 1), date(2031, 6, 30))
    superseded = appetite.parse_statement(endorsed(status="superseded"), scales)
    assert superseded.status == "superseded"


# (document, key named, exact problem)
BAD_STATEMENTS: list[tuple[dict[str, Any], str, str]] = [
    (
        minimal(status="approved"),
        "status",
        "must be one of draft, submitted, endorsed, superseded, withdrawn, not 'approved'",
    ),
    (minimal(status=3), "status", "must be a text"),
    (minimal(version=""), "version", "is missing"),
    (minimal(version="   "), "version", "is missing"),
    (minimal(version="1" * 21), "version", "must be at most 20 characters"),
    (minimal(title=None), "title", "must be a text"),
    (minimal(overall=""), "overall", "is missing"),
    (endorsed(endorsing_body=""), "endorsing_body", "is missing"),
    (endorsed(session=""), "session", "is missing"),
    (endorsed(document_symbol=""), "document_symbol", "is missing"),
    (endorsed(endorsed_on=None), "endorsed_on", "is missing"),
    (endorsed(effective_from=None), "effective_from", "is missing"),
    (minimal(status="superseded", endorsing_body="C"), "session", "is missing"),
    (endorsed(effective_to=date(2031, 1, 1)), "effective_to", "must be after effective_from"),
    (endorsed(effective_to=date(2030, 12, 31)), "effective_to", "must be after effective_from"),
    (minimal(review_due_on="2031-01-01"), "review_due_on", "must be a date written as 2020-10-05, not '2031-01-01'"),
    (minimal(categories={}), "categories", "must hold one [categories.CODE] table per risk category"),
    (minimal(categories=[]), "categories", "must hold one [categories.CODE] table per risk category"),
    (minimal(categories={"FIN": "open"}), "categories.FIN", "must be a table"),
    (minimal(categories={"FIN": {}}), "categories.FIN.level", "is missing"),
    (
        minimal(categories={"FIN": {"level": "bold"}}),
        "categories.FIN.level",
        "must be one of averse, minimal, cautious, open, eager",
    ),
    (
        minimal(categories={"FIN": {"level": "open", "appetite_max": 9.0}}),
        "categories.FIN.appetite_max",
        "must be a whole number, not 9.0",
    ),
    (
        minimal(categories={"FIN": {"level": "open", "tolerance_max": True}}),
        "categories.FIN.tolerance_max",
        "must be a whole number, not True",
    ),
    (
        minimal(categories={"FIN": {"level": "open", "max_impact": "3"}}),
        "categories.FIN.max_impact",
        "must be a whole number, not '3'",
    ),
    (
        minimal(categories={"FIN": {"level": "open", "zero_tolerance": "yes"}}),
        "categories.FIN.zero_tolerance",
        "must be true or false",
    ),
    (minimal(categories={"FIN": {"level": "open", "narrative": 5}}), "categories.FIN.narrative", "must be a text"),
    (
        minimal(categories={"FIN": {"level": "open", "max_impact": 6}}),
        "categories.FIN",
        "impact cap must be between 1 and 5",
    ),
    (
        minimal(categories={"FIN": {"level": "open", "max_impact": 0}}),
        "categories.FIN",
        "impact cap must be between 1 and 5",
    ),
    (
        minimal(categories={"FIN": {"level": "averse", "appetite_max": 3, "tolerance_max": 4, "zero_tolerance": True}}),
        "categories.FIN",
        "a zero-tolerance category has no band above appetite: tolerance maximum must equal appetite maximum",
    ),
    (
        minimal(categories={"FIN": {"level": "averse", "appetite_max": 0, "tolerance_max": 4}}),
        "categories.FIN",
        "appetite maximum must be between 1 and 25; level averse needs an appetite maximum between 1 and 4, not 0",
    ),
    (
        minimal(categories={"FIN": {"level": "eager", "appetite_max": 12, "tolerance_max": 26}}),
        "categories.FIN",
        "tolerance maximum must be between 1 and 25; tolerance maximum must be below the Critical band (17), "
        "which is always outside tolerance; level eager allows a tolerance maximum up to 16, not 26",
    ),
]


@pytest.mark.parametrize(("doc", "key", "problem"), BAD_STATEMENTS, ids=[str(n) for n in range(len(BAD_STATEMENTS))])
def test_every_statement_rule_names_the_key(scales: Scales, doc: dict[str, Any], key: str, problem: str) -> None:
    with pytest.raises(AppetiteError) as caught:
        appetite.parse_statement(doc, scales, source="s.toml")
    assert str(caught.value) == f"s.toml: {key}: {problem}"


def test_versions_up_to_twenty_characters(scales: Scales) -> None:
    assert appetite.parse_statement(minimal(version="2" * 20), scales).version == "2" * 20


@pytest.mark.parametrize(
    ("appetite_max", "tolerance_max", "problems"),
    [
        (16, 16, []),
        (
            25,
            25,
            [
                "tolerance maximum must be below the Critical band (17), which is always outside tolerance",
                "level eager needs an appetite maximum between 10 and 16, not 25",
                "level eager allows a tolerance maximum up to 16, not 25",
            ],
        ),
        (
            16,
            25,
            [
                "tolerance maximum must be below the Critical band (17), which is always outside tolerance",
                "level eager allows a tolerance maximum up to 16, not 25",
            ],
        ),
        (
            16,
            15,
            [
                "appetite maximum must not exceed the tolerance maximum",
            ],
        ),
    ],
)
def test_threshold_problems_in_full(scales: Scales, appetite_max: int, tolerance_max: int, problems: list[str]) -> None:
    eager = CategoryAppetite("INN", AppetiteLevel.EAGER, appetite_max, tolerance_max)
    assert appetite.threshold_problems(eager, scales) == problems


def test_unknown_categories_are_named_with_the_known_ones(scales: Scales) -> None:
    with pytest.raises(AppetiteError) as caught:
        appetite.parse_statement(minimal(categories={"XYZ": {"level": "open"}}), scales, category_codes=["OPS", "FIN"])
    assert str(caught.value) == "<statement>: categories.XYZ: is not a known risk category (FIN, OPS)"
    assert appetite.parse_statement(minimal(), scales, category_codes=["FIN"]).categories["FIN"].level.value == (
        "cautious"
    )
    # Without a list of codes any code is taken.
    assert "XYZ" in appetite.parse_statement(minimal(categories={"XYZ": {"level": "open"}}), scales).categories


def test_dates_must_be_whole_days(scales: Scales) -> None:
    doc = tomllib.loads(
        'version = "9"\ntitle = "T"\noverall = "O"\nendorsed_on = 2030-05-01T10:00:00\n'
        '[categories.FIN]\nlevel = "open"\n'
    )
    with pytest.raises(AppetiteError, match=r"^<statement>: endorsed_on: must be a date written as 2020-10-05, not "):
        appetite.parse_statement(doc, scales)


def test_statement_files(tmp_path: Path, scales: Scales) -> None:
    bad = tmp_path / "latin1.toml"
    bad.write_bytes('title = "Caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(AppetiteError) as caught:
        appetite.load_statement(bad, scales)
    assert str(caught.value) == f"{bad}: not UTF-8 text"
    with pytest.raises(AppetiteError) as caught:
        appetite.load_statement(tmp_path / "absent.toml", scales)
    assert str(caught.value) == f"{tmp_path / 'absent.toml'}: cannot read file (No such file or directory)"
    broken = tmp_path / "broken.toml"
    broken.write_text("version = \n", encoding="utf-8")
    with pytest.raises(AppetiteError, match=rf"^{broken}: not valid TOML \("):
        appetite.load_statement(str(broken), scales)
    assert appetite.load_statement(paths.STATEMENTS_DIR / "2.0.toml", scales).version == "2.0"


def test_dump_writes_what_parse_reads(scales: Scales) -> None:
    statement = appetite.parse_statement(
        endorsed(
            effective_to=date(2032, 1, 1),
            categories={
                "INT": {"level": "averse", "appetite_max": 3, "tolerance_max": 3, "zero_tolerance": True},
                "FIN": {"level": "cautious", "max_impact": 4, "narrative": "Line one.\nLine two."},
            },
        ),
        scales,
    )
    text = appetite.dump_statement(statement)
    data = tomllib.loads(text)
    assert data["categories"]["INT"] == {
        "level": "averse",
        "appetite_max": 3,
        "tolerance_max": 3,
        "zero_tolerance": True,
        "narrative": "",
    }
    assert data["categories"]["FIN"]["max_impact"] == 4
    assert "max_impact" not in data["categories"]["INT"]
    assert data["effective_to"] == date(2032, 1, 1)
    assert "review_due_on" not in data
    assert '"""' in text  # long texts stay readable
    assert appetite.parse_statement(data, scales) == statement


# --------------------------------------------------------------------------- the taxonomy


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "categories.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_bundled_taxonomy() -> None:
    categories = appetite.load_categories(paths.CATEGORIES_FILE)
    assert [c.code for c in categories][:3] == ["STR", "INN", "PAR"]
    assert [c.sort_order for c in categories] == list(range(1, len(categories) + 1))
    assert categories[0].name == "Strategic & mandate"
    assert categories[0].definition.startswith("Relevance")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "categories: must be a list of [[categories]] tables"),
        ("categories = []\n", "categories: must be a list of [[categories]] tables"),
        ("[categories]\ncode = 'FIN'\n", "categories: must be a list of [[categories]] tables"),
        ("categories = ['FIN']\n", "categories[1]: must be a table"),
        (
            "[[categories]]\ncode = 'fin'\nname = 'F'\n",
            "categories[1].code: must be up to 10 capital letters or digits, not 'fin'",
        ),
        (
            "[[categories]]\ncode = 'FI-N'\nname = 'F'\n",
            "categories[1].code: must be up to 10 capital letters or digits, not 'FI-N'",
        ),
        (
            "[[categories]]\ncode = 'ABCDEFGHIJK'\nname = 'F'\n",
            "categories[1].code: must be up to 10 capital letters or digits, not 'ABCDEFGHIJK'",
        ),
        (
            "[[categories]]\ncode = 12\nname = 'F'\n",
            "categories[1].code: must be up to 10 capital letters or digits, not 12",
        ),
        ("[[categories]]\nname = 'F'\n", "categories[1].code: must be up to 10 capital letters or digits, not None"),
        ("[[categories]]\ncode = 'FIN'\n", "categories[1].name: is missing"),
        ("[[categories]]\ncode = 'FIN'\nname = ' '\n", "categories[1].name: is missing"),
        ("[[categories]]\ncode = 'FIN'\nname = 'F'\ndefinition = 3\n", "categories[1].definition: must be a text"),
        (
            "[[categories]]\ncode = 'FIN'\nname = 'F'\n[[categories]]\ncode = 'FIN'\nname = 'G'\n",
            "categories: codes must be unique",
        ),
    ],
    ids=[str(n) for n in range(13)],
)
def test_every_taxonomy_rule_names_the_key(tmp_path: Path, text: str, problem: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(AppetiteError) as caught:
        appetite.load_categories(path)
    assert str(caught.value) == f"{path}: {problem}"


def test_taxonomy_accepts_ten_characters_and_digits(tmp_path: Path) -> None:
    path = write(
        tmp_path, "[[categories]]\ncode = 'ABCDEFGH12'\nname = ' Ten '\n[[categories]]\ncode = 'B2'\nname = 'Two'\n"
    )
    first, second = appetite.load_categories(str(path))
    assert (first.code, first.name, first.definition, first.sort_order) == ("ABCDEFGH12", "Ten", "", 1)
    assert (second.code, second.sort_order) == ("B2", 2)


# --------------------------------------------------------------------------- comparing two versions


def ca(code: str, level: str = "cautious", **extra: Any) -> CategoryAppetite:
    appetite_max, tolerance_max = appetite.LEVEL_DEFAULTS[AppetiteLevel(level)]
    values: dict[str, Any] = {"appetite_max": appetite_max, "tolerance_max": tolerance_max}
    values.update(extra)
    return CategoryAppetite(code, AppetiteLevel(level), **values)


def statement(*categories: CategoryAppetite) -> appetite.Statement:
    return appetite.Statement(
        "1", "T", "", "draft", "", "", "", None, None, None, "", None, "", "O", {c.category: c for c in categories}
    )


@pytest.mark.parametrize(
    ("before", "after", "level", "thresholds", "narrative"),
    [
        (ca("FIN"), ca("FIN"), False, False, False),
        (ca("FIN"), ca("FIN", "open"), True, True, False),
        (ca("FIN"), ca("FIN", appetite_max=5), False, True, False),
        (ca("FIN"), ca("FIN", tolerance_max=8), False, True, False),
        (ca("FIN"), ca("FIN", zero_tolerance=True), False, True, False),
        (ca("FIN"), ca("FIN", max_impact=4), False, True, False),
        (ca("FIN"), ca("FIN", narrative="New words."), False, False, True),
        (ca("FIN"), None, True, True, False),
        (None, ca("FIN", narrative="Why."), True, True, True),
    ],
)
def test_category_changes(
    before: CategoryAppetite | None, after: CategoryAppetite | None, level: bool, thresholds: bool, narrative: bool
) -> None:
    change = appetite.CategoryChange("FIN", before, after)
    assert (change.level_changed, change.thresholds_changed, change.narrative_changed) == (level, thresholds, narrative)
    assert change.changed is (level or thresholds or narrative)


def test_compare_lists_every_category_in_taxonomy_order_then_the_rest() -> None:
    old = statement(ca("OPS"), ca("FIN"))
    new = statement(ca("FIN", "open"), ca("NEW"))
    assert [c.category for c in appetite.compare(old, new)] == ["OPS", "FIN", "NEW"]
    assert [c.category for c in appetite.compare(old, new, ["FIN", "OPS", "NEW", "UNUSED"])] == ["FIN", "OPS", "NEW"]
    changes = {c.category: c for c in appetite.compare(old, new)}
    assert changes["OPS"].after is None
    assert changes["NEW"].before is None
    assert changes["FIN"].level_changed


def test_zone_grid_of_a_category(scales: Scales) -> None:
    fin = ca("FIN")  # cautious 6 / 9
    grid = appetite.zone_grid(fin, scales)
    letters = ["".join(zone.value[0] for zone in row) for row in grid]
    # rows likelihood 5 → 1, columns impact 1 → 5: w(ithin), a(bove), o(utside)
    assert letters == ["woooo", "waooo", "wwaoo", "wwwao", "wwwww"]
