"""Hostile import files: time per file through the importer (target < 2 s each, security.md test #9).

The corpus is the one tests/test_import_hostile.py builds; the tests assert the outcome and the memory peak,
this script the time, since timing assertions do not belong in tests on a shared, noisy machine.
Run: .venv/bin/python bench/hostile_bench.py  (prints one line per file, slowest first, then the maximum).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.test_import_hostile import CORPUS, _outcome  # noqa: E402

REPEATS = 3


def main() -> None:
    timings: list[tuple[float, str]] = []
    for case in CORPUS:
        data = case.build()
        runs = []
        for _ in range(REPEATS):
            started = time.perf_counter()
            _outcome(data, case.filename)
            runs.append(time.perf_counter() - started)
        timings.append((statistics.median(runs), case.build.__name__))
    timings.sort(reverse=True)
    for seconds, name in timings:
        print(f"{seconds * 1000:9.1f} ms  {name}")
    slowest = timings[0][0]
    verdict = "met" if slowest < 2 else "MISSED"
    print(f"hostile files: {len(timings)}, slowest median {slowest:.3f} s (target < 2 s): {verdict}")


if __name__ == "__main__":
    main()
