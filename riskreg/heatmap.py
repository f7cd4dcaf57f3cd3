"""The task force's heatmap: risks placed on the likelihood × impact grid, drawn as PNG or SVG.

Pure: no Flask, no database session. A `HeatmapSpec` says what to draw; `cell_counts()` is
the data the image shows (the review page's HTML table and the workbook grid use it too);
`render_png()` / `render_svg()` draw it with matplotlib's object API on the Agg canvas, never
pyplot, so it is safe in a threaded server (performance.md §4). matplotlib is imported inside
the render functions only, so importing this module keeps app start-up fast.

The same spec always gives the same bytes: fonts come from matplotlib's own bundled files,
every style is passed explicitly, and the few rcParams read at draw time are pinned for the
duration of a render under a module lock. `spec_hash()` is the cache key and ETag. The
drawing itself (layout, cells, arrows, key) is in `riskreg.heatmap_draw`.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from io import BytesIO
from typing import TYPE_CHECKING, Any, Literal

from riskreg.appetite import CategoryAppetite
from riskreg.heatmap_draw import build_figure, new_figure
from riskreg.scoring import Scales
from riskreg.snapshot import natural_key

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "DEFAULT_DPI",
    "HeatPoint",
    "HeatmapSpec",
    "build_figure",
    "cell_counts",
    "render_png",
    "render_svg",
    "spec_hash",
]

# Bump when the drawing changes, so images cached by older code are not served.
RENDER_VERSION = "1"

Kind = Literal["inherent", "residual", "target"]
Palette = Literal["standard", "colourblind"]
KINDS: tuple[str, ...] = ("inherent", "residual", "target")
PALETTES: tuple[str, ...] = ("standard", "colourblind")
DEFAULT_DPI = 150
MAX_FOOTNOTE_LINES = 4

# rcParams read while drawing that an app or a matplotlibrc could change; pinned per render.
_PINNED_RC: dict[Any, Any] = {  # (matplotlib types the keys as a Literal of every rcParam)
    "svg.hashsalt": "riskreg-heatmap",
    "svg.fonttype": "path",
    "svg.id": None,
    "svg.image_inline": True,
    "text.hinting": "no_hinting",
    "text.antialiased": True,
    "text.usetex": False,
    "text.parse_math": False,
    "patch.antialiased": True,
    "lines.antialiased": True,
    "lines.scale_dashes": True,
    "path.simplify": True,
    "path.simplify_threshold": 0.111111111111,
    "path.snap": True,
    "path.sketch": None,
    "path.effects": [],
    "agg.path.chunksize": 0,
    "figure.autolayout": False,
    "figure.constrained_layout.use": False,
    "_internal.classic_mode": False,
}
# rc_context changes matplotlib's process-wide rcParams, and the reused figure is shared:
# one render at a time (Figure.draw takes a class-wide lock anyway, performance.md §4.3).
_RENDER_LOCK = threading.Lock()
_REUSABLE: list[Figure] = []


@dataclass(frozen=True)
class HeatPoint:
    """One risk on the grid; `previous` is its (likelihood, impact) in the previous cycle, if any."""

    ref: str
    likelihood: int
    impact: int
    previous: tuple[int, int] | None = None


@dataclass(frozen=True)
class HeatmapSpec:
    """Everything that decides the picture; equal specs give equal bytes."""

    scales: Scales
    kind: Kind
    points: Sequence[HeatPoint]
    title: str
    footnote: Sequence[str] = ()  # cycle, statement version, filters, as-at date: one line each (4 at most)
    appetite: CategoryAppetite | None = None  # overlay: outline cells by zone for this category
    arrows: bool = False
    palette: Palette = "standard"
    max_ref_lines: int = 6  # reference lines per cell at most (fewer when they do not fit), "+N more" included
    _cells: dict[tuple[int, int], list[str]] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def cells(self) -> Mapping[tuple[int, int], list[str]]:
        """References per (likelihood, impact), every cell present; read it, do not change it."""
        return self._cells

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if self.palette not in PALETTES:
            raise ValueError(f"palette must be one of {', '.join(PALETTES)}, not {self.palette!r}")
        if self.max_ref_lines < 1:
            raise ValueError("max_ref_lines must be at least 1")
        if len(self.footnote) > MAX_FOOTNOTE_LINES:
            raise ValueError(f"at most {MAX_FOOTNOTE_LINES} footnote lines fit under the heatmap")
        object.__setattr__(self, "points", tuple(self.points))
        object.__setattr__(self, "footnote", tuple(self.footnote))
        cells: dict[tuple[int, int], list[str]] = {
            (li, im): []
            for li in range(1, self.scales.max_likelihood + 1)
            for im in range(1, self.scales.max_impact + 1)
        }
        seen: set[str] = set()
        for point in self.points:
            if point.ref in seen:
                raise ValueError(f"risk {point.ref} appears twice on the heatmap")
            seen.add(point.ref)
            # Every cell of the grid is a key: a position that is one is on the scales (no check per point).
            refs = cells.get((point.likelihood, point.impact))
            if refs is None:
                self.scales.check_point(point.likelihood, point.impact)
                raise ValueError(f"({point.likelihood}, {point.impact}) is not a cell of the grid")
            if point.previous is not None and point.previous not in cells:
                self.scales.check_point(*point.previous)
            refs.append(point.ref)
        for refs in cells.values():
            # Natural order; references equal under it (FIN-01, fin-1) keep their plain order (stable sort).
            refs.sort()
            refs.sort(key=natural_key)
        object.__setattr__(self, "_cells", cells)


def cell_counts(spec: HeatmapSpec) -> dict[tuple[int, int], list[str]]:
    """References per (likelihood, impact) cell: every cell present, references in natural order."""
    return {cell: list(refs) for cell, refs in spec._cells.items()}


def spec_hash(spec: HeatmapSpec) -> str:
    """SHA-256 of the canonical inputs and of the drawing code's version: the image cache key and ETag.

    Point order does not matter (cells sort their references); previous positions count only
    when arrows are drawn. Callers add the format and the dpi to their cache key.
    """
    scales, appetite = spec.scales, spec.appetite
    moved_from = {p.ref: p.previous for p in spec.points if p.previous} if spec.arrows else {}
    cells = sorted(spec._cells.items())
    doc = {
        "render": [RENDER_VERSION, _matplotlib_version()],
        "scales": {
            "likelihood": [[lv.value, lv.label, lv.probability_text] for lv in scales.likelihood],
            "impact": [[lv.value, lv.label] for lv in scales.impact],
            "bands": [[b.name, b.min_score, b.max_score, b.fill, b.colourblind_fill, b.critical] for b in scales.bands],
        },
        "kind": spec.kind,
        "title": spec.title,
        "footnote": list(spec.footnote),
        "appetite": None
        if appetite is None
        else [
            appetite.category,
            appetite.level.value,
            appetite.appetite_max,
            appetite.tolerance_max,
            appetite.zero_tolerance,
            appetite.max_impact,
        ],
        "arrows": spec.arrows,
        "palette": spec.palette,
        "max_ref_lines": spec.max_ref_lines,
        # Per cell, its references in the cell's (deterministic) order, and with arrows where each came from: the
        # cells are sorted once by the spec, so hashing 100,000 points sorts nothing again.
        "cells": [
            [li, im, refs, [moved_from.get(r) for r in refs] if spec.arrows else None] for (li, im), refs in cells
        ],
    }
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def render_png(spec: HeatmapSpec, dpi: int = DEFAULT_DPI) -> bytes:
    """The heatmap as PNG bytes: 10 × 7.5 in, so 1500 × 1125 px at the default 150 dpi."""
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    with _drawing() as figure:
        build_figure(spec, figure)
        figure.set_dpi(dpi)
        canvas: Any = figure.canvas  # the FigureCanvasAgg from new_figure(); backend_agg has no type stubs
        canvas.draw()
        width, height = canvas.get_width_height(physical=True)
        # Copy out of the shared renderer's buffer before the lock is released. The background
        # is opaque, so RGB: a quarter fewer bytes to compress than RGBA.
        image = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1).convert("RGB")
    info = PngInfo()
    info.add_text("Software", "RiskReg")
    info.add_text("Title", spec.title)
    buffer = BytesIO()
    # zlib level 3: a third faster than the default 6, for a few per cent more bytes.
    image.save(buffer, format="png", pnginfo=info, dpi=(dpi, dpi), compress_level=3)
    return buffer.getvalue()


def render_svg(spec: HeatmapSpec) -> bytes:
    """The heatmap as SVG bytes; text is drawn as paths, so it looks the same without our fonts."""
    buffer = BytesIO()
    with _drawing() as figure:
        build_figure(spec, figure, cell_text_as_text=True)
        figure.savefig(
            buffer,
            format="svg",
            dpi=72,
            facecolor="white",
            edgecolor="none",
            transparent=False,
            bbox_inches=None,
            metadata={"Creator": "RiskReg", "Date": None, "Title": spec.title},
        )
    return buffer.getvalue()


@cache
def _matplotlib_version() -> str:
    return metadata.version("matplotlib")


@contextmanager
def _drawing() -> Iterator[Figure]:
    """Hold the render lock and the pinned rcParams; yield the process's reusable, cleared figure.

    Reusing one figure keeps one Agg renderer, and matplotlib caches text metrics per
    renderer: steady-state renders skip measuring the texts they measured before.
    """
    import matplotlib as mpl

    with _RENDER_LOCK, mpl.rc_context(rc=_PINNED_RC):
        if not _REUSABLE:
            _REUSABLE.append(new_figure(DEFAULT_DPI))
        figure = _REUSABLE[0]
        figure.clear()
        figure.set_dpi(DEFAULT_DPI)
        try:
            yield figure
        finally:
            figure.clear()  # drop the artists now rather than keep them until the next render
