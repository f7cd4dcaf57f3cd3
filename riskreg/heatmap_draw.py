"""Drawing the heatmap figure: cells, appetite outlines, movement arrows, cell texts, axes and key.

Pure: no Flask, no database session; matplotlib is imported inside the functions. Called by
`riskreg.heatmap` (which holds the render lock and pinned rcParams) and by tests.

Geometry is in inches from the figure's lower-left corner, on a fixed layout. Texts inside
the cells are the bulk of the glyphs and, through FreeType, most of the render time
(performance.md §4.2). They are laid out here from glyph outlines of matplotlib's bundled
DejaVu Sans, cached per process, and drawn as one path per colour: 4-5× faster to draw than
Text artists, and the layout uses exactly the widths that are drawn, so nothing can spill out
of a cell. Titles, axis labels and the key stay matplotlib Text artists, which shape any
script (a statement title may be in Arabic or Russian).

Changing what this module draws changes the bytes: bump `riskreg.heatmap.RENDER_VERSION`
so that images cached under the old hash are not served.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from riskreg.appetite import CategoryAppetite, Zone, judge
from riskreg.scoring import Band, Scales

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from riskreg.heatmap import HeatmapSpec

FIG_W, FIG_H = 10.0, 7.5
GRID_LEFT, GRID_RIGHT, GRID_BOTTOM, GRID_TOP = 1.8, 9.7, 1.95, 6.72
MARGIN = 0.3
CELL_PAD = 5.5 / 72  # cell text keeps this far from the cell's edges
ARROW_LANE = 0.26  # share of a cell's height kept free of references when arrows are drawn
INK, MUTED, ARROW_INK = "#1A1A1A", "#4D4D4D", "#14213D"

KIND_LABELS = {"inherent": "Inherent risk", "residual": "Residual risk", "target": "Target risk"}
# Outline style per zone; dash patterns explicit (in line widths) so no rcParam can change them.
ZONE_LINESTYLES: dict[Zone, Any] = {
    Zone.WITHIN_APPETITE: "solid",
    Zone.ABOVE_APPETITE: (0, (3.0, 1.6)),
    Zone.OUTSIDE_TOLERANCE: (0, (0.6, 1.4)),
}
ZONE_LINEWIDTH = 1.6
_OUTLINE_INSET = 2.0 / 72 + ZONE_LINEWIDTH / 72 / 2  # inside the cell, clear of the white gutters

# DejaVu Sans typographic ascender and descender, (1556, 492) / 2048 em.
ASCENT, DESCENT = 0.76, 0.24
LINE_SPACING = 1.15

Extent = tuple[float, float, float, float]  # x0, y0, x1, y1 in inches


@dataclass(frozen=True)
class CellBox:
    """A cell's rectangle in inches."""

    likelihood: int
    impact: int
    x: float
    y: float
    w: float
    h: float

    @property
    def centre(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h / 2


def grid_boxes(scales: Scales) -> list[CellBox]:
    """Where every cell sits: impact left to right, likelihood bottom to top."""
    cell_w = (GRID_RIGHT - GRID_LEFT) / scales.max_impact
    cell_h = (GRID_TOP - GRID_BOTTOM) / scales.max_likelihood
    return [
        CellBox(li, im, GRID_LEFT + (im - 1) * cell_w, GRID_BOTTOM + (li - 1) * cell_h, cell_w, cell_h)
        for li in range(1, scales.max_likelihood + 1)
        for im in range(1, scales.max_impact + 1)
    ]


# --------------------------------------------------------------------------- type


@cache
def font_file(bold: bool = False) -> str:
    """The DejaVu Sans bundled with matplotlib: the same matplotlib draws the same glyphs everywhere."""
    import matplotlib as mpl

    return f"{mpl.get_data_path()}/fonts/ttf/DejaVuSans{'-Bold' if bold else ''}.ttf"


def font_prop(size: float, bold: bool = False) -> Any:
    from matplotlib.font_manager import FontProperties

    return FontProperties(fname=font_file(bold), size=size)


@lru_cache(maxsize=1024)
def _glyph(path: str, char: str) -> tuple[Any, Any, float]:
    """Outline (vertices at 1 pt, codes) and advance width of one character, unhinted."""
    import numpy as np
    from matplotlib.font_manager import get_font
    from matplotlib.ft2font import LoadFlags

    font = get_font(path)
    font.set_size(100, 72)  # outlines at 100 pt for precision, scaled to 1 pt below
    glyph = font.load_glyph(font.get_char_index(ord(char)), flags=LoadFlags.NO_HINTING)
    vertices, codes = font.get_path()
    return np.asarray(vertices, dtype=float) / 100, np.asarray(codes), glyph.linearHoriAdvance / 65536 / 100


@lru_cache(maxsize=2048)  # a few kB each: a bounded few MB, enough for every line of a 1,000-risk map
def _line(path: str, text: str) -> tuple[Any, Any, float]:
    """A line's outline at 1 pt with its baseline at y = 0, and its advance width."""
    import numpy as np

    parts_v, parts_c, x = [], [], 0.0
    for char in text:
        vertices, codes, advance = _glyph(path, char)
        if len(vertices):
            parts_v.append(vertices + (x, 0.0))
            parts_c.append(codes)
        x += advance
    if not parts_v:
        return np.zeros((0, 2)), np.zeros(0, dtype=np.uint8), x
    return np.concatenate(parts_v), np.concatenate(parts_c), x


def text_width(text: str, size: float, bold: bool = False) -> float:
    """Advance width in points (unkerned: DejaVu's kerning only ever tightens, so Text is never wider)."""
    path = font_file(bold)
    return sum(_glyph(path, char)[2] for char in text) * size


def one_line(text: str) -> str:
    """Line breaks and tabs as spaces: every text here has one line's room."""
    return text.translate(_WHITESPACE)


_WHITESPACE = {ord(c): " " for c in "\n\r\t\v\f"}


def fit(text: str, size: float, room: float, bold: bool = False) -> str:
    """`text` on one line, shortened with an ellipsis until it fits in `room` points."""
    text = one_line(text)
    if text_width(text, size, bold) <= room:
        return text
    while text and text_width(text + "…", size, bold) > room:
        text = text[:-1]
    return text + "…" if text else ""


@dataclass
class _Ink:
    """In-cell text: laid out from the cached outlines, drawn as one path per colour.

    With `as_text`, the same lines become Text artists instead (for SVG, where matplotlib
    writes each glyph once and reuses it, so the file stays small). matplotlib kerns, so a
    Text line is never wider than the outline width the layout used.
    """

    as_text: bool = False
    parts: dict[str, list[tuple[Any, Any]]] = field(default_factory=dict)
    texts: list[tuple[str, float, float, float, str, str, bool]] = field(default_factory=list)

    def line(
        self, text: str, size: float, x: float, baseline: float, colour: str, ha: str, bold: bool = False
    ) -> Extent:
        """Place one line; x is its left, centre or right (`ha`) in inches. Returns its ink extent."""
        vertices, codes, width = _line(font_file(bold), text)
        scale = size / 72
        left = x - {"left": 0.0, "center": width * scale / 2, "right": width * scale}[ha]
        if not len(vertices):
            return (left, baseline, left, baseline)
        placed = vertices * scale + (left, baseline)
        if self.as_text:
            self.texts.append((text, size, x, baseline, colour, ha, bold))
        else:
            self.parts.setdefault(colour, []).append((placed, codes))
        low, high = placed.min(axis=0), placed.max(axis=0)
        return (float(low[0]), float(low[1]), float(high[0]), float(high[1]))

    def draw(self, figure: Figure) -> None:
        import numpy as np
        from matplotlib.patches import PathPatch
        from matplotlib.path import Path

        for text, size, x, baseline, colour, ha, bold in self.texts:
            add_text(figure, x, baseline, text, size, bold, color=colour, ha=ha, va="baseline", zorder=4)
        for colour, parts in sorted(self.parts.items()):
            path = Path(np.concatenate([v for v, _ in parts]), np.concatenate([c for _, c in parts]))
            patch = PathPatch(path, facecolor=colour, edgecolor="none", linewidth=0, zorder=4)
            patch.set_transform(figure.dpi_scale_trans)
            figure.add_artist(patch)


def add_text(figure: Figure, x: float, y: float, text: str, size: float, bold: bool = False, **style: Any) -> Any:
    """A matplotlib Text at (x, y) inches; parse_math=False so a "$" prints rather than starts mathtext."""
    return figure.text(
        x,
        y,
        text,
        transform=figure.dpi_scale_trans,
        fontproperties=font_prop(size, bold),
        parse_math=False,
        usetex=False,
        **style,
    )


# --------------------------------------------------------------------------- colours


def fill_of(band: Band, palette: str) -> str:
    return band.colourblind_fill if palette == "colourblind" else band.fill


def ink_on(fill: str) -> str:
    """Near-black or white on `fill`, whichever contrasts more (WCAG relative luminance)."""

    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(fill[i : i + 2]) for i in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return INK if (luminance + 0.05) / 0.05 >= 1.05 / (luminance + 0.05) else "#FFFFFF"


# --------------------------------------------------------------------------- the figure


def new_figure(dpi: float = 150) -> Figure:
    """A blank figure of the heatmap's fixed size on an Agg canvas, with no layout engine (fixed margins)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(FIG_W, FIG_H), dpi=dpi, facecolor="white")
    figure.set_layout_engine("none")
    FigureCanvasAgg(figure)
    return figure


def build_figure(
    spec: HeatmapSpec, figure: Figure | None = None, *, cell_text_as_text: bool = False
) -> tuple[Figure, list[tuple[Extent, CellBox]]]:
    """Draw `spec` on `figure` (a new one by default); also return the ink extent of every in-cell text."""
    if figure is None:
        figure = new_figure()
    boxes = grid_boxes(spec.scales)
    _draw_fills(figure, spec, boxes)
    if spec.appetite is not None:
        _draw_outlines(figure, spec, spec.appetite, boxes)
    ink = _Ink(as_text=cell_text_as_text)
    gaps: dict[tuple[int, int], tuple[float, float]] = {}
    placed = list(_cell_texts(ink, spec, boxes, gaps))
    ink.draw(figure)
    if spec.arrows:
        _draw_arrows(figure, spec, boxes, gaps)
    _draw_axes(figure, spec, boxes[0])
    _draw_titles(figure, spec)
    _draw_key(figure, spec)
    return figure, placed


def _draw_fills(figure: Figure, spec: HeatmapSpec, boxes: list[CellBox]) -> None:
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    collection = PatchCollection(
        [Rectangle((b.x, b.y), b.w, b.h) for b in boxes],
        facecolors=[fill_of(spec.scales.band_at(b.likelihood, b.impact), spec.palette) for b in boxes],
        edgecolors="white",
        linewidths=1.5,
        transform=figure.dpi_scale_trans,
        zorder=1,
    )
    figure.add_artist(collection)


def _draw_outlines(figure: Figure, spec: HeatmapSpec, appetite: CategoryAppetite, boxes: list[CellBox]) -> None:
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    inset = _OUTLINE_INSET
    for zone, linestyle in ZONE_LINESTYLES.items():
        chosen = [b for b in boxes if judge(b.likelihood, b.impact, appetite, spec.scales) is zone]
        if not chosen:
            continue
        collection = PatchCollection(
            [Rectangle((b.x + inset, b.y + inset), b.w - 2 * inset, b.h - 2 * inset) for b in chosen],
            facecolors="none",
            edgecolors=[ink_on(fill_of(spec.scales.band_at(b.likelihood, b.impact), spec.palette)) for b in chosen],
            linewidths=ZONE_LINEWIDTH,
            linestyles=[linestyle],
            transform=figure.dpi_scale_trans,
            zorder=2,
        )
        figure.add_artist(collection)


def _jitter(key: str) -> tuple[float, float]:
    """A stable pair in [-1, 1] from `key` (hashlib: Python's own hash() changes per process)."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return digest[0] / 127.5 - 1, digest[1] / 127.5 - 1


def _sign(value: int) -> int:
    return (value > 0) - (value < 0)


def arrow_ends(
    start: CellBox, end: CellBox, gap: tuple[float, float] | None = None
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Where the arrow for a move from `start` to `end` begins and ends, in inches.

    Arrows are short and straddle the border they cross, clear of the text in the middle of
    the cells: sideways moves run in the free lane at the bottom of the cells; up and down
    moves end in the lower cell's top strip, in the `gap` (x from, x to, inches) between its
    count and its band label. Opposite moves between two cells lie side by side (up right of
    down, rightwards below leftwards), and a small stable jitter separates arrows that would
    otherwise share a line.
    """
    di, dl = end.impact - start.impact, end.likelihood - start.likelihood
    ux, uy = _sign(di), _sign(dl)
    w, h = start.w, start.h
    jx, jy = _jitter(f"{start.likelihood},{start.impact}>{end.likelihood},{end.impact}")
    if dl == 0:
        off_x, off_y = 0.0, (-0.4 + jy * 0.03 if di > 0 else -0.28 + jy * 0.03) * h
    elif di == 0:
        low, high = gap if gap is not None else (start.x + 0.3 * w, start.x + 0.5 * w)
        share = (0.68 if dl > 0 else 0.32) + jx * 0.05
        off_x, off_y = low + share * (high - low) - start.centre[0], 0.0
    else:
        off_x, off_y = (uy * 0.07 + jx * 0.03) * w, (-ux * 0.07 + jy * 0.03) * h
    # An end in a cell's upper half sits in the top strip, a little nearer the edge.
    tail = 0.36 if uy > 0 else 0.3
    head = 0.36 if uy < 0 else 0.3
    (sx, sy), (ex, ey) = start.centre, end.centre
    return (
        (sx + off_x + tail * ux * w, sy + off_y + tail * uy * h),
        (ex + off_x - head * ux * w, ey + off_y - head * uy * h),
    )


def moves(spec: HeatmapSpec) -> dict[tuple[tuple[int, int], tuple[int, int]], int]:
    """How many risks moved from each cell to each other cell: one arrow each."""
    counted: dict[tuple[tuple[int, int], tuple[int, int]], int] = {}
    for point in spec.points:
        here = (point.likelihood, point.impact)
        if point.previous is not None and point.previous != here:
            key = (point.previous, here)
            counted[key] = counted.get(key, 0) + 1
    return dict(sorted(counted.items()))


def _draw_arrows(
    figure: Figure, spec: HeatmapSpec, boxes: list[CellBox], gaps: dict[tuple[int, int], tuple[float, float]]
) -> None:
    """One arrow per (from cell, to cell) pair, thicker for more risks."""
    from matplotlib.patches import FancyArrowPatch
    from matplotlib.patheffects import Normal, Stroke

    where = {(b.likelihood, b.impact): b for b in boxes}
    for (start, end), count in moves(spec).items():
        tail, head = arrow_ends(where[start], where[end], gaps.get(min(start, end)))
        width = min(3.2, 0.9 + 0.55 * math.log2(count))
        arrow = FancyArrowPatch(
            tail,
            head,
            arrowstyle="-|>",
            mutation_scale=6 + 2.2 * width,
            color=ARROW_INK,
            alpha=0.85,
            linewidth=width,
            shrinkA=0,
            shrinkB=0,
            transform=figure.dpi_scale_trans,
            zorder=3,
            # A pale casing keeps arrows visible on the dark Critical fill.
            path_effects=[Stroke(linewidth=width + 1.6, foreground="white", alpha=0.8), Normal()],
        )
        figure.add_artist(arrow)


def type_sizes(scales: Scales) -> tuple[float, float]:
    """(count size, reference size) in points: smaller type on denser grids."""
    cells = max(scales.max_likelihood, scales.max_impact)
    return {3: (16.0, 8.5), 4: (14.0, 8.0), 5: (12.0, 7.0), 6: (11.0, 6.5)}.get(cells, (10.0, 6.0))


def _cell_texts(
    ink: _Ink, spec: HeatmapSpec, boxes: list[CellBox], gaps: dict[tuple[int, int], tuple[float, float]]
) -> Iterator[tuple[Extent, CellBox]]:
    """Per cell: the count (bold, top left), band and score (top right), references below.

    Records in `gaps` each cell's free stretch of the top strip, where vertical arrows end.
    """
    count_size, ref_size = type_sizes(spec.scales)
    pitch = LINE_SPACING * ref_size / 72  # inches between reference baselines
    for box in boxes:
        score = box.likelihood * box.impact
        band = spec.scales.band(score)
        colour = ink_on(fill_of(band, spec.palette))
        refs = spec.cells[(box.likelihood, box.impact)]
        room = (box.w - 2 * CELL_PAD) * 72
        top = box.y + box.h - CELL_PAD
        count = str(len(refs)) if refs else ""
        count_width = text_width(count, count_size, bold=True) if refs else 0.0
        # Leave room between count and label for the vertical arrows' ends when they are drawn.
        label = _band_label(band.name, score, ref_size, room - count_width - (16 if spec.arrows else 6))
        label_width = text_width(label, ref_size)
        gaps[(box.likelihood, box.impact)] = (
            box.x + CELL_PAD + (count_width + 2) / 72,
            box.x + box.w - CELL_PAD - (label_width + 2) / 72,
        )
        if label:
            x = box.x + box.w - CELL_PAD
            yield ink.line(label, ref_size, x, top - ASCENT * ref_size / 72, colour, "right"), box
        if not refs:
            continue
        baseline = top - ASCENT * count_size / 72
        yield ink.line(count, count_size, box.x + CELL_PAD, baseline, colour, "left", bold=True), box
        first = baseline - (DESCENT * count_size + 2 + ASCENT * ref_size) / 72  # first reference baseline
        floor = box.y + CELL_PAD + (ARROW_LANE * box.h if spec.arrows else 0.0) + DESCENT * ref_size / 72
        if first < floor:
            continue
        lines = _pack(refs, ref_size, room, min(spec.max_ref_lines, 1 + int((first - floor) / pitch)))
        for number, text in enumerate(lines):
            yield ink.line(text, ref_size, box.x + box.w / 2, first - number * pitch, colour, "center"), box


def _band_label(name: str, score: int, size: float, room: float) -> str:
    """The longest of 'High · 12', 'High', '12' that fits: colour must never be the only cue."""
    for candidate in (f"{name} · {score}", name, str(score)):
        if text_width(candidate, size) <= room:
            return candidate
    return ""


def _pack(refs: list[str], size: float, room: float, max_lines: int) -> list[str]:
    """References flowed into at most `max_lines` lines of `room` points, the last "+N more" if needed."""
    lines = _flow(refs, size, room, max_lines)
    if sum(len(line) for line in lines) < len(refs):
        lines = _flow(refs, size, room, max_lines - 1)
        hidden = len(refs) - sum(len(line) for line in lines)
        lines.append([fit(f"+{hidden} more", size, room)])
    return [", ".join(line) for line in lines]


def _flow(refs: list[str], size: float, room: float, max_lines: int) -> list[list[str]]:
    lines: list[list[str]] = []
    used = 0.0
    separator = text_width(", ", size)
    for ref in refs:
        ref = one_line(ref)
        width = text_width(ref, size)
        if lines and used + separator + width <= room:
            lines[-1].append(ref)
            used += separator + width
            continue
        if len(lines) == max_lines:
            break
        if width > room:
            ref = fit(ref, size, room)
            width = text_width(ref, size)
        lines.append([ref])
        used = width
    return lines


def _draw_axes(figure: Figure, spec: HeatmapSpec, first: CellBox) -> None:
    """Level names beside and under the grid, and the two axis titles."""
    scales = spec.scales
    name_size, detail_size = 8.5, 7.5
    room = (GRID_LEFT - 0.5) * 72
    for level in scales.likelihood:
        y = first.y + (level.value - 0.5) * first.h
        name = fit(f"{level.value}  {level.label}", name_size, room, bold=True)
        add_text(figure, GRID_LEFT - 0.1, y + 0.02, name, name_size, bold=True, color=INK, ha="right", va="baseline")
        if level.probability_text:
            detail = fit(level.probability_text, detail_size, room)
            add_text(figure, GRID_LEFT - 0.1, y - 0.03, detail, detail_size, color=MUTED, ha="right", va="top")
    middle = first.y + scales.max_likelihood * first.h / 2
    add_text(figure, MARGIN, middle, "Likelihood →", 10, bold=True, color=INK, rotation=90, ha="center", va="center")
    for level in scales.impact:
        x = first.x + (level.value - 0.5) * first.w
        name = fit(f"{level.value}  {level.label}", name_size, first.w * 72 - 4, bold=True)
        add_text(figure, x, GRID_BOTTOM - 0.1, name, name_size, bold=True, color=INK, ha="center", va="top")
    middle = (GRID_LEFT + GRID_RIGHT) / 2
    add_text(figure, middle, GRID_BOTTOM - 0.36, "Impact →", 10, bold=True, color=INK, ha="center", va="top")


def _draw_titles(figure: Figure, spec: HeatmapSpec) -> None:
    room = (FIG_W - 2 * MARGIN) * 72
    add_text(figure, MARGIN, FIG_H - 0.22, fit(spec.title, 14, room, bold=True), 14, bold=True, color=INK, va="top")
    count = len(spec.points)
    parts = [KIND_LABELS[spec.kind], f"{count} risk{'' if count == 1 else 's'}"]
    if spec.appetite is not None:
        parts.append(f"outlines: appetite for {spec.appetite.category} ({spec.appetite.level.label.lower()})")
    if spec.arrows:
        parts.append("arrows: moves since the previous cycle")
    add_text(figure, MARGIN, FIG_H - 0.5, fit(" · ".join(parts), 9.5, room), 9.5, color=MUTED, va="top")


def zone_labels(appetite: CategoryAppetite) -> dict[Zone, str]:
    if appetite.tolerance_max > appetite.appetite_max:
        above = f"Above appetite ({appetite.appetite_max + 1}–{appetite.tolerance_max})"
    else:
        above = "Above appetite"
    return {
        Zone.WITHIN_APPETITE: f"Within appetite (≤ {appetite.appetite_max})",
        Zone.ABOVE_APPETITE: above,
        Zone.OUTSIDE_TOLERANCE: f"Outside tolerance (> {appetite.tolerance_max}, or Critical)",
    }


def _draw_key(figure: Figure, spec: HeatmapSpec) -> None:
    """The key under the grid: bands on one row, then outline styles and arrows (wrapping); then footnotes."""
    from matplotlib.collections import LineCollection, PatchCollection
    from matplotlib.patches import FancyArrowPatch, Rectangle

    size, sample, gap, row_gap = 8.0, 0.34, 0.3, 0.23  # type size in points; the rest in inches
    items: list[tuple[str, str, Any]] = [
        ("band", f"{b.name} ({b.min_score}–{b.max_score})", b) for b in spec.scales.bands
    ]
    if spec.appetite is not None:
        present = {judge(b.likelihood, b.impact, spec.appetite, spec.scales) for b in grid_boxes(spec.scales)}
        labels = zone_labels(spec.appetite)
        items += [("zone", labels[zone], style) for zone, style in ZONE_LINESTYLES.items() if zone in present]
    if spec.arrows:
        items.append(("arrow", "Moved since the previous cycle (thicker: more risks)", None))
    swatches, fills, segments, styles = [], [], [], []
    x, y = MARGIN, GRID_BOTTOM - 0.68
    for number, (kind, label, detail) in enumerate(items):
        width = sample + 0.08 + text_width(label, size) / 72
        new_group = kind != "band" and items[number - 1][0] == "band"
        if x > MARGIN and (new_group or x + width > FIG_W - MARGIN):
            x, y = MARGIN, y - row_gap
        if kind == "band":
            swatches.append(Rectangle((x, y - 0.08), sample, 0.16))
            fills.append(fill_of(detail, spec.palette))
        elif kind == "zone":
            segments.append([(x, y), (x + sample, y)])
            styles.append(detail)
        else:
            arrow = FancyArrowPatch(
                (x, y), (x + sample, y), arrowstyle="-|>", mutation_scale=8, color=ARROW_INK, alpha=0.85,
                linewidth=1.2, shrinkA=0, shrinkB=0, transform=figure.dpi_scale_trans,
            )  # fmt: skip
            figure.add_artist(arrow)
        text = fit(label, size, (FIG_W - MARGIN - x - sample - 0.08) * 72)
        add_text(figure, x + sample + 0.08, y, text, size, color=INK, va="center_baseline")
        x += width + gap
    transform = figure.dpi_scale_trans
    figure.add_artist(
        PatchCollection(swatches, facecolors=fills, edgecolors=MUTED, linewidths=0.5, transform=transform)
    )
    if segments:
        figure.add_artist(
            LineCollection(segments, colors=INK, linewidths=ZONE_LINEWIDTH, linestyles=styles, transform=transform)
        )
    y -= 0.24
    for line in spec.footnote:
        add_text(figure, MARGIN, y, fit(line, 7.5, (FIG_W - 2 * MARGIN) * 72), 7.5, color=MUTED, va="top")
        y -= 0.15
