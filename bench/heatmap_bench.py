"""Heatmap render time: first render in a fresh process and steady state (median), PNG and SVG.

Run: .venv/bin/python bench/heatmap_bench.py [--repeat 15] [--sizes 60,1000,10000]

Each (size, format, arrows) combination runs in its own subprocess. "import" is importing
riskreg.heatmap (matplotlib is not imported yet); "first" is the first render, which pays
for importing matplotlib and loading fonts, as a freshly started app worker would; "steady"
is the median of repeated renders of the same register ("cpu" the median CPU time of those, a
figure that holds up when other processes share the cores); "new spec" is one render of another
register of the same size in the warm process (what changing a filter costs). The specs have
the appetite overlay on. Target (issue 5): steady-state 1,000-risk PNG under 150 ms here.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from riskreg.heatmap import HeatmapSpec

UNITS = ("FRMD", "BDT", "TSB", "BR", "SPM", "HRMD", "ISD", "CR")


def make_spec(n: int, arrows: bool, seed: int = 7) -> HeatmapSpec:
    """A register of n risks: residuals skewed to the middle, 40 % moved one step since last cycle."""
    from riskreg.appetite import load_statement
    from riskreg.heatmap import HeatmapSpec, HeatPoint
    from riskreg.paths import SCALES_FILE, STATEMENTS_DIR
    from riskreg.scoring import load_scales

    scales = load_scales(SCALES_FILE)
    statement = load_statement(STATEMENTS_DIR / "2.0.toml", scales)
    rnd = random.Random(seed)
    points = []
    for k in range(n):
        unit = rnd.choice(UNITS)
        ref = f"CR-{k + 1:02d}" if unit == "CR" else f"{unit}-2025-{k + 1:03d}"
        li = max(1, min(5, round(rnd.triangular(1, 5, 3))))
        im = max(1, min(5, round(rnd.triangular(1, 5, 3.5))))
        roll = rnd.random()
        previous: tuple[int, int] | None = (li, im)
        if roll < 0.25:
            previous = (max(1, min(5, li + rnd.choice((-1, 1)))), im)
        elif roll < 0.4:
            previous = (li, max(1, min(5, im + rnd.choice((-1, 1)))))
        elif roll > 0.9:
            previous = None
        points.append(HeatPoint(ref, li, im, previous))
    return HeatmapSpec(
        scales=scales,
        kind="residual",
        points=points,
        title="Residual risk heatmap — cycle 2026-Q2",
        footnote=(
            "Cycle 2026-Q2 · Risk Appetite Statement 2.0 (Council 2020, C20/61)",
            "Filters: all units · all categories",
            "As at 2026-06-30",
        ),
        appetite=statement.for_category("FIN"),
        arrows=arrows,
    )


def measure(n: int, fmt: str, arrows: bool, repeat: int) -> dict[str, float]:
    t0 = time.perf_counter()
    from riskreg.heatmap import render_png, render_svg

    imported = time.perf_counter() - t0
    spec = make_spec(n, arrows)
    render = render_png if fmt == "png" else render_svg
    t0 = time.perf_counter()
    data = render(spec)
    first = time.perf_counter() - t0
    times, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        render(spec)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    # Another register of the same size: what a new filter costs once the process is warm.
    other = make_spec(n, arrows, seed=11)
    t0 = time.perf_counter()
    render(other)
    fresh = time.perf_counter() - t0
    return {
        "import_ms": imported * 1000,
        "first_ms": first * 1000,
        "steady_ms": statistics.median(times) * 1000,
        "min_ms": min(times) * 1000,
        "cpu_ms": statistics.median(cpu) * 1000,
        "new_spec_ms": fresh * 1000,
        "bytes": len(data),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--sizes", default="60,1000,10000")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        n, fmt, arrows = args.child.split(":")
        print(json.dumps(measure(int(n), fmt, arrows == "1", args.repeat)))
        return
    print(
        f"{'risks':>6} {'fmt':>4} {'arrows':>6} {'import ms':>9} {'first ms':>9} {'steady ms':>10} {'min ms':>7}"
        f" {'cpu ms':>7}"
        f" {'new spec ms':>12} {'bytes':>9}"
    )
    for n in (int(s) for s in args.sizes.split(",")):
        for fmt in ("png", "svg"):
            for arrows in (False, True):
                out = subprocess.run(
                    [sys.executable, __file__, "--child", f"{n}:{fmt}:{int(arrows)}", "--repeat", str(args.repeat)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                r = json.loads(out.stdout)
                print(
                    f"{n:>6} {fmt:>4} {'yes' if arrows else 'no':>6} {r['import_ms']:>9.1f} {r['first_ms']:>9.0f}"
                    f" {r['steady_ms']:>10.1f} {r['min_ms']:>7.1f} {r['cpu_ms']:>7.1f}"
                    f" {r['new_spec_ms']:>12.1f} {r['bytes']:>9,}"
                )


if __name__ == "__main__":
    main()
