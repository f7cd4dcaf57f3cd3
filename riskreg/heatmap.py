"""The task force's heatmap: risks placed on the likelihood × impact grid, drawn as PNG or SVG.

Pure: no Flask, no database session. A `HeatmapSpec` says what to draw; `cell_counts()` is
the data the image shows (the review page's HTML table and the workbook grid use it too);
`render_png()` / `render_svg()` draw it with matplotlib's object API on the Agg canvas, never
pyplot, so it is safe in a threaded server (performance.md §4). matplotlib is imported inside
the render functions only, so importing this module keeps app start-up fast.

The same spec always gives the same bytes: fonts come from matplotlib's own bundled files,
every style is passed explicitly, and the few rcParams that are read at draw time are pinned
for the duration of a render under a module lock. `spec_hash()` is the cache key / ETag.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import metadata
from io import BytesIO
from typing import TYPE_CHECKING, Any, Literal

from riskreg.appetite import CategoryAppetite, Zone, judge
from riskreg.scoring import Band, Scales

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.text import Text

# Bump when the drawing changes, so cached images made by older code are not served.
RENDER_VERSION = "1"

Kind = Literal["inherent", "residual", "target"]
Palette = Literal["standard", "colourblind"]
KINDS: tuple[str, ...] = ("inherent", "residual", "target")
PALETTES: tuple[str, ...] = ("standard", "colourblind")
DEFAULT_DPI = 150

# Geometry in inches; fixed margins, not constrained layout (performance.md §4.2: 28 % faster).
FIG_W, FIG_H = 10.0, 7.5
GRID_LEFT, GRID_RIGHT = 1.55, 9.7  # x of the grid's left and right edges
GRID_TOP = 6.75  # y of the grid's top edge
CELL_PAD = 4.5 / 72  # text keeps this far from a cell's edges
OUTLINE_INSET = 2.0 / 72  # appetite outlines sit inside the cell, clear of the white gutters
INK = "#1A1A1A"
MUTED = "#4D4D4D"

_KIND_LABELS = {"inherent": "Inherent risk", "residual": "Residual risk", "target": "Target risk"}
_ZONE_STYLES: dict[Zone, tuple[str, Any]] = {
    # linestyle as (offset, (on, off)) in multiples of the line width: explicit, so rcParams cannot change it
    Zone.WITHIN_APPETITE: ("Within appetite", "solid"),
    Zone.ABOVE_APPETITE: ("Above appetite, within tolerance", (0, (3.0, 1.6))),
    Zone.OUTSIDE_TOLERANCE: ("Outside tolerance", (0, (0.6, 1.4))),
}
_ZONE_LINEWIDTH = 1.6

# rcParams read at draw time that an app or a matplotlibrc could change; pinned while we draw.
_PINNED_RC: dict[str, Any] = {
    "svg.hashsalt": "riskreg-heatmap",
    "svg.fonttype": "path",
    "svg.id": None,
    "svg.image_inline": True,
    "text.hinting": "force_autohint",
    "text.hinting_factor": 8,
    "text.kerning_factor": 0,
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
# rc_context changes matplotlib's process-wide rcParams: one render at a time holds it.
_RENDER_LOCK = threading.Lock()


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
    footnote: Sequence[str] = ()  # cycle, statement version, filters, as-at date: one line each
    appetite: CategoryAppetite | None = None  # overlay: outline cells by zone for this category
    arrows: bool = False
    palette: Palette = "standard"
    max_ref_lines: int = 3  # reference lines per cell, "+N more" included
    _cells: dict[tuple[int, int], list[str]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if self.palette not in PALETTES:
            raise ValueError(f"palette must be one of {', '.join(PALETTES)}, not {self.palette!r}")
        if self.max_ref_lines < 1:
            raise ValueError("max_ref_lines must be at least 1")
        object.__setattr__(self, "points", tuple(self.points))
        object.__setattr__(self, "footnote", tuple(self.footnote))
        seen: set[str] = set()
        cells: dict[tuple[int, int], list[str]] = {
            (li, im): []
            for li in range(1, self.scales.max_likelihood + 1)
            for im in range(1, self.scales.max_impact + 1)
        }
        for point in self.points:
            if point.ref in seen:
                raise ValueError(f"risk {point.ref} appears twice on the heatmap")
            seen.add(point.ref)
            self.scales.check_point(point.likelihood, point.impact)
            if point.previous is not None:
                self.scales.check_point(*point.previous)
            cells[(point.likelihood, point.impact)].append(point.ref)
        for refs in cells.values():
            refs.sort(key=natural_key)
        object.__setattr__(self, "_cells", cells)


def natural_key(ref: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that puts FIN-9 before FIN-10."""
    return tuple((0, int(part)) if part.isdigit() else (1, part.casefold()) for part in re.split(r"(\d+)", ref) if part)


def cell_counts(spec: HeatmapSpec) -> dict[tuple[int, int], list[str]]:
    """References per (likelihood, impact) cell, every cell present, references in natural order."""
    return {cell: list(refs) for cell, refs in spec._cells.items()}


def spec_hash(spec: HeatmapSpec) -> str:
    """SHA-256 of the canonical inputs and the drawing code's version: the image cache key and ETag.

    Point order does not matter (cells sort their references); previous positions only count
    when arrows are drawn. Callers add the format and dpi to the key.
    """
    scales = spec.scales
    appetite = spec.appetite
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
        "points": sorted(
            [p.ref, p.likelihood, p.impact, list(p.previous) if spec.arrows and p.previous else None]
            for p in spec.points
        ),
    }
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def render_png(spec: HeatmapSpec, dpi: int = DEFAULT_DPI) -> bytes:
    """The heatmap as PNG bytes (10 × 7.5 in, so 1500 × 1125 px at the default 150 dpi)."""
    return _render(spec, "png", dpi)


def render_svg(spec: HeatmapSpec) -> bytes:
    """The heatmap as SVG bytes; text is drawn as paths, so it looks the same without our fonts."""
    return _render(spec, "svg", 72)


@cache
def _matplotlib_version() -> str:
    return metadata.version("matplotlib")


def _render(spec: HeatmapSpec, fmt: str, dpi: int) -> bytes:
    import matplotlib as mpl

    buffer = BytesIO()
    with _RENDER_LOCK, mpl.rc_context(rc=_PINNED_RC):
        figure, _ = build_figure(spec)
        if fmt == "png":
            metadata_ = {"Software": "RiskReg", "Title": spec.title}
        else:
            metadata_ = {"Creator": "RiskReg", "Date": None, "Title": spec.title}
        figure.savefig(
            buffer,
            format=fmt,
            dpi=dpi,
            facecolor="white",
            edgecolor="none",
            transparent=False,
            bbox_inches=None,
            metadata=metadata_,
        )
    return buffer.getvalue()


# --------------------------------------------------------------------------- drawing


@dataclass(frozen=True)
class CellBox:
    """A cell's rectangle in inches from the figure's lower-left corner."""

    likelihood: int
    impact: int
    x: float
    y: float
    w: float
    h: float

    @property
    def centre(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h / 2


class _Fonts:
    """matplotlib's bundled DejaVu Sans, so every machine with the same matplotlib draws the same glyphs."""

    def __init__(self) -> None:
        import matplotlib as mpl
        from matplotlib.font_manager import FontProperties

        folder = f"{mpl.get_data_path()}/fonts/ttf"
        self.regular_path = f"{folder}/DejaVuSans.ttf"
        self.bold_path = f"{folder}/DejaVuSans-Bold.ttf"
        self._props = FontProperties

    def prop(self, size: float, bold: bool = False) -> Any:
        return self._props(fname=self.bold_path if bold else self.regular_path, size=size)

    def width(self, text: str, size: float, bold: bool = False) -> float:
        """Advance width in points, with a margin for hinting at small sizes."""
        return _unit_width(self.bold_path if bold else self.regular_path, text) * size * 1.04

    @staticmethod
    def block_height(lines: int, size: float, spacing: float) -> float:
        """Height in points of `lines` lines of text: matplotlib ≥ 3.10 uses the font's typo metrics."""
        return lines * spacing * size * _TYPO_EM

    def fit(self, text: str, size: float, room: float, bold: bool = False) -> str:
        """`text`, shortened with an ellipsis until it fits in `room` points."""
        if self.width(text, size, bold) <= room:
            return text
        while text and self.width(text + "…", size, bold) > room:
            text = text[:-1]
        return text + "…" if text else ""


# DejaVu Sans: (sTypoAscender − sTypoDescender) / unitsPerEm = (1556 + 492) / 2048.
_TYPO_EM = 1.0


@lru_cache(maxsize=16384)
def _unit_width(path: str, text: str) -> float:
    """Width of `text` at 1 pt, measured unhinted at 100 pt for precision."""
    from matplotlib.font_manager import get_font
    from matplotlib.ft2font import LoadFlags

    font = get_font(path)
    font.clear()
    font.set_size(100, 72)
    font.set_text(text, 0.0, flags=LoadFlags.NO_HINTING)
    width, _ = font.get_width_height()
    return float(width) / 64 / 100


def grid_boxes(scales: Scales) -> list[CellBox]:
    """Where every cell sits: impact left to right, likelihood bottom to top."""
    grid_bottom = _grid_bottom()
    cell_w = (GRID_RIGHT - GRID_LEFT) / scales.max_impact
    cell_h = (GRID_TOP - grid_bottom) / scales.max_likelihood
    return [
        CellBox(li, im, GRID_LEFT + (im - 1) * cell_w, grid_bottom + (li - 1) * cell_h, cell_w, cell_h)
        for li in range(1, scales.max_likelihood + 1)
        for im in range(1, scales.max_impact + 1)
    ]


def _grid_bottom() -> float:
    return 1.75


def build_figure(spec: HeatmapSpec) -> tuple[Figure, list[tuple[Text, CellBox]]]:
    """The figure, and each text drawn inside a cell with that cell (tests check nothing spills)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(FIG_W, FIG_H), dpi=DEFAULT_DPI, facecolor="white", edgecolor="white", layout="none")
    FigureCanvasAgg(figure)
    fonts = _Fonts()
    boxes = grid_boxes(spec.scales)
    cells = spec._cells
    _draw_fills(figure, spec, boxes)
    if spec.appetite is not None:
        _draw_outlines(figure, spec, spec.appetite, boxes)
    if spec.arrows:
        _draw_arrows(figure, spec, boxes)
    placed = list(_draw_cell_texts(figure, spec, fonts, boxes, cells))
    _draw_axes(figure, spec, fonts, boxes)
    _draw_titles(figure, spec, fonts)
    _draw_legend(figure, spec, fonts)
    return figure, placed


def _fill(band: Band, palette: str) -> str:
    return band.colourblind_fill if palette == "colourblind" else band.fill


def _ink_on(fill: str) -> str:
    """Black or white text on `fill`, whichever contrasts more (WCAG relative luminance)."""

    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(fill[i : i + 2]) for i in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return INK if (luminance + 0.05) / 0.05 >= 1.05 / (luminance + 0.05) else "#FFFFFF"


def _add_text(figure: Figure, x: float, y: float, text: str, prop: Any, **style: Any) -> Text:
    return figure.text(
        x,
        y,
        text,
        transform=figure.dpi_scale_trans,
        fontproperties=prop,
        parse_math=False,
        usetex=False,
        **style,
    )


def _draw_fills(figure: Figure, spec: HeatmapSpec, boxes: list[CellBox]) -> None:
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    fills = [_fill(spec.scales.band_at(b.likelihood, b.impact), spec.palette) for b in boxes]
    rectangles = [Rectangle((b.x, b.y), b.w, b.h) for b in boxes]
    collection = PatchCollection(
        rectangles,
        facecolors=fills,
        edgecolors="white",
        linewidths=1.5,
        transform=figure.dpi_scale_trans,
        zorder=1,
    )
    figure.add_artist(collection)


def _draw_outlines(figure: Figure, spec: HeatmapSpec, appetite: CategoryAppetite, boxes: list[CellBox]) -> None:
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    inset = OUTLINE_INSET + _ZONE_LINEWIDTH / 72 / 2
    for zone, (_, linestyle) in _ZONE_STYLES.items():
        chosen = [b for b in boxes if judge(b.likelihood, b.impact, appetite, spec.scales) is zone]
        if not chosen:
            continue
        rectangles = [Rectangle((b.x + inset, b.y + inset), b.w - 2 * inset, b.h - 2 * inset) for b in chosen]
        inks = [_ink_on(_fill(spec.scales.band_at(b.likelihood, b.impact), spec.palette)) for b in chosen]
        collection = PatchCollection(
            rectangles,
            facecolors="none",
            edgecolors=inks,
            linewidths=_ZONE_LINEWIDTH,
            linestyles=[linestyle],
            transform=figure.dpi_scale_trans,
            zorder=2,
        )
        figure.add_artist(collection)


def _jitter(key: str, spread: float) -> tuple[float, float]:
    """A stable offset in [-spread, spread]² from `key` (hashlib: Python's hash() changes per process)."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return (digest[0] / 255 * 2 - 1) * spread, (digest[1] / 255 * 2 - 1) * spread


def _draw_arrows(figure: Figure, spec: HeatmapSpec, boxes: list[CellBox]) -> None:
    """One arrow per (from cell, to cell) pair, thicker for more risks, curved so opposite moves do not overlap."""
    from matplotlib.patches import FancyArrowPatch

    where = {(b.likelihood, b.impact): b for b in boxes}
    moves: dict[tuple[tuple[int, int], tuple[int, int]], int] = {}
    for point in spec.points:
        here = (point.likelihood, point.impact)
        if point.previous is not None and point.previous != here:
            moves[(point.previous, here)] = moves.get((point.previous, here), 0) + 1
    for (start, end), count in sorted(moves.items()):
        a, b = where[start], where[end]
        jx, jy = _jitter(f"{start}>{end}:a", 0.22)
        kx, ky = _jitter(f"{start}>{end}:b", 0.22)
        width = 0.9 + 0.7 * math.log2(count)
        arrow = FancyArrowPatch(
            (a.centre[0] + jx * a.w, a.centre[1] + jy * a.h),
            (b.centre[0] + kx * b.w, b.centre[1] + ky * b.h),
            arrowstyle="-|>",
            mutation_scale=7 + 2.5 * width,
            connectionstyle="arc3,rad=0.18",
            color="#17324D",
            alpha=0.7,
            linewidth=width,
            shrinkA=0,
            shrinkB=0,
            transform=figure.dpi_scale_trans,
            zorder=3,
        )
        figure.add_artist(arrow)


def _cell_sizes(scales: Scales) -> tuple[float, float]:
    """(count size, reference size) in points: smaller type on denser grids."""
    cells = max(scales.max_likelihood, scales.max_impact)
    return {3: (15.0, 8.0), 4: (13.0, 7.5), 5: (12.0, 7.0), 6: (10.5, 6.5)}.get(cells, (9.5, 6.0))


def _draw_cell_texts(
    figure: Figure, spec: HeatmapSpec, fonts: _Fonts, boxes: list[CellBox], cells: dict[tuple[int, int], list[str]]
) -> Iterator[tuple[Text, CellBox]]:
    count_size, ref_size = _cell_sizes(spec.scales)
    band_size = ref_size
    spacing = 1.15
    for box in boxes:
        score = box.likelihood * box.impact
        band = spec.scales.band(score)
        ink = _ink_on(_fill(band, spec.palette))
        refs = cells[(box.likelihood, box.impact)]
        pad = CELL_PAD
        room = (box.w - 2 * pad) * 72
        top = box.y + box.h - pad
        count_text = str(len(refs)) if refs else ""
        count_w = fonts.width(count_text, count_size, bold=True) + 4 if refs else 0.0
        label = _band_label(fonts, band.name, score, band_size, room - count_w)
        if label:
            text = _add_text(
                figure, box.x + box.w - pad, top, label, fonts.prop(band_size), color=ink, ha="right", va="top"
            )
            text.set_zorder(4)
            yield text, box
        if not refs:
            continue
        text = _add_text(figure, box.x + pad, top, count_text, fonts.prop(count_size, bold=True), color=ink, va="top")
        text.set_zorder(4)
        yield text, box
        strip = fonts.block_height(1, count_size, 1.0) / 72 + 2 / 72
        height = (box.h - 2 * pad - strip) * 72
        lines = min(spec.max_ref_lines, int(height // (spacing * ref_size * _TYPO_EM)))
        if lines < 1:
            continue
        packed = _pack(fonts, refs, ref_size, room, lines)
        if packed:
            text = _add_text(
                figure,
                box.x + box.w / 2,
                top - strip,
                "\n".join(packed),
                fonts.prop(ref_size),
                color=ink,
                ha="center",
                va="top",
                multialignment="center",
                linespacing=spacing,
            )
            text.set_zorder(4)
            yield text, box


def _band_label(fonts: _Fonts, name: str, score: int, size: float, room: float) -> str:
    """The longest of 'High · 12', 'High', '12' that fits: colour must never be the only cue."""
    for candidate in (f"{name} · {score}", name, str(score)):
        if fonts.width(candidate, size) <= room:
            return candidate
    return ""


def _pack(fonts: _Fonts, refs: list[str], size: float, room: float, max_lines: int) -> list[str]:
    """Flow references into at most `max_lines` lines of `room` points, the last saying "+N more" if needed."""
    lines = _flow(fonts, refs, size, room, max_lines)
    shown = sum(len(line) for line in lines)
    if shown == len(refs):
        return [", ".join(line) for line in lines]
    lines = _flow(fonts, refs, size, room, max_lines - 1)
    shown = sum(len(line) for line in lines)
    more = fonts.fit(f"+{len(refs) - shown} more", size, room)
    return [", ".join(line) for line in lines] + [more]


def _flow(fonts: _Fonts, refs: list[str], size: float, room: float, max_lines: int) -> list[list[str]]:
    lines: list[list[str]] = []
    used = 0.0
    separator = fonts.width(", ", size)
    for ref in refs:
        width = fonts.width(ref, size)
        if lines and used + separator + width <= room:
            lines[-1].append(ref)
            used += separator + width
            continue
        if len(lines) == max_lines:
            break
        if width > room:
            ref = fonts.fit(ref, size, room)
            width = fonts.width(ref, size)
        lines.append([ref])
        used = width
    return lines


def _draw_axes(figure: Figure, spec: HeatmapSpec, fonts: _Fonts, boxes: list[CellBox]) -> None:
    scales = spec.scales
    first = boxes[0]
    label_size, value_size = 8.5, 7.5
    room = (GRID_LEFT - 0.5) * 72
    for level in scales.likelihood:
        y = first.y + (level.value - 0.5) * first.h
        name = fonts.fit(f"{level.value}  {level.label}", label_size, room, bold=True)
        _add_text(figure, GRID_LEFT - 0.08, y + 0.02, name, fonts.prop(label_size, bold=True), color=INK, ha="right")
        if level.probability_text:
            prob = fonts.fit(level.probability_text, value_size, room)
            _add_text(
                figure, GRID_LEFT - 0.08, y - 0.02, prob, fonts.prop(value_size), color=MUTED, ha="right", va="top"
            )
    _add_text(
        figure,
        0.22,
        first.y + scales.max_likelihood * first.h / 2,
        "Likelihood →",
        fonts.prop(10, bold=True),
        color=INK,
        rotation=90,
        ha="center",
        va="center",
    )
    for level in scales.impact:
        x = first.x + (level.value - 0.5) * first.w
        name = fonts.fit(f"{level.value}  {level.label}", label_size, first.w * 72 - 4, bold=True)
        _add_text(figure, x, first.y - 0.08, name, fonts.prop(label_size, bold=True), color=INK, ha="center", va="top")
    _add_text(
        figure,
        (GRID_LEFT + GRID_RIGHT) / 2,
        first.y - 0.34,
        "Impact →",
        fonts.prop(10, bold=True),
        color=INK,
        ha="center",
        va="top",
    )


def _draw_titles(figure: Figure, spec: HeatmapSpec, fonts: _Fonts) -> None:
    room = (FIG_W - 0.6) * 72
    title = fonts.fit(spec.title, 14, room, bold=True)
    _add_text(figure, 0.3, FIG_H - 0.22, title, fonts.prop(14, bold=True), color=INK, va="top")
    parts = [_KIND_LABELS[spec.kind], f"{len(spec.points)} risk{'s' if len(spec.points) != 1 else ''}"]
    if spec.appetite is not None:
        parts.append(f"appetite overlay: {spec.appetite.category} ({spec.appetite.level.label.lower()})")
    if spec.arrows:
        parts.append("arrows show movement since the previous cycle")
    subtitle = fonts.fit(" · ".join(parts), 9.5, room)
    _add_text(figure, 0.3, FIG_H - 0.5, subtitle, fonts.prop(9.5), color=MUTED, va="top")


def _draw_legend(figure: Figure, spec: HeatmapSpec, fonts: _Fonts) -> None:
    """Key under the grid: band colours, then overlay outline styles and arrows when drawn."""
    from matplotlib.collections import LineCollection, PatchCollection
    from matplotlib.patches import FancyArrowPatch, Rectangle

    size = 8.0
    y = 0.95  # baseline row of the key, inches
    x = 0.3
    swatches, fills = [], []
    for band in spec.scales.bands:
        swatches.append(Rectangle((x, y - 0.06), 0.22, 0.16))
        fills.append(_fill(band, spec.palette))
        label = f"{band.name} ({band.min_score}–{band.max_score})"
        _add_text(figure, x + 0.28, y + 0.02, label, fonts.prop(size), color=INK, va="center")
        x += 0.28 + fonts.width(label, size) / 72 + 0.25
    figure.add_artist(
        PatchCollection(
            swatches, facecolors=fills, edgecolors=MUTED, linewidths=0.5, transform=figure.dpi_scale_trans, zorder=2
        )
    )
    if spec.appetite is not None:
        x += 0.15
        segments, styles = [], []
        for _zone, (label, linestyle) in _ZONE_STYLES.items():
            segments.append([(x, y + 0.02), (x + 0.42, y + 0.02)])
            styles.append(linestyle)
            _add_text(figure, x + 0.5, y + 0.02, label, fonts.prop(size), color=INK, va="center")
            x += 0.5 + fonts.width(label, size) / 72 + 0.25
        figure.add_artist(
            LineCollection(
                segments, colors=INK, linewidths=_ZONE_LINEWIDTH, linestyles=styles, transform=figure.dpi_scale_trans
            )
        )
    if spec.arrows:
        x += 0.15
        figure.add_artist(
            FancyArrowPatch(
                (x, y + 0.02),
                (x + 0.42, y + 0.02),
                arrowstyle="-|>",
                mutation_scale=9,
                color="#17324D",
                alpha=0.7,
                linewidth=1.2,
                shrinkA=0,
                shrinkB=0,
                transform=figure.dpi_scale_trans,
            )
        )
        _add_text(figure, x + 0.5, y + 0.02, "Moved (thicker: more risks)", fonts.prop(size), color=INK, va="center")
    line_y = 0.62
    room = (FIG_W - 0.6) * 72
    for line in spec.footnote[:4]:
        _add_text(figure, 0.3, line_y, fonts.fit(line, 7.5, room), fonts.prop(7.5), color=MUTED, va="top")
        line_y -= 0.15
