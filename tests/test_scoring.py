"""The scales core: scores, bands and the rules a scales file must meet, at every boundary.

Pure (no app, no database). Every check builds its scales inside the test, never at import, so that a
mutation test run sees a mutant of the loader in every test that loads scales.
"""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskreg import paths
from riskreg.scoring import Band, Level, Scales, ScalesError, load_scales, parse_scales
from tests.strategies import scales_document, scales_documents


def plain(text: str) -> str:
    """A test id mutmut can pass back to pytest: ASCII letters, digits and dashes only."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")


def bundled() -> dict[str, Any]:
    return tomllib.loads(paths.SCALES_FILE.read_text(encoding="utf-8"))


@pytest.fixture
def scales() -> Scales:
    return load_scales(paths.SCALES_FILE)


def small(edges: list[int] | None = None, critical: list[bool] | None = None) -> dict[str, Any]:
    """A 3×3 document (scores 1, 2, 3, 4, 6, 9) with bands Low 1–3, Medium 4–5, Critical 6–9 by default."""
    edges = [4, 6] if edges is None else edges
    flags = critical if critical is not None else [False] * len(edges) + [True]
    return scales_document(3, 3, edges, flags)


# --------------------------------------------------------------------------- the bundled methodology


def test_bundled_scales_are_five_by_five_with_four_bands(scales: Scales) -> None:
    assert (scales.version, scales.horizon_months) == ("2020.1", 12)
    assert scales.title == "IUCS risk assessment scales (illustrative)"
    assert (scales.max_likelihood, scales.max_impact, scales.max_score) == (5, 5, 25)
    assert [b.name for b in scales.bands] == ["Low", "Medium", "High", "Critical"]
    assert [(b.min_score, b.max_score) for b in scales.bands] == [(1, 4), (5, 9), (10, 16), (17, 25)]
    assert [b.critical for b in scales.bands] == [False, False, False, True]
    assert scales.critical_band.name == "Critical"
    assert scales.dimensions[0] == "mandate"
    assert scales.impact_level(5).criteria["financial"] == "More than CHF 5 million"
    assert scales.likelihood_level(1).label == "Rare"
    assert scales.likelihood_level(5).label == "Almost certain"
    assert scales.impact_level(1).label == "Negligible"


def test_possible_scores_are_the_products(scales: Scales) -> None:
    assert scales.possible_scores() == [1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 15, 16, 20, 25]
    three = parse_scales(small())
    assert three.possible_scores() == [1, 2, 3, 4, 6, 9]
    wide = parse_scales(scales_document(3, 7, [4, 10], [False, False, True]))
    assert (wide.max_likelihood, wide.max_impact, wide.max_score) == (3, 7, 21)
    assert wide.possible_scores()[-3:] == [15, 18, 21]


# (likelihood, impact, score, band) on both sides of every band boundary of the bundled scales.
BAND_BOUNDARIES = [
    (1, 1, 1, "Low"),
    (1, 4, 4, "Low"),
    (1, 5, 5, "Medium"),
    (3, 3, 9, "Medium"),
    (2, 5, 10, "High"),
    (4, 4, 16, "High"),
    (4, 5, 20, "Critical"),
    (5, 5, 25, "Critical"),
]


@pytest.mark.parametrize(("likelihood", "impact", "score", "band"), BAND_BOUNDARIES)
def test_score_and_band_at_every_boundary(scales: Scales, likelihood: int, impact: int, score: int, band: str) -> None:
    assert scales.score(likelihood, impact) == score
    assert scales.band(score).name == band
    assert scales.band_at(likelihood, impact).name == band
    assert scales.is_critical(score) is (band == "Critical")


@pytest.mark.parametrize(("score", "critical"), [(16, False), (17, True), (25, True), (1, False)])
def test_is_critical_is_the_highest_band_by_position(scales: Scales, score: int, critical: bool) -> None:
    assert scales.is_critical(score) is critical


def test_band_lookup_by_name_and_rank(scales: Scales) -> None:
    assert scales.band_named("High").min_score == 10
    with pytest.raises(KeyError, match="'high'"):
        scales.band_named("high")
    assert [scales.band_rank(n) for n in ("Low", "Medium", "High", "Critical")] == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="Green"):
        scales.band_rank("Green")


@pytest.mark.parametrize("score", [0, 26, -1])
def test_a_score_outside_every_band_is_refused(scales: Scales, score: int) -> None:
    with pytest.raises(ValueError, match=f"score {score} is outside every rating band"):
        scales.band(score)


@pytest.mark.parametrize(
    ("likelihood", "impact", "message"),
    [
        (0, 1, "likelihood must be between 1 and 5, not 0"),
        (6, 1, "likelihood must be between 1 and 5, not 6"),
        (1, 0, "impact must be between 1 and 5, not 0"),
        (1, 6, "impact must be between 1 and 5, not 6"),
    ],
)
def test_points_off_the_scales_are_refused(scales: Scales, likelihood: int, impact: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        scales.check_point(likelihood, impact)
    with pytest.raises(ValueError, match=message):
        scales.score(likelihood, impact)


@pytest.mark.parametrize(("likelihood", "impact"), [(1, 1), (5, 5), (1, 5), (5, 1)])
def test_corners_are_on_the_scales(scales: Scales, likelihood: int, impact: int) -> None:
    scales.check_point(likelihood, impact)
    assert scales.score(likelihood, impact) == likelihood * impact


def test_band_contains_its_closed_range() -> None:
    band = Band("B", 5, 9, "#000000", "#FFFFFF", "#000000", 30)
    assert [band.contains(s) for s in (4, 5, 9, 10)] == [False, True, True, False]
    assert band.critical is False


@pytest.mark.parametrize(
    ("prob_min", "prob_max", "text"),
    [
        (None, None, ""),
        (None, 5.0, ""),
        (5.0, None, ""),
        (0.0, 5.0, "< 5%"),
        (-1.0, 5.0, "< 5%"),
        (80.0, 100.0, "> 80%"),
        (80.0, 120.0, "> 80%"),
        (20.0, 50.0, "20–50%"),
        (0.5, 99.5, "0.5–99.5%"),
    ],
    ids=[str(n) for n in range(9)],
)
def test_probability_text(prob_min: float | None, prob_max: float | None, text: str) -> None:
    assert Level(1, "L", "", prob_min, prob_max).probability_text == text


def test_bundled_likelihood_probabilities_read_as_words(scales: Scales) -> None:
    assert [level.probability_text for level in scales.likelihood] == ["< 5%", "5–20%", "20–50%", "50–80%", "> 80%"]
    assert scales.impact_level(3).probability_text == ""


# --------------------------------------------------------------------------- the universal ceiling


def test_a_file_without_any_critical_band_is_refused(tmp_path: Path) -> None:
    text = paths.SCALES_FILE.read_text(encoding="utf-8").replace("critical = true", "")
    path = tmp_path / "scales.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScalesError) as caught:
        load_scales(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: bands[4].critical: ")
    assert "the highest band, Critical, must be marked critical = true" in message


def test_a_lower_band_marked_critical_is_refused() -> None:
    doc = bundled()
    doc["bands"][2]["critical"] = True  # High
    with pytest.raises(ScalesError, match=r"^<scales>: bands\[3\]\.critical: only the highest band may be critical"):
        parse_scales(doc)


def test_messages_name_the_band_as_the_file_orders_it() -> None:
    doc = bundled()
    doc["bands"].reverse()  # Critical first in the file: still the highest band
    assert parse_scales(doc).critical_band.name == "Critical"
    doc["bands"][0]["critical"] = False
    with pytest.raises(ScalesError, match=r"bands\[1\]\.critical: the highest band, Critical"):
        parse_scales(doc)
    doc["bands"][0]["critical"] = True
    doc["bands"][3]["critical"] = True  # Low, fourth in the file
    with pytest.raises(ScalesError, match=r"bands\[4\]\.critical: only the highest band may be critical, not Low"):
        parse_scales(doc)


def test_a_band_above_every_score_is_refused() -> None:
    # 3×3: a Critical band of 10–49 would never be reached; every score would be High at worst.
    doc = small(edges=[4, 10], critical=[False, False, True])
    doc["bands"][1]["max_score"] = 9
    doc["bands"][2]["max_score"] = 49
    with pytest.raises(ScalesError, match=r"bands: Band 3 \(10–49\) holds no possible score on 3×3 scales"):
        parse_scales(doc)


@settings(max_examples=80, deadline=None)
@given(scales_documents(critical="any"))
def test_the_loader_accepts_exactly_the_files_whose_highest_band_alone_is_critical(doc: dict[str, Any]) -> None:
    flags = [band["critical"] for band in doc["bands"]]
    if flags == [False] * (len(flags) - 1) + [True]:
        scales = parse_scales(doc)
        assert [b.critical for b in scales.bands] == flags
        assert scales.is_critical(scales.max_score)
    else:
        with pytest.raises(ScalesError, match=r"bands\[\d\]\.critical"):
            parse_scales(doc)


@settings(max_examples=60, deadline=None)
@given(scales_documents())
def test_every_accepted_file_bands_every_score_once_and_tops_out_critical(doc: dict[str, Any]) -> None:
    scales = parse_scales(doc)
    for score in scales.possible_scores():
        assert sum(b.contains(score) for b in scales.bands) == 1
        assert scales.is_critical(score) is scales.band(score).critical
    assert scales.band(scales.max_score) is scales.critical_band
    assert [scales.band_rank(b.name) for b in scales.bands] == list(range(len(scales.bands)))


# --------------------------------------------------------------------------- every rule of the file format


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A change at a dotted path, e.g. "likelihood.2.label"; value DELETE removes the key."""

    def change(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        key: Any = int(last) if isinstance(node, list) else last
        if value is DELETE:
            del node[key]
        else:
            node[key] = value

    return change


DELETE = object()

# (change to the bundled file, key named in the message, problem)
BAD = [
    (_set("version", DELETE), "version", "is missing"),
    (_set("version", "  "), "version", "must be a non-empty text"),
    (_set("title", 7), "title", "must be a non-empty text"),
    (_set("horizon_months", 0), "horizon_months", "must be between 1 and 120, not 0"),
    (_set("horizon_months", 121), "horizon_months", "must be between 1 and 120, not 121"),
    (_set("horizon_months", True), "horizon_months", "must be a whole number, not True"),
    (_set("horizon_months", 12.0), "horizon_months", "must be a whole number, not 12.0"),
    (_set("dimensions", "mandate"), "dimensions", "must be a list of names"),
    (_set("dimensions", ["mandate", " "]), "dimensions", "must be a list of names"),
    (_set("dimensions", ["mandate", 3]), "dimensions", "must be a list of names"),
    (_set("likelihood", {"value": 1}), "likelihood", "must be a list of [[likelihood]] tables"),
    (_set("likelihood", [1, 2, 3]), "likelihood", "must be a list of [[likelihood]] tables"),
    (_set("impact", DELETE), "impact", "must be a list of [[impact]] tables"),
    (lambda d: d["likelihood"].__delitem__(slice(2, 5)), "likelihood", "must have between 3 and 7 levels, not 2"),
    (
        lambda d: d["impact"].extend(copy.deepcopy(d["impact"][:3])),
        "impact",
        "must have between 3 and 7 levels, not 8",
    ),
    (
        _set("likelihood.1.value", 3),
        "likelihood[2].value",
        "levels must be numbered 1, 2, 3… in order; expected 2, got 3",
    ),
    (_set("likelihood.0.value", 0), "likelihood[1].value", "must be between 1 and 7, not 0"),
    (_set("likelihood.0.value", 8), "likelihood[1].value", "must be between 1 and 7, not 8"),
    (_set("likelihood.0.value", DELETE), "likelihood[1].value", "is missing"),
    (_set("likelihood.0.label", DELETE), "likelihood[1].label", "is missing"),
    (_set("likelihood.0.label", ""), "likelihood[1].label", "must be a non-empty text"),
    (_set("likelihood.0.description", 5), "likelihood[1].description", "must be a non-empty text"),
    (_set("likelihood.1.prob_min", "5"), "likelihood[2].prob_min", "must be a percentage between 0 and 100, not '5'"),
    (_set("likelihood.1.prob_min", True), "likelihood[2].prob_min", "must be a percentage between 0 and 100, not True"),
    (_set("likelihood.1.prob_min", -0.5), "likelihood[2].prob_min", "must be a percentage between 0 and 100, not -0.5"),
    (
        _set("likelihood.1.prob_max", 100.5),
        "likelihood[2].prob_max",
        "must be a percentage between 0 and 100, not 100.5",
    ),
    (_set("likelihood.1.prob_max", 5), "likelihood[2].prob_max", "must be greater than prob_min"),
    (_set("likelihood.1.prob_max", 4), "likelihood[2].prob_max", "must be greater than prob_min"),
    (_set("impact.0.criteria", "none"), "impact[1].criteria", "must be a table of texts, one per dimension"),
    (_set("impact.0.criteria.financial", 50000), "impact[1].criteria", "must be a table of texts, one per dimension"),
    (_set("impact.0.criteria.weather", "Sunny"), "impact[1].criteria", "names unknown dimension(s) weather"),
    (
        lambda d: d["impact"][0]["criteria"].update(weather="Sunny", tides="High"),
        "impact[1].criteria",
        "names unknown dimension(s) tides, weather",
    ),
    (_set("likelihood.1.label", " rare "), "likelihood", "labels must be unique"),
    (_set("bands", DELETE), "bands", "must be a list of [[bands]] tables"),
    (_set("bands", []), "bands", "must have at least one band"),
    (_set("bands.0.min_score", 0), "bands[1].min_score", "must be between 1 and 49, not 0"),
    (_set("bands.3.max_score", 50), "bands[4].max_score", "must be between 1 and 49, not 50"),
    (_set("bands.0.min_score", "1"), "bands[1].min_score", "must be a whole number, not '1'"),
    (_set("bands.1.min_score", 10), "bands[2].max_score", "must not be below min_score (9 < 10)"),
    (_set("bands.0.critical", "no"), "bands[1].critical", "must be true or false"),
    (_set("bands.0.fill", "92D050"), "bands[1].fill", "must be a colour like #92D050, not '92D050'"),
    (_set("bands.0.fill", "#92D05"), "bands[1].fill", "must be a colour like #92D050, not '#92D05'"),
    (_set("bands.0.fill", "#G2D050"), "bands[1].fill", "must be a colour like #92D050, not '#G2D050'"),
    (_set("bands.0.fill", "#XXXXXX"), "bands[1].fill", "must be a colour like #92D050, not '#XXXXXX'"),
    (_set("bands.0.fill", "#92D05G"), "bands[1].fill", "must be a colour like #92D050, not '#92D05G'"),
    (_set("bands.0.fill", "*92D050"), "bands[1].fill", "must be a colour like #92D050, not '*92D050'"),
    (_set("bands.0.font", DELETE), "bands[1].font", "is missing"),
    (_set("bands.0.colourblind_fill", "red"), "bands[1].colourblind_fill", "must be a colour like #92D050, not 'red'"),
    (_set("bands.0.review_days", 0), "bands[1].review_days", "must be between 1 and 3660, not 0"),
    (_set("bands.0.review_days", 3661), "bands[1].review_days", "must be between 1 and 3660, not 3661"),
    (_set("bands.0.name", DELETE), "bands[1].name", "is missing"),
    (_set("bands.1.min_score", 4), "bands", "Low and Medium overlap"),
    (_set("bands.1.name", "low"), "bands", "band names must be unique"),
    (_set("bands.0.max_score", 3), "bands", "score 4 must fall in exactly one band, found 0"),
    (_set("bands.0.min_score", 2), "bands", "score 1 must fall in exactly one band, found 0"),
    (_set("bands.3.max_score", 24), "bands", "score 25 must fall in exactly one band, found 0"),
]


@pytest.mark.parametrize(
    ("change", "key", "problem"), BAD, ids=[f"{n}-{plain(key)}" for n, (_, key, _) in enumerate(BAD)]
)
def test_every_rule_names_the_key_and_the_problem(
    change: Callable[[dict[str, Any]], None], key: str, problem: str
) -> None:
    doc = bundled()
    change(doc)
    with pytest.raises(ScalesError) as caught:
        parse_scales(doc, source="scales.toml")
    assert str(caught.value) == f"scales.toml: {key}: {problem}"


# (change to the bundled file, what the loaded scales then say)
GOOD: list[tuple[Callable[[dict[str, Any]], None], Callable[[Scales], object], object]] = [
    (_set("horizon_months", DELETE), lambda s: s.horizon_months, 12),
    (_set("horizon_months", 1), lambda s: s.horizon_months, 1),
    (_set("horizon_months", 120), lambda s: s.horizon_months, 120),
    (_set("version", " 2026.1 "), lambda s: s.version, "2026.1"),
    (lambda d: [level.pop("criteria") for level in d["impact"]] and d.pop("dimensions"), lambda s: s.dimensions, ()),
    (
        lambda d: [level["criteria"].clear() for level in d["impact"]] and d.update(dimensions=[" mandate "]),
        lambda s: s.dimensions,
        ("mandate",),
    ),
    (_set("likelihood.0.description", DELETE), lambda s: s.likelihood[0].description, ""),
    (_set("likelihood.0.label", " Rare "), lambda s: s.likelihood[0].label, "Rare"),
    (_set("likelihood.0.prob_min", DELETE), lambda s: s.likelihood[0].prob_min, None),
    (_set("likelihood.4.prob_max", 100), lambda s: s.likelihood[4].prob_max, 100.0),
    (_set("likelihood.0.prob_min", 0), lambda s: s.likelihood[0].prob_min, 0.0),
    (_set("likelihood.0.prob_max", 4.5), lambda s: s.likelihood[0].prob_max, 4.5),
    (_set("impact.0.prob_min", 10), lambda s: s.impact[0].prob_min, None),  # impact levels carry no probability
    (_set("impact.0.prob_max", 10), lambda s: s.impact[0].prob_max, None),
    (_set("impact.0.prob_max", "ten"), lambda s: s.impact[0].prob_max, None),
    (lambda d: None, lambda s: [level.value for level in s.likelihood], [1, 2, 3, 4, 5]),
    (lambda d: None, lambda s: [level.value for level in s.impact], [1, 2, 3, 4, 5]),
    (_set("impact.0.criteria", DELETE), lambda s: dict(s.impact[0].criteria), {}),
    (_set("bands.0.fill", "#92d050"), lambda s: s.bands[0].fill, "#92D050"),
    (_set("bands.0.colourblind_fill", DELETE), lambda s: s.bands[0].colourblind_fill, "#92D050"),
    (_set("bands.0.colourblind_fill", "#aabbcc"), lambda s: s.bands[0].colourblind_fill, "#AABBCC"),
    (_set("bands.0.review_days", 1), lambda s: s.bands[0].review_days, 1),
    (_set("bands.0.review_days", 3660), lambda s: s.bands[0].review_days, 3660),
    (_set("bands.0.critical", False), lambda s: s.bands[0].critical, False),
    (_set("bands.0.name", " Low "), lambda s: s.bands[0].name, "Low"),
    (_set("bands.3.max_score", 49), lambda s: s.bands[3].max_score, 49),
    (
        lambda d: (
            d["likelihood"].__delitem__(slice(3, 5))
            or d["bands"][2].update(max_score=12)
            or d["bands"][3].update(min_score=13)
        ),
        lambda s: s.max_score,
        15,
    ),
    (lambda d: d["bands"].reverse(), lambda s: [b.name for b in s.bands], ["Low", "Medium", "High", "Critical"]),
]


@pytest.mark.parametrize(("change", "read", "expected"), GOOD, ids=[str(n) for n in range(len(GOOD))])
def test_what_the_loader_accepts_and_how_it_reads_it(
    change: Callable[[dict[str, Any]], None], read: Callable[[Scales], object], expected: object
) -> None:
    doc = bundled()
    change(doc)
    assert read(parse_scales(doc)) == expected


def test_a_smaller_grid_needs_its_critical_band_within_reach() -> None:
    doc = bundled()
    del doc["likelihood"][3:]  # 3×5: the highest score is 15
    with pytest.raises(ScalesError, match=r"bands: Critical \(17–25\) holds no possible score on 3×5 scales"):
        parse_scales(doc)
    doc["bands"][2]["max_score"] = 12
    doc["bands"][3]["min_score"] = 13
    assert parse_scales(doc).band(15).name == "Critical"


def test_seven_levels_and_a_single_band_edge() -> None:
    seven = parse_scales(scales_document(7, 7, [2], [False, True]))
    assert (seven.max_likelihood, seven.max_impact) == (7, 7)
    assert [(b.min_score, b.max_score) for b in seven.bands] == [(1, 1), (2, 49)]
    assert seven.is_critical(2)
    assert not seven.is_critical(1)


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "absent.toml"
    with pytest.raises(ScalesError, match=r"absent\.toml: cannot read file \(No such file or directory\)"):
        load_scales(missing)
    broken = tmp_path / "broken.toml"
    broken.write_text("version = \n", encoding="utf-8")
    with pytest.raises(ScalesError, match=r"broken\.toml: not valid TOML"):
        load_scales(broken)
    latin = tmp_path / "latin1.toml"
    latin.write_bytes('title = "Caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(ScalesError) as caught:
        load_scales(latin)
    assert str(caught.value) == f"{latin}: not UTF-8 text"
    good = tmp_path / "good.toml"
    good.write_text(paths.SCALES_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    assert load_scales(str(good)).version == "2020.1"


def test_the_default_source_is_named() -> None:
    doc = bundled()
    del doc["title"]
    with pytest.raises(ScalesError, match=r"^<scales>: title: is missing$"):
        parse_scales(doc)


@settings(max_examples=40, deadline=None)
@given(st.integers(3, 7), st.integers(3, 7))
def test_check_point_accepts_exactly_the_grid(likelihoods: int, impacts: int) -> None:
    scales = parse_scales(scales_document(likelihoods, impacts, [2], [False, True]))
    for li in range(0, likelihoods + 2):
        for im in range(0, impacts + 2):
            inside = 1 <= li <= likelihoods and 1 <= im <= impacts
            if inside:
                assert scales.score(li, im) == li * im
            else:
                with pytest.raises(ValueError, match="must be between 1 and"):
                    scales.check_point(li, im)
