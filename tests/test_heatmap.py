from __future__ import annotations

import ast
import hashlib
import io
import random
import subprocess
import sys
import threading
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from defusedxml import ElementTree
from PIL import Image

from riskreg.appetite import AppetiteLevel, CategoryAppetite
from riskreg.heatmap import (
    HeatmapSpec,
    HeatPoint,
    build_figure,
    cell_counts,
    render_png,
    render_svg,
    spec_hash,
)
from riskreg.heatmap_draw import CELL_PAD, arrow_ends, grid_boxes, moves
from riskreg.paths import SCALES_FILE
from riskreg.scoring import Scales, load_scales, parse_scales

ROOT = Path(__file__).resolve().parent.parent
UNITS = ("FRMD", "BDT", "TSB", "HRMD", "CR")
FIN = CategoryAppetite("FIN", AppetiteLevel.CAUTIOUS, appetite_max=6, tolerance_max=9)


@pytest.fixture(scope="module")
def scales() -> Scales:
    return load_scales(SCALES_FILE)


def square_scales(n: int) -> Scales:
    """An n×n methodology with four bands, like the shipped 5×5 one."""
    top = n * n
    low, medium, high = (max(1, round(top * f)) for f in (0.16, 0.36, 0.64))

    def band(name: str, lo: int, hi: int, fill: str, **extra: Any) -> dict[str, Any]:
        colours = {"fill": fill, "font": "#000000"}
        return {"name": name, "min_score": lo, "max_score": hi, **colours, "review_days": 90, **extra}

    return parse_scales(
        {
            "version": f"{n}x{n}",
            "title": "test",
            "likelihood": [{"value": k, "label": f"L{k}", "prob_min": 0, "prob_max": 100} for k in range(1, n + 1)],
            "impact": [{"value": k, "label": f"Impact level {k}"} for k in range(1, n + 1)],
            "bands": [
                band("Low", 1, low, "#92D050"),
                band("Medium", low + 1, medium, "#FFE699"),
                band("High", medium + 1, high, "#FFC000"),
                band("Critical", high + 1, top, "#C00000", critical=True),
            ],
        }
    )


def register(n: int, scales: Scales, seed: int = 1, moved: float = 0.4) -> list[HeatPoint]:
    """n risks with unit-style references; a share moved one step since the previous cycle."""
    rnd = random.Random(seed)
    points = []
    for k in range(1, n + 1):
        li, im = rnd.randint(1, scales.max_likelihood), rnd.randint(1, scales.max_impact)
        previous = None
        if rnd.random() < moved:
            previous = (max(1, min(scales.max_likelihood, li + rnd.choice((-1, 1)))), im)
        points.append(HeatPoint(f"{rnd.choice(UNITS)}-2025-{k:03d}", li, im, previous))
    return points


def spec_of(scales: Scales, points: list[HeatPoint], **extra: Any) -> HeatmapSpec:
    values: dict[str, Any] = {
        "scales": scales,
        "kind": "residual",
        "points": points,
        "title": "Residual risk — 2026-Q2",
        "footnote": ("Cycle 2026-Q2 · statement 2.0", "Filters: all units", "As at 2026-06-30"),
    }
    values.update(extra)
    return HeatmapSpec(**values)


# --------------------------------------------------------------------------- the data


def test_cell_counts_equal_the_inputs(scales: Scales) -> None:
    points = register(300, scales)
    counts = cell_counts(spec_of(scales, points))
    assert len(counts) == 25
    assert Counter({cell: len(refs) for cell, refs in counts.items() if refs}) == Counter(
        (p.likelihood, p.impact) for p in points
    )
    assert sorted(ref for refs in counts.values() for ref in refs) == sorted(p.ref for p in points)


def test_cell_references_are_in_natural_order(scales: Scales) -> None:
    refs = ["FIN-10", "FIN-9", "CR-2", "fin-1"]
    counts = cell_counts(spec_of(scales, [HeatPoint(r, 2, 3) for r in refs]))
    assert counts[(2, 3)] == ["CR-2", "fin-1", "FIN-9", "FIN-10"]
    counts[(2, 3)].clear()  # a copy: the spec is not changed
    assert len(cell_counts(spec_of(scales, [HeatPoint(r, 2, 3) for r in refs]))[(2, 3)]) == 4


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "current"}, "kind"),
        ({"palette": "neon"}, "palette"),
        ({"points": [HeatPoint("A", 1, 1), HeatPoint("A", 2, 2)]}, "twice"),
        ({"points": [HeatPoint("A", 6, 1)]}, "likelihood"),
        ({"points": [HeatPoint("A", 1, 1, previous=(1, 9))]}, "impact"),
        ({"footnote": ["1", "2", "3", "4", "5"]}, "footnote"),
    ],
)
def test_spec_rejects_what_cannot_be_drawn(scales: Scales, change: dict[str, Any], message: str) -> None:
    options = dict(change)  # the parametrize dict is shared by every run of this test: never change it
    points = options.pop("points", [HeatPoint("A", 1, 1)])
    with pytest.raises(ValueError, match=message):
        spec_of(scales, points, **options)


def test_moves_are_counted_per_pair_of_cells(scales: Scales) -> None:
    points = [
        HeatPoint("A", 3, 3, previous=(2, 3)),
        HeatPoint("B", 3, 3, previous=(2, 3)),
        HeatPoint("C", 2, 3, previous=(3, 3)),
        HeatPoint("D", 2, 2, previous=(2, 2)),  # unchanged: no arrow
        HeatPoint("E", 1, 1),  # new: no arrow
    ]
    assert moves(spec_of(scales, points)) == {((2, 3), (3, 3)): 2, ((3, 3), (2, 3)): 1}


@pytest.mark.parametrize(("start", "end"), [((2, 3), (3, 3)), ((3, 2), (3, 3)), ((2, 2), (3, 3)), ((1, 1), (4, 1))])
def test_opposite_arrows_do_not_overlap(scales: Scales, start: tuple[int, int], end: tuple[int, int]) -> None:
    boxes = {(b.likelihood, b.impact): b for b in grid_boxes(scales)}
    there = arrow_ends(boxes[start], boxes[end])
    back = arrow_ends(boxes[end], boxes[start])
    # The return arrow runs the other way along a different line.
    (x0, y0), (x1, y1) = there
    (bx0, by0), (bx1, by1) = back
    assert (x1 - x0) * (bx1 - bx0) <= 0
    assert (y1 - y0) * (by1 - by0) <= 0
    assert min(abs(x0 - bx1) + abs(y0 - by1), abs(x1 - bx0) + abs(y1 - by0)) > 0.05


# --------------------------------------------------------------------------- the hash


def test_hash_ignores_point_order_and_unused_previous_positions(scales: Scales) -> None:
    points = register(50, scales)
    spec = spec_of(scales, points)
    assert spec_hash(spec) == spec_hash(spec_of(scales, list(reversed(points))))
    assert spec_hash(spec) == spec_hash(spec_of(scales, [replace(p, previous=None) for p in points]))
    arrows = spec_of(scales, points, arrows=True)
    assert spec_hash(arrows) != spec_hash(spec_of(scales, [replace(p, previous=None) for p in points], arrows=True))


@pytest.mark.parametrize(
    "change",
    [{"title": "Other"}, {"kind": "target"}, {"palette": "colourblind"}, {"appetite": FIN}, {"footnote": ["x"]}],
)
def test_hash_changes_with_what_is_drawn(scales: Scales, change: dict[str, Any]) -> None:
    points = register(20, scales)
    assert spec_hash(spec_of(scales, points)) != spec_hash(spec_of(scales, points, **change))
    assert len(spec_hash(spec_of(scales, points))) == 64


# --------------------------------------------------------------------------- the files


def test_png_decodes_at_the_expected_size(scales: Scales) -> None:
    spec = spec_of(scales, register(60, scales), arrows=True, appetite=FIN)
    image = Image.open(io.BytesIO(render_png(spec)))
    image.load()
    assert (image.format, image.size, image.mode) == ("PNG", (1500, 1125), "RGB")
    assert image.info["Title"] == spec.title
    small = Image.open(io.BytesIO(render_png(spec, dpi=72)))
    assert small.size == (720, 540)


def test_svg_parses_as_xml(scales: Scales) -> None:
    svg = render_svg(spec_of(scales, register(60, scales), arrows=True, appetite=FIN))
    root = ElementTree.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert (root.get("width"), root.get("height")) == ("720pt", "540pt")
    assert b"<dc:date>" not in svg  # no timestamp: same inputs, same bytes


def test_same_inputs_give_identical_bytes(scales: Scales) -> None:
    points = register(60, scales)
    spec = spec_of(scales, points, arrows=True, appetite=FIN)
    shuffled = spec_of(scales, random.Random(3).sample(points, len(points)), arrows=True, appetite=FIN)
    png = render_png(spec)
    assert png == render_png(shuffled)
    assert render_svg(spec) == render_svg(shuffled)
    assert png != render_png(spec_of(scales, points, appetite=FIN))


def test_global_rcparams_do_not_change_the_bytes(scales: Scales) -> None:
    import matplotlib as mpl

    spec = spec_of(scales, register(60, scales), arrows=True, appetite=FIN)
    png, svg = render_png(spec), render_svg(spec)
    before = mpl.rcParams.copy()
    changes = {"font.size": 20, "text.hinting": "native", "svg.hashsalt": None, "lines.dashed_pattern": [1, 9]}
    with mpl.rc_context(changes):
        assert render_png(spec) == png
        assert render_svg(spec) == svg
    assert mpl.rcParams.copy() == before  # and rendering leaves them as it found them


CHILD = """
import hashlib, sys
sys.path.insert(0, {root!r})
sys.path.insert(0, {tests!r})
import riskreg.heatmap
assert not [m for m in sys.modules if m.split(".")[0] == "matplotlib"], "importing riskreg.heatmap imported matplotlib"
from test_heatmap import FIN, register, spec_of
from riskreg.scoring import load_scales
from riskreg.paths import SCALES_FILE
scales = load_scales(SCALES_FILE)
spec = spec_of(scales, register(60, scales), arrows=True, appetite=FIN)
png, svg = riskreg.heatmap.render_png(spec), riskreg.heatmap.render_svg(spec)
assert "matplotlib.pyplot" not in sys.modules, "rendering imported pyplot"
print(hashlib.sha256(png).hexdigest(), hashlib.sha256(svg).hexdigest())
"""


def test_other_processes_give_identical_bytes_without_importing_matplotlib_early(scales: Scales) -> None:
    code = CHILD.format(root=str(ROOT), tests=str(ROOT / "tests"))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    spec = spec_of(scales, register(60, scales), arrows=True, appetite=FIN)
    here = f"{hashlib.sha256(render_png(spec)).hexdigest()} {hashlib.sha256(render_svg(spec)).hexdigest()}"
    assert result.stdout.strip() == here


def test_modules_never_import_pyplot() -> None:
    for name in ("heatmap.py", "heatmap_draw.py"):
        tree = ast.parse((ROOT / "riskreg" / name).read_text(encoding="utf-8"))
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {
            f"{node.module}.{alias.name}"
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module
            for alias in node.names
        }
        imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        assert not {m for m in imported if "pyplot" in m}, name


def test_threads_render_the_same_bytes(scales: Scales) -> None:
    specs = [spec_of(scales, register(30, scales, seed=s), arrows=bool(s % 2)) for s in range(3)]
    expected = [render_png(s) for s in specs]
    results: dict[int, bytes] = {}

    def work(index: int) -> None:
        results[index] = render_png(specs[index])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(specs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [results[i] for i in range(len(specs))] == expected


@pytest.mark.parametrize("n", [3, 4, 6, 7])
def test_other_scale_sizes_render(n: int) -> None:
    scales = square_scales(n)
    appetite = CategoryAppetite("X", AppetiteLevel.CAUTIOUS, appetite_max=n, tolerance_max=2 * n)
    spec = spec_of(scales, register(100, scales), arrows=True, appetite=appetite)
    assert Image.open(io.BytesIO(render_png(spec))).size == (1500, 1125)
    assert sum(len(refs) for refs in cell_counts(spec).values()) == 100


def test_text_that_looks_like_mathtext_prints_as_is(scales: Scales) -> None:
    spec = spec_of(scales, [HeatPoint("$X_1$", 1, 1)], title="Loss of $5M and $10M", footnote=["50% of $"])
    assert render_png(spec)[:8] == b"\x89PNG\r\n\x1a\n"
    figure, _ = build_figure(spec)
    assert "Loss of $5M and $10M" in [t.get_text() for t in figure.texts]


def test_line_breaks_in_inputs_do_not_break_the_layout(scales: Scales) -> None:
    spec = spec_of(scales, [HeatPoint("FIN\n001", 1, 1)], title="Two\nlines", footnote=["a\tb"])
    figure, _ = build_figure(spec, cell_text_as_text=True)
    texts = [t.get_text() for t in figure.texts]
    assert "Two lines" in texts
    assert "a b" in texts
    assert "FIN 001" in texts
    assert not [t for t in texts if "\n" in t]


# --------------------------------------------------------------------------- the layout


def _inside(extent: tuple[float, float, float, float], x0: float, y0: float, x1: float, y1: float) -> bool:
    return x0 <= extent[0] and y0 <= extent[1] and extent[2] <= x1 and extent[3] <= y1


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


LAYOUTS = [
    pytest.param(5, 60, False, id="5x5-60"),
    pytest.param(5, 1000, True, id="5x5-1000-arrows"),
    pytest.param(5, 10000, False, id="5x5-10000"),
    pytest.param(3, 1000, True, id="3x3-1000-arrows"),
    pytest.param(7, 60, True, id="7x7-60-arrows"),
    pytest.param(7, 1000, False, id="7x7-1000"),
]


@pytest.mark.parametrize(("n", "count", "arrows"), LAYOUTS)
def test_cell_text_stays_inside_its_cell_and_never_overlaps(n: int, count: int, arrows: bool) -> None:
    scales = load_scales(SCALES_FILE) if n == 5 else square_scales(n)
    points = register(count, scales)
    # A few awkward references: very long, and one that is long enough to be cut.
    points[0] = replace(points[0], ref="ICT-2025-000001-SUPPLEMENTARY")
    points[1] = replace(points[1], ref="W" * 60, likelihood=points[0].likelihood, impact=points[0].impact)
    _, placed = build_figure(spec_of(scales, points, arrows=arrows))
    by_cell: dict[tuple[int, int], list[tuple[float, float, float, float]]] = {}
    pad = CELL_PAD * 0.9
    for extent, box in placed:
        assert _inside(extent, box.x + pad, box.y + pad, box.x + box.w - pad, box.y + box.h - pad), (extent, box)
        by_cell.setdefault((box.likelihood, box.impact), []).append(extent)
    for extents in by_cell.values():
        for i, a in enumerate(extents):
            assert not any(_overlap(a, b) for b in extents[i + 1 :])


def test_svg_text_stays_inside_its_cell(scales: Scales) -> None:
    """The SVG draws cell texts as matplotlib Text; measure them with matplotlib itself."""
    spec = spec_of(scales, register(1000, scales), arrows=True)
    figure, _ = build_figure(spec, cell_text_as_text=True)
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    boxes = grid_boxes(scales)
    dpi = figure.dpi
    for text in figure.texts:
        if text.get_zorder() != 4:
            continue
        extent = text.get_window_extent(renderer)
        x0, y0, x1, y1 = extent.x0 / dpi, extent.y0 / dpi, extent.x1 / dpi, extent.y1 / dpi
        home = [b for b in boxes if b.x <= (x0 + x1) / 2 <= b.x + b.w and b.y <= (y0 + y1) / 2 <= b.y + b.h]
        assert len(home) == 1
        box = home[0]
        assert _inside((x0, y0, x1, y1), box.x, box.y, box.x + box.w, box.y + box.h), text.get_text()


def test_crowded_cell_shows_first_references_and_how_many_more(scales: Scales) -> None:
    points = [HeatPoint(f"FIN-{k:03d}", 4, 4) for k in range(1, 41)] + [HeatPoint("OPS-001", 1, 1)]
    figure, _ = build_figure(spec_of(scales, points), cell_text_as_text=True)
    texts = [t.get_text() for t in figure.texts if t.get_zorder() == 4]
    assert "40" in texts
    assert "1" in texts
    assert "High · 16" in texts
    assert "Low · 1" in texts
    more = [t for t in texts if t.endswith(" more")]
    assert len(more) == 1
    shown = [ref for t in texts for ref in t.split(", ") if ref.startswith("FIN-")]
    assert shown == [f"FIN-{k:03d}" for k in range(1, len(shown) + 1)]
    assert more[0] == f"+{40 - len(shown)} more"
    assert "OPS-001" in texts


def test_every_cell_names_its_band_even_when_empty(scales: Scales) -> None:
    figure, _ = build_figure(spec_of(scales, []), cell_text_as_text=True)
    labels = {t.get_text() for t in figure.texts if t.get_zorder() == 4}
    expected = {f"{scales.band(li * im).name} · {li * im}" for li in range(1, 6) for im in range(1, 6)}
    assert labels == expected


def test_overlay_key_names_the_thresholds(scales: Scales) -> None:
    figure, _ = build_figure(spec_of(scales, register(10, scales), appetite=FIN, arrows=True))
    texts = [t.get_text() for t in figure.texts]
    assert "Within appetite (≤ 6)" in texts
    assert "Above appetite (7–9)" in texts
    assert "Outside tolerance (> 9, or Critical)" in texts
    assert any(t.startswith("Moved since the previous cycle") for t in texts)
