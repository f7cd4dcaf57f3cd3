"""The pure appetite core: judgement at every zone boundary, properties of judge(), statement files."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskreg import appetite, paths
from riskreg.appetite import AppetiteError, AppetiteLevel, CategoryAppetite, Zone, judge
from riskreg.scoring import load_scales

SCALES = load_scales(paths.SCALES_FILE)
CODES = [c.code for c in appetite.load_categories(paths.CATEGORIES_FILE)]
V2 = appetite.load_statement(paths.STATEMENTS_DIR / "2.0.toml", SCALES, CODES)
WITHIN, ABOVE, OUTSIDE, NOT_EVALUATED = (
    Zone.WITHIN_APPETITE,
    Zone.ABOVE_APPETITE,
    Zone.OUTSIDE_TOLERANCE,
    Zone.NOT_EVALUATED,
)

# (category, likelihood, impact, zone) under statement 2.0, on both sides of every boundary.
BOUNDARIES = [
    # FIN cautious: appetite 6, tolerance 9
    ("FIN", 2, 3, WITHIN),  # 6 = appetite max
    ("FIN", 2, 4, ABOVE),  # 8: first score above appetite
    ("FIN", 3, 3, ABOVE),  # 9 = tolerance max
    ("FIN", 2, 5, OUTSIDE),  # 10: first score above tolerance
    # SAF minimal: appetite 4, tolerance 6
    ("SAF", 1, 4, WITHIN),
    ("SAF", 1, 5, ABOVE),
    ("SAF", 2, 3, ABOVE),
    ("SAF", 2, 4, OUTSIDE),
    # STR open: appetite 9, tolerance 12
    ("STR", 3, 3, WITHIN),
    ("STR", 2, 5, ABOVE),
    ("STR", 3, 4, ABOVE),
    ("STR", 3, 5, OUTSIDE),
    # INN eager: appetite 12, tolerance 16; the critical band caps it
    ("INN", 3, 4, WITHIN),
    ("INN", 3, 5, ABOVE),
    ("INN", 4, 4, ABOVE),
    ("INN", 4, 5, OUTSIDE),  # 20: Critical is outside tolerance whatever the thresholds
    ("INN", 5, 5, OUTSIDE),
    # INT zero tolerance: appetite 3, no band above it
    ("INT", 1, 3, WITHIN),
    ("INT", 2, 2, OUTSIDE),
    ("INT", 1, 4, OUTSIDE),
    # lowest and highest cells
    ("FIN", 1, 1, WITHIN),
    ("FIN", 5, 5, OUTSIDE),
]


@pytest.mark.parametrize(("code", "likelihood", "impact", "zone"), BOUNDARIES)
def test_judge_at_every_zone_boundary(code: str, likelihood: int, impact: int, zone: Zone) -> None:
    assert judge(likelihood, impact, V2.for_category(code), SCALES) == zone


def test_judge_not_evaluated_cases() -> None:
    fin = V2.for_category("FIN")
    assert judge(5, 5, fin, SCALES, opportunity=True) == NOT_EVALUATED
    assert judge(None, 3, fin, SCALES) == NOT_EVALUATED
    assert judge(3, None, fin, SCALES) == NOT_EVALUATED
    assert judge(3, 3, None, SCALES) == NOT_EVALUATED


def test_impact_cap_moves_a_within_cell_above_appetite() -> None:
    capped = replace(V2.categories["FIN"], max_impact=3)
    assert judge(1, 3, capped, SCALES) == WITHIN
    assert judge(1, 4, capped, SCALES) == ABOVE  # score 4 is within 6, but impact 4 exceeds the cap
    assert judge(2, 4, capped, SCALES) == ABOVE
    assert judge(2, 5, capped, SCALES) == OUTSIDE


def test_zone_grid_rows_run_from_highest_likelihood() -> None:
    grid = appetite.zone_grid(V2.categories["FIN"], SCALES)
    assert len(grid) == SCALES.max_likelihood
    assert all(len(row) == SCALES.max_impact for row in grid)
    assert grid[-1][0] == WITHIN  # likelihood 1, impact 1
    assert grid[0][-1] == OUTSIDE  # likelihood 5, impact 5


# --------------------------------------------------------------------------- properties

points = st.tuples(st.integers(1, 5), st.integers(1, 5))


@st.composite
def appetites(draw: st.DrawFn) -> CategoryAppetite:
    """Any valid category appetite on the 5×5 scales: thresholds within what its level allows."""
    level = draw(st.sampled_from(list(AppetiteLevel)))
    low, high, tolerance_limit = appetite.level_range(level, SCALES)
    appetite_max = draw(st.integers(low, high))
    zero = draw(st.booleans())
    tolerance_max = appetite_max if zero else draw(st.integers(appetite_max, tolerance_limit))
    cap = draw(st.one_of(st.none(), st.integers(1, 5)))
    return CategoryAppetite("X", level, appetite_max, tolerance_max, zero, cap)


@settings(max_examples=150, deadline=None)
@given(appetites(), points, st.sampled_from(["likelihood", "impact"]))
def test_raising_likelihood_or_impact_never_improves_the_zone(
    ca: CategoryAppetite, point: tuple[int, int], axis: str
) -> None:
    likelihood, impact = point
    higher = (min(5, likelihood + 1), impact) if axis == "likelihood" else (likelihood, min(5, impact + 1))
    assert judge(*higher, ca, SCALES).severity >= judge(likelihood, impact, ca, SCALES).severity


@st.composite
def stricter_pairs(draw: st.DrawFn) -> tuple[CategoryAppetite, CategoryAppetite]:
    """A valid appetite and a valid one of the same level at least as strict in every threshold."""
    loose = draw(appetites())
    low, _, _ = appetite.level_range(loose.level, SCALES)
    appetite_max = draw(st.integers(low, loose.appetite_max))
    zero = loose.zero_tolerance or draw(st.booleans())
    tolerance_max = appetite_max if zero else draw(st.integers(appetite_max, max(appetite_max, loose.tolerance_max)))
    cap_limit = loose.max_impact or 5
    cap = (
        draw(st.one_of(st.none(), st.integers(1, cap_limit)))
        if loose.max_impact is None
        else draw(st.integers(1, cap_limit))
    )
    return loose, CategoryAppetite("X", loose.level, appetite_max, tolerance_max, zero, cap)


@settings(max_examples=150, deadline=None)
@given(stricter_pairs(), points)
def test_a_stricter_statement_never_judges_more_leniently(
    pair: tuple[CategoryAppetite, CategoryAppetite], point: tuple[int, int]
) -> None:
    loose, strict = pair
    assert not appetite.threshold_problems(strict, SCALES)
    assert judge(*point, strict, SCALES).severity >= judge(*point, loose, SCALES).severity


@given(points)
def test_every_score_falls_in_exactly_one_band(point: tuple[int, int]) -> None:
    score = SCALES.score(*point)
    assert [b.name for b in SCALES.bands if b.contains(score)] == [SCALES.band(score).name]


def test_every_possible_score_has_one_band() -> None:
    for score in SCALES.possible_scores():
        assert sum(b.contains(score) for b in SCALES.bands) == 1


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"appetite_max": 0}, "appetite maximum must be between 1 and 25"),
        ({"tolerance_max": 26}, "tolerance maximum must be between 1 and 25"),
        ({"appetite_max": 10, "tolerance_max": 8}, "must not exceed the tolerance maximum"),
        ({"zero_tolerance": True}, "zero-tolerance category has no band above appetite"),
        ({"max_impact": 6}, "impact cap must be between 1 and 5"),
    ],
)
def test_threshold_problems(changes: dict[str, object], problem: str) -> None:
    bad = replace(V2.categories["FIN"], **changes)  # type: ignore[arg-type]
    assert any(problem in p for p in appetite.threshold_problems(bad, SCALES))
    assert appetite.threshold_problems(V2.categories["FIN"], SCALES) == []


# --------------------------------------------------------------------------- files


BAD_FILES = [
    ('version = "9"\n', "title", "is missing"),
    ('version = "9"\ntitle = "T"\noverall = "O"\n', "categories", "one [categories.CODE] table"),
    ('version = "9"\ntitle = "T"\noverall = "O"\nstatus = "approved"\n', "status", "must be one of"),
    ('version = "9"\ntitle = "T"\noverall = "O"\nstatus = "endorsed"\n', "endorsing_body", "is missing"),
    (
        'version = "9"\ntitle = "T"\noverall = "O"\neffective_from = 2021-01-01T10:00:00\n',
        "effective_from",
        "must be a date",
    ),
    ('version = "9"\ntitle = "T"\noverall = "O"\n[categories.FIN]\nlevel = "bold"\n', "categories.FIN.level", "one of"),
    (
        'version = "9"\ntitle = "T"\noverall = "O"\n[categories.FIN]\nlevel = "open"\nappetite_max = "nine"\n',
        "categories.FIN.appetite_max",
        "whole number",
    ),
    (
        'version = "9"\ntitle = "T"\noverall = "O"\n[categories.FIN]\nlevel = "open"\nappetite_max = 12\n'
        "tolerance_max = 10\n",
        "categories.FIN",
        "must not exceed",
    ),
    ('version = "9"\ntitle = "T"\noverall = "O"\n[categories.XYZ]\nlevel = "open"\n', "categories.XYZ", "not a known"),
    (
        'version = "9"\ntitle = "T"\noverall = "O"\n[categories.FIN]\nlevel = "open"\nzero_tolerance = 1\n',
        "categories.FIN.zero_tolerance",
        "true or false",
    ),
    ("version = \n", "", "not valid TOML"),
]


@pytest.mark.parametrize(("content", "key", "message"), BAD_FILES)
def test_bad_statement_files_name_file_and_key(tmp_path: Path, content: str, key: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(AppetiteError) as caught:
        appetite.load_statement(path, SCALES, CODES)
    text = str(caught.value)
    assert text.startswith(str(path))
    assert message in text
    assert f": {key}" in text


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(AppetiteError, match="cannot read file"):
        appetite.load_statement(tmp_path / "absent.toml", SCALES)


texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=40).map(str.strip)


@st.composite
def statements(draw: st.DrawFn) -> appetite.Statement:
    codes = draw(st.lists(st.sampled_from(CODES), min_size=1, max_size=4, unique=True))
    categories = {}
    for code in codes:
        ca = draw(appetites())
        categories[code] = replace(ca, category=code, narrative=draw(texts))
    status = draw(st.sampled_from(appetite.STATEMENT_STATUSES))
    endorsed = status in ("endorsed", "superseded")
    start = draw(st.dates(date(2000, 1, 1), date(2040, 1, 1))) if endorsed else None
    return appetite.Statement(
        version=draw(st.from_regex(r"[0-9][0-9.]{0,8}", fullmatch=True)),
        title=draw(texts.filter(bool)),
        organisation=draw(texts),
        status=status,
        endorsing_body="Council" if endorsed else draw(texts),
        session="Council 2030" if endorsed else "",
        document_symbol="C30/1" if endorsed else "",
        endorsed_on=start,
        effective_from=start,
        effective_to=None,
        supersedes=draw(st.sampled_from(["", "1.0"])),
        review_due_on=draw(st.one_of(st.none(), st.dates(date(2000, 1, 1), date(2040, 1, 1)))),
        preamble=draw(texts),
        overall=draw(texts.filter(bool)),
        categories=categories,
    )


@settings(max_examples=60, deadline=None)
@given(statements())
def test_toml_round_trip(statement: appetite.Statement) -> None:
    import tomllib

    text = appetite.dump_statement(statement)
    assert appetite.parse_statement(tomllib.loads(text), SCALES, category_codes=CODES) == statement


def test_bundled_statements_round_trip() -> None:
    import tomllib

    for path in sorted(paths.STATEMENTS_DIR.glob("*.toml")):
        statement = appetite.load_statement(path, SCALES, CODES)
        assert appetite.parse_statement(tomllib.loads(appetite.dump_statement(statement)), SCALES) == statement


def test_compare_reports_level_threshold_and_narrative_changes() -> None:
    v1 = appetite.load_statement(paths.STATEMENTS_DIR / "1.0.toml", SCALES, CODES)
    changes = {c.category: c for c in appetite.compare(v1, V2, CODES)}
    assert list(changes) == CODES
    assert changes["ICT"].level_changed
    assert changes["ICT"].thresholds_changed
    assert not changes["INT"].level_changed
    assert not changes["INT"].thresholds_changed
    assert changes["INT"].narrative_changed
    assert not changes["FIN"].level_changed
    assert not changes["FIN"].thresholds_changed
