"""Preview cost of importing a 10,000-row register: read_register + plan_import, time and peak memory.

Run: .venv/bin/python bench/import_bench.py [--rows N] [--repeat K]
Targets (R6): under 10 s and 300 MB for 10,000 rows. Prints one line per input shape.
"""

from __future__ import annotations

import argparse
import csv
import gc
import io
import random
import resource
import statistics
import time
import tracemalloc
from datetime import date, timedelta

from riskreg import paths
from riskreg.importer import Limits, plan_import, read_register
from riskreg.scoring import Scales, load_scales

HEADER = [
    "Ref", "Risk title", "Cause", "Event", "Consequence", "Category", "Department", "Risk owner",
    "Inherent likelihood", "Inherent impact", "Residual likelihood", "Residual impact", "Residual score",
    "Status", "Treatment option", "Existing controls", "Mitigation", "Due date", "Target date", "Comments",
]  # fmt: skip
LABELS = ["Rare", "Unlikely", "Possible", "Likely", "Almost certain"]


def register_rows(count: int, seed: int = 1) -> list[list[object]]:
    rng = random.Random(seed)
    rows: list[list[object]] = []
    for n in range(count):
        li, ii = rng.randint(1, 5), rng.randint(1, 5)
        lr, ir = rng.randint(1, li), rng.randint(1, ii)
        due = date(2026, 1, 1) + timedelta(days=rng.randint(0, 700))
        rows.append([
            f"DEP-2026-{n:05d}", f"Risk {n}: {rng.choice(['late', 'lost', 'failed', 'unclear'])} "
            f"{rng.choice(['contributions', 'servers', 'contracts', 'events'])}",
            f"cause number {n} with some explanation of why it happens, {rng.random():.6f}",
            f"the event {n} occurs and disrupts the work of the unit",
            f"consequence {n}: delays, costs and questions from members",
            rng.choice(["FIN", "OPS", "ICT", "Financial", "People"]), "GS-FRMD",
            rng.choice(["Chief, Budget", "Head, Operations", "Director"]),
            LABELS[li - 1] if n % 3 == 0 else li, ii, lr, ir, lr * ir,
            rng.choice(["Active", "Open", "Draft"]), rng.choice(["Treat", "Tolerate"]),
            "Monthly review\nDual signature", f"- action {n} first\n- action {n} second", due,
            due + timedelta(days=90), "note" if n % 7 == 0 else None,
        ])  # fmt: skip
    return rows


def as_openpyxl(rows: list[list[object]]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Register")
    ws.append(["Department register 2026"])
    ws.append([])
    ws.append(HEADER)
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def as_xlsxwriter(rows: list[list[object]]) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    dates = book.add_format({"num_format": "dd/mm/yyyy"})
    sheet = book.add_worksheet("Register")
    sheet.write_row(0, 0, HEADER)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if isinstance(value, date):
                sheet.write_datetime(r, c, value, dates)
            elif value is not None:
                sheet.write(r, c, value)
    book.close()
    return buffer.getvalue()


def as_csv(rows: list[list[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow([v.strftime("%d/%m/%Y") if isinstance(v, date) else ("" if v is None else v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def existing_for(data: bytes, name: str, scales: Scales) -> dict[str, dict[str, object]]:
    """Half the register already in the database, one field in ten changed, as the preview will find it."""
    result = read_register(data, name, scales)
    existing: dict[str, dict[str, object]] = {}
    for n, row in enumerate(result.rows):
        if n % 2 == 0:
            values = dict(row.values)
            if n % 10 == 0:
                values["owner_title"] = "Someone else"
            existing[row.ref] = values
    return existing


def preview(
    data: bytes, name: str, scales: Scales, existing: dict[str, dict[str, object]], limits: Limits | None = None
) -> tuple[float, float, dict[str, int]]:
    started, cpu = time.perf_counter(), time.process_time()
    result = read_register(data, name, scales, limits=limits)
    plan = plan_import(result, existing)
    return time.perf_counter() - started, time.process_time() - cpu, plan.counts()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    scales = load_scales(paths.SCALES_FILE)
    rows = register_rows(args.rows)
    shapes = {"openpyxl .xlsx": (as_openpyxl(rows), "r.xlsx"), "XlsxWriter .xlsx": (as_xlsxwriter(rows), "r.xlsx"),
              "CSV ; BOM": (as_csv(rows), "r.csv")}  # fmt: skip
    print(f"preview = read_register + plan_import of {args.rows:,} rows; targets < 10 s, < 300 MB")
    print(f"{'input':18} {'size':>8} {'wall s':>7} {'cpu s':>6} {'peak MB':>8} {'max RSS MB':>10}  plan")
    for label, (data, name) in shapes.items():
        existing = existing_for(data, name, scales)
        gc.collect()
        walls, cpus = [], []
        counts: dict[str, int] = {}
        for _ in range(args.repeat):
            wall, cpu, counts = preview(data, name, scales, existing)
            walls.append(wall)
            cpus.append(cpu)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # the process's high-water mark so far
        tracemalloc.start()  # tracing slows Python several times over: no time budget for this run
        preview(data, name, scales, existing, Limits(max_seconds=3600))
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        print(
            f"{label:18} {len(data) / 1e6:7.1f}M {statistics.median(walls):7.2f} {statistics.median(cpus):6.2f} "
            f"{peak:8.0f} {rss:10.0f}  {counts}"
        )
    print("wall = median elapsed (noisy on a shared machine); cpu = median process CPU time; peak = tracemalloc peak")


if __name__ == "__main__":
    main()
