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
from riskreg.scoring import Scales, load_scales, parse_scales
from tests.strategies import category_rows, scales_document, scales_documents, statement_document

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
    assert judge(None, None, None, SCALES) == NOT_EVALUATED
    assert judge(3, 3, None, SCALES) == NOT_EVALUATED
    assert judge(4, 4, None, SCALES) == NOT_EVALUATED  # 16: the highest score below Critical


@pytest.mark.parametrize(("likelihood", "impact"), [(4, 5), (5, 4), (5, 5)])
def test_a_critical_risk_in_a_category_the_statement_does_not_cover_is_outside_tolerance(
    likelihood: int, impact: int
) -> None:
    assert V2.for_category("NOPE") is None
    assert judge(likelihood, impact, None, SCALES) == OUTSIDE
    assert judge(likelihood, impact, None, SCALES, opportunity=True) == NOT_EVALUATED


def test_the_ceiling_does_not_hang_on_the_critical_flag() -> None:
    """Scales built in code without the flag (the loader refuses such a file) still treat the top band as critical."""
    unflagged = replace(SCALES, bands=(*SCALES.bands[:-1], replace(SCALES.bands[-1], critical=False)))
    eager = CategoryAppetite("INN", AppetiteLevel.EAGER, 25, 25)
    assert judge(5, 5, eager, unflagged) == OUTSIDE
    assert judge(4, 4, eager, unflagged) == WITHIN


def test_impact_cap_moves_a_within_cell_above_appetite() -> None:
    capped = replace(V2.categories["FIN"], max_impact=3)
    assert judge(1, 3, capped, SCALES) == WITHIN
    assert judge(1, 4, capped, SCALES) == ABOVE  # score 4 is within 6, but impact 4 exceeds the cap
    assert judge(2, 4, capped, SCALES) == ABOVE
    assert judge(2, 5, capped, SCALES) == OUTSIDE


# (likelihood, impact, zone) for INT (averse, zero tolerance, appetite 3) with an impact cap of 2.
ZERO_TOLERANCE_CAPPED = [
    (1, 1, WITHIN),
    (1, 2, WITHIN),  # impact 2 = the cap
    (1, 3, OUTSIDE),  # score 3 within appetite, impact over the cap: no band above appetite
    (3, 1, WITHIN),  # score 3 = appetite max
    (2, 2, OUTSIDE),  # score 4 over appetite
    (1, 5, OUTSIDE),
    (5, 5, OUTSIDE),
]


@pytest.mark.parametrize(("likelihood", "impact", "zone"), ZERO_TOLERANCE_CAPPED)
def test_zero_tolerance_with_an_impact_cap_is_never_above_appetite(likelihood: int, impact: int, zone: Zone) -> None:
    capped = replace(V2.categories["INT"], max_impact=2)
    assert capped.zero_tolerance
    assert judge(likelihood, impact, capped, SCALES) == zone


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


@settings(max_examples=150, deadline=None)
@given(appetites(), points)
def test_zero_tolerance_has_no_zone_above_appetite(ca: CategoryAppetite, point: tuple[int, int]) -> None:
    zone = judge(*point, replace(ca, zero_tolerance=True, tolerance_max=ca.appetite_max), SCALES)
    assert zone in (WITHIN, OUTSIDE)


@st.composite
def agreeing_rows(draw: st.DrawFn, scales: Scales) -> dict[str, object]:
    """Thresholds that agree with their level on these scales (when the level fits them at all)."""
    level = draw(st.sampled_from(list(AppetiteLevel)))
    low, high, tolerance = appetite.level_range(level, scales)
    if low > high:
        return {"level": level.value, "appetite_max": 1, "tolerance_max": 1}
    appetite_max = draw(st.integers(low, high))
    return {
        "level": level.value,
        "appetite_max": appetite_max,
        "tolerance_max": draw(st.integers(appetite_max, max(appetite_max, tolerance))),
    }


@settings(max_examples=60, deadline=None)
@given(scales_documents(), st.data())
def test_critical_is_outside_tolerance_under_every_statement_and_scales_the_loaders_accept(
    doc: dict[str, object], data: st.DataObject
) -> None:
    scales = parse_scales(doc)
    rows = {code: data.draw(category_rows(scales.max_score)) for code in ("FIN", "INT")}
    rows["INN"] = data.draw(agreeing_rows(scales))
    try:
        statement = appetite.parse_statement(statement_document(rows), scales)
    except AppetiteError:
        # Refused thresholds: the loader must say which category and why.
        return
    for ca in [*statement.categories.values(), None]:
        for likelihood in range(1, scales.max_likelihood + 1):
            for impact in range(1, scales.max_impact + 1):
                zone = judge(likelihood, impact, ca, scales)
                if scales.is_critical(likelihood * impact):
                    assert zone == OUTSIDE
                elif ca is not None and ca.zero_tolerance:
                    assert zone != ABOVE
                if ca is not None and ca.tolerance_max < likelihood * impact:
                    assert zone == OUTSIDE


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


# (level, lowest appetite max, highest appetite max, highest tolerance max) on the bundled 5×5 scales
LEVEL_RANGES_5X5 = [
    (AppetiteLevel.AVERSE, 1, 4, 6),
    (AppetiteLevel.MINIMAL, 4, 6, 9),
    (AppetiteLevel.CAUTIOUS, 5, 9, 12),
    (AppetiteLevel.OPEN, 7, 12, 16),
    (AppetiteLevel.EAGER, 10, 16, 16),  # up to just below Critical (17)
]


@pytest.mark.parametrize(("level", "low", "high", "tolerance"), LEVEL_RANGES_5X5)
def test_level_ranges_on_five_by_five(level: AppetiteLevel, low: int, high: int, tolerance: int) -> None:
    assert appetite.level_range(level, SCALES) == (low, high, tolerance)
    default_appetite, default_tolerance = appetite.LEVEL_DEFAULTS[level]
    assert low <= default_appetite <= high
    assert default_tolerance <= tolerance


@pytest.mark.parametrize(("level", "low", "high", "tolerance"), LEVEL_RANGES_5X5)
def test_thresholds_at_the_edges_of_a_level(level: AppetiteLevel, low: int, high: int, tolerance: int) -> None:
    def problems(appetite_max: int, tolerance_max: int) -> list[str]:
        return appetite.level_problems(CategoryAppetite("X", level, appetite_max, tolerance_max), SCALES)

    assert problems(low, low) == []
    assert problems(high, tolerance) == []
    assert problems(low - 1, low) == [
        f"level {level.value} needs an appetite maximum between {low} and {high}, not {low - 1}"
    ]
    assert problems(high + 1, max(high + 1, tolerance)) == [
        f"level {level.value} needs an appetite maximum between {low} and {high}, not {high + 1}"
    ] + (
        [f"level {level.value} allows a tolerance maximum up to {tolerance}, not {high + 1}"]
        if high >= tolerance
        else []
    )
    assert problems(high, tolerance + 1) == [
        f"level {level.value} allows a tolerance maximum up to {tolerance}, not {tolerance + 1}"
    ]


@pytest.mark.parametrize(
    ("likelihoods", "impacts", "edges", "expected"),
    [
        # 3×3, Critical from 6: averse 1, minimal 2, cautious 2–3, open 3–4, eager 4–5
        (3, 3, [4, 6], [(1, 1, 2), (2, 2, 3), (2, 3, 4), (3, 4, 5), (4, 5, 5)]),
        # 7×7, Critical from 30
        (7, 7, [10, 20, 30], [(1, 7, 11), (6, 11, 17), (8, 17, 23), (12, 23, 29), (18, 29, 29)]),
    ],
)
def test_level_ranges_scale_with_the_grid(
    likelihoods: int, impacts: int, edges: list[int], expected: list[tuple[int, int, int]]
) -> None:
    scales = parse_scales(scales_document(likelihoods, impacts, edges, [False] * len(edges) + [True]))
    assert [appetite.level_range(level, scales) for level in AppetiteLevel] == expected


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (
            'level = "averse"\nappetite_max = 16\ntolerance_max = 16',
            "level averse needs an appetite maximum between 1 and 4, not 16",
        ),
        (
            'level = "averse"\nappetite_max = 3\ntolerance_max = 8',
            "level averse allows a tolerance maximum up to 6, not 8",
        ),
        (
            'level = "eager"\nappetite_max = 4\ntolerance_max = 6',
            "level eager needs an appetite maximum between 10 and 16, not 4",
        ),
        (
            'level = "minimal"\nappetite_max = 3\ntolerance_max = 6',
            "level minimal needs an appetite maximum between 4 and 6, not 3",
        ),
        (
            'level = "eager"\nappetite_max = 12\ntolerance_max = 20',
            "tolerance maximum must be below the Critical band (17)",
        ),
        (
            'level = "eager"\nappetite_max = 12\ntolerance_max = 17',
            "tolerance maximum must be below the Critical band (17)",
        ),
    ],
    ids=[str(n) for n in range(6)],
)
def test_a_level_that_disagrees_with_its_thresholds_is_refused(tmp_path: Path, row: str, problem: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(f'version = "9"\ntitle = "T"\noverall = "O"\n[categories.INT]\n{row}\n', encoding="utf-8")
    with pytest.raises(AppetiteError) as caught:
        appetite.load_statement(path, SCALES, CODES)
    assert str(caught.value).startswith(f"{path}: categories.INT: ")
    assert problem in str(caught.value)


def test_bundled_statements_agree_with_their_levels() -> None:
    for path in sorted(paths.STATEMENTS_DIR.glob("*.toml")):
        for ca in appetite.load_statement(path, SCALES, CODES).categories.values():
            assert appetite.threshold_problems(ca, SCALES) == [], (path.name, ca.category)


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


@pytest.mark.parametrize(("content", "key", "message"), BAD_FILES, ids=[str(n) for n in range(len(BAD_FILES))])
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
