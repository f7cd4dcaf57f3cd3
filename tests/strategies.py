"""Hypothesis strategies for scales and statement documents, 3×3 to 7×7, as a coordinator could write them.

The documents are parsed TOML (plain dicts): a test feeds them to the loaders and keeps what they accept, so a
property holds "for every scales file and statement the loader accepts", not only for the bundled ones.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from riskreg.appetite import AppetiteLevel


def level_rows(count: int, *, probabilities: bool) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for value in range(1, count + 1):
        row: dict[str, Any] = {"value": value, "label": f"Level {value}", "description": f"Step {value}"}
        if probabilities:
            row["prob_min"] = round((value - 1) * 100 / count, 1)
            row["prob_max"] = round(value * 100 / count, 1)
        rows.append(row)
    return rows


def band_rows(edges: list[int], top: int, critical: list[bool]) -> list[dict[str, Any]]:
    """Bands from score 1 to `top`, split before each edge; `critical` flags them, lowest first."""
    lows = [1, *edges]
    highs = [edge - 1 for edge in edges] + [top]
    return [
        {
            "name": f"Band {index + 1}",
            "min_score": low,
            "max_score": high,
            "fill": "#92D050",
            "font": "#000000",
            "review_days": 30 + index,
            "critical": flag,
        }
        for index, (low, high, flag) in enumerate(zip(lows, highs, critical, strict=True))
    ]


def scales_document(likelihoods: int, impacts: int, edges: list[int], critical: list[bool]) -> dict[str, Any]:
    return {
        "version": "T",
        "title": "Generated scales",
        "dimensions": [],
        "likelihood": level_rows(likelihoods, probabilities=True),
        "impact": level_rows(impacts, probabilities=False),
        "bands": band_rows(edges, likelihoods * impacts, critical),
    }


@st.composite
def scales_documents(draw: st.DrawFn, *, critical: str = "top") -> dict[str, Any]:
    """A scales document of 3 to 7 levels each; `critical` is "top" (only the highest band flagged) or "any"."""
    likelihoods, impacts = draw(st.integers(3, 7)), draw(st.integers(3, 7))
    scores = sorted({li * im for li in range(1, likelihoods + 1) for im in range(1, impacts + 1)})
    # Split at possible scores, so that every band holds at least one.
    edges = sorted(draw(st.sets(st.sampled_from(scores[1:]), min_size=1, max_size=4)))
    count = len(edges) + 1
    if critical == "top":
        flags = [False] * (count - 1) + [True]
    else:
        flags = draw(st.lists(st.booleans(), min_size=count, max_size=count))
    return scales_document(likelihoods, impacts, edges, flags)


@st.composite
def category_rows(draw: st.DrawFn, top: int) -> dict[str, Any]:
    """Any thresholds, valid or not: the loader decides."""
    appetite_max = draw(st.integers(1, top))
    zero = draw(st.booleans())
    tolerance_max = appetite_max if zero else draw(st.integers(appetite_max, top))
    row: dict[str, Any] = {
        "level": draw(st.sampled_from([level.value for level in AppetiteLevel])),
        "appetite_max": appetite_max,
        "tolerance_max": tolerance_max,
        "zero_tolerance": zero,
    }
    cap = draw(st.one_of(st.none(), st.integers(1, 7)))
    if cap is not None:
        row["max_impact"] = cap
    return row


def statement_document(categories: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"version": "T", "title": "Generated statement", "overall": "Cautious.", "categories": categories}
