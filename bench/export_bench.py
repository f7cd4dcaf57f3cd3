"""Council workbook export: time and peak memory of RiskReg's writer beside XlsxWriter's.

    .venv/bin/python bench/export_bench.py                      # 1,000 / 10,000 / 50,000 risks
    .venv/bin/python bench/export_bench.py --sizes 1000 --repeat 3
    .venv/bin/python bench/export_bench.py --sample out.xlsx --risks 60 [--audience council]

Every measurement runs in a fresh subprocess (peak RSS is per process). Each risk has three
actions. Both engines write the *same plan* (`riskreg.workbook.plan_workbook`): the same
sheets, cells, values and looks. RiskReg streams it into openpyxl's write-only mode
(`build_council_workbook`); the reference below streams it into XlsxWriter's
constant_memory mode with one Format per look. Timed: planning + writing + zipping, i.e.
everything after the snapshot exists. Targets (issue 6): ratio <= 2.0, peak < 200 MB at 50k.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import random
import resource
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from riskreg import paths  # noqa: E402
from riskreg.appetite import judge, load_categories, load_statement  # noqa: E402
from riskreg.scoring import Scales, load_scales  # noqa: E402
from riskreg.snapshot import ActionRow, RiskRow, Snapshot, row_to_json  # noqa: E402
from riskreg.workbook import CouncilInputs, build_council_workbook, load_layout, plan_workbook  # noqa: E402
from riskreg.workbook.plan import Look, WorkbookPlan  # noqa: E402

# ------------------------------------------------------------------------------ realistic data

UNITS = {
    "GS-FRMD": ("Financial Resources Management Department", "Chief, Financial Resources Management"),
    "GS-HRMD": ("Human Resources Management Department", "Chief, Human Resources Management"),
    "GS-IS": ("Information Services Department", "Chief Information Officer"),
    "GS-CPD": ("Conferences and Publications Department", "Chief, Conferences and Publications"),
    "GS-SPM": ("Strategic Planning and Membership Department", "Chief, Strategic Planning and Membership"),
    "GS-LEG": ("Legal Affairs Unit", "Legal Adviser"),
    "GS-SSS": ("Safety and Security Service", "Head, Safety and Security"),
    "BDT": ("Development Bureau", "Director, Development Bureau"),
    "TSB": ("Standardization Bureau", "Director, Standardization Bureau"),
    "BR": ("Radiocommunication Bureau", "Director, Radiocommunication Bureau"),
    "RO-AFR": ("Regional Office for Africa", "Regional Director, Africa"),
    "RO-ASP": ("Regional Office for Asia and the Pacific", "Regional Director, Asia and the Pacific"),
}

# (category, unit, title, cause, event, consequence, key controls)
# fmt: off
RISKS = [
    ("FIN", "GS-FRMD", "Arrears in assessed contributions strain cash flow",
     "several Member States pay their assessed contributions late or in part",
     "cash reserves fall below three months of operating expenditure",
     "force the deferral of programme activities and recruitment",
     "Monthly cash-flow forecast; Working Capital Fund; reminders to Member States in arrears"),
    ("FIN", "GS-FRMD", "Exchange-rate losses on USD-denominated income",
     "a large share of voluntary contributions is received in US dollars while costs are in Swiss francs",
     "the franc appreciates sharply against the dollar during the biennium",
     "reduce the real value of extra-budgetary funds and create a budget shortfall",
     "Treasury policy; forward purchase of CHF for known commitments"),
    ("FIN", "GS-FRMD", "Unfunded after-service health insurance liability grows",
     "the ASHI liability is only partly funded and actuarial assumptions change",
     "the liability rises faster than the funding plan", "weaken the balance sheet and draw on the regular budget",
     "Actuarial valuation every year; funding plan approved by Council"),
    ("ICT", "GS-IS", "Ransomware attack disables core systems",
     "phishing and unpatched remote-access services remain the main entry points",
     "ransomware encrypts the ERP and document management systems",
     "halt finance, HR and conference services for several weeks and expose member data",
     "Endpoint detection; offline backups tested quarterly; phishing simulations"),
    ("ICT", "GS-IS", "Personal data breach in the membership portal",
     "the portal stores personal data of delegates and sector members with legacy access controls",
     "personal data are disclosed to unauthorized parties",
     "breach the data protection policy and damage members' trust",
     "Role-based access; annual penetration test; data protection focal points"),
    ("ICT", "GS-IS", "Loss of the primary data centre",
     "the primary data centre has a single power feed and ageing cooling",
     "the data centre is unavailable for more than 48 hours",
     "interrupt remote participation and electronic meetings",
     "Secondary site with nightly replication; UPS and generator"),
    ("OPS", "GS-CPD", "Major conference disrupted by host-country arrangements",
     "host-country agreements are signed late and logistics depend on the host",
     "venue, visas or connectivity are not ready for a plenipotentiary-scale conference",
     "force postponement and cause reputational and financial loss",
     "Host-country agreement template; readiness missions at 12, 6 and 2 months"),
    ("OPS", "GS-CPD", "Translation capacity falls short during peak meetings",
     "peak meeting periods overlap and the freelance pool is shrinking",
     "documents are not available in all official languages six weeks before meetings",
     "breach the rules of procedure and delay decisions",
     "Document planning calendar; machine-assisted translation; freelance roster"),
    ("OPS", "GS-FRMD", "Procurement irregularities in large ICT contracts",
     "a few staff handle complex ICT tenders with limited segregation of duties",
     "a contract is awarded without proper competition", "cause financial loss and audit findings",
     "Contracts committee review above CHF 200,000; procurement training"),
    ("PPL", "GS-HRMD", "Loss of critical expertise through retirements",
     "a third of senior technical staff will retire within five years",
     "critical knowledge leaves without successors in place",
     "weaken the quality of standards and radio-frequency work",
     "Workforce plan; succession planning for critical posts"),
    ("PPL", "GS-HRMD", "Staff wellbeing deteriorates under sustained workload",
     "workloads rose after budget freezes and vacancies stay open", "sick leave and turnover increase markedly",
     "reduce delivery capacity and expose the organization to claims",
     "Staff survey; wellbeing programme; flexible working policy"),
    ("SAF", "GS-SSS", "Security incident affecting staff on mission",
     "staff travel to high-risk duty stations for regional events", "a member of staff is harmed during a mission",
     "cause harm to staff and legal liability", "UNDSS clearance; travel security briefings; tracking of travellers"),
    ("SAF", "GS-SSS", "Evacuation failure at headquarters premises",
     "the tower building has complex evacuation routes and frequent visitors",
     "an emergency evacuation does not clear the building in time", "endanger staff and delegates",
     "Fire wardens; twice-yearly drills; visitor registration"),
    ("INT", "GS-LEG", "Fraud in project implementation by partners",
     "field projects rely on implementing partners with weak financial controls", "funds are diverted by a partner",
     "cause financial loss and loss of donor confidence",
     "Partner capacity assessments; spot checks; whistle-blower policy"),
    ("INT", "GS-HRMD", "Harassment complaints not handled promptly",
     "the investigation function has limited capacity",
     "complaints of harassment wait more than six months for resolution",
     "harm victims and the organization's reputation",
     "Policy on harassment; external investigation roster; ethics office"),
    ("LEG", "GS-LEG", "Dispute over privileges and immunities",
     "national authorities interpret the headquarters agreement differently",
     "a dispute arises on the tax treatment of staff or premises",
     "create financial exposure and strain relations with the host",
     "Legal review of agreements; regular dialogue with the host country"),
    ("LEG", "TSB", "Intellectual property claims on published standards",
     "contributors may not disclose patents relevant to draft standards",
     "a patent holder challenges the use of an approved standard",
     "expose the organization to litigation and weaken adoption",
     "Patent policy declarations; legal review before approval"),
    ("STR", "GS-SPM", "Declining sector membership", "companies join alternative standards bodies and fees rose",
     "sector membership falls by more than 10% in two years", "reduce income and the relevance of study groups",
     "Membership engagement plan; fee review"),
    ("STR", "BR", "Satellite filings backlog delays coordination",
     "satellite network filings increased fivefold with new constellations",
     "the processing backlog exceeds the regulatory time limits",
     "undermine the credibility of the international frequency register",
     "Processing software upgrade; temporary staff; prioritisation rules"),
    ("STR", "BDT", "Development projects miss strategic targets",
     "projects depend on partner funding and national ownership",
     "key connectivity targets of the strategic plan are not met",
     "reduce members' confidence in the development mandate", "Results-based management framework; mid-term reviews"),
    ("PAR", "BDT", "Donor funding concentrated in few partners",
     "three partners provide most voluntary contributions", "a major partner withdraws funding",
     "force the closure of ongoing projects", "Resource mobilisation strategy; partner diversification targets"),
    ("PAR", "TSB", "Partnership with industry raises neutrality concerns",
     "industry sponsors events and focus groups", "a sponsorship is perceived as influencing a standard",
     "damage the organization's neutrality", "Sponsorship guidelines; due diligence on partners"),
    ("INN", "TSB", "Emerging-technology work duplicates other bodies",
     "several organizations start work on AI and quantum standards",
     "study groups produce overlapping or conflicting deliverables", "waste resources and confuse members",
     "Liaison agreements; coordination with standards development organizations"),
    ("INN", "GS-IS", "Cloud migration exceeds budget and timeline",
     "the migration relies on a single provider and scarce in-house skills",
     "the migration runs 30% over budget and one year late", "delay digital services to members",
     "Project board; stage gates; external quality assurance"),
    ("REP", "GS-SPM", "Misinformation about the organization's role in internet governance",
     "public debate on internet governance is polarised",
     "misleading claims about the organization spread widely in the media",
     "erode public trust and members' confidence",
     "Communication strategy; media monitoring; rapid response protocol"),
    ("REP", "RO-AFR", "Regional events perceived as poorly organised",
     "regional offices have small teams and depend on local partners",
     "a high-level regional event suffers visible failures", "damage the organization's standing in the region",
     "Event checklist; support from headquarters conference services"),
    ("OPS", "RO-ASP", "Regional office business continuity gaps",
     "the regional office has no tested continuity plan",
     "the office is closed by a natural disaster for more than two weeks", "interrupt regional project delivery",
     "Remote working capability; continuity plan drafted"),
    ("ICT", "BR", "Failure of the frequency register database",
     "the database runs on software nearing end of support", "the database becomes corrupt or unavailable",
     "stop the processing of frequency assignments", "Vendor support contract; daily backups; migration project"),
    ("FIN", "BDT", "Ineligible expenditure in donor-funded projects",
     "donor rules differ and field staff turn over often", "auditors find ineligible costs in a large project",
     "require refunds to the donor", "Project finance training; donor rules checklist"),
    ("PPL", "BR", "Recruitment delays for specialised engineers", "the market for spectrum engineers is competitive",
     "key posts remain vacant for more than nine months", "slow the processing of filings",
     "Targeted outreach; roster of pre-approved candidates"),
]
# fmt: on

ACTIONS = [
    ("Complete the review of {topic}", "Reduces likelihood by one level"),
    ("Roll out training on {topic} to all focal points", "Fewer control lapses"),
    ("Commission an external assessment of {topic}", "Independent assurance for the task force"),
    ("Update the policy on {topic} and submit it for approval", "Clear rules and accountability"),
    ("Test the continuity arrangements for {topic}", "Recovery within agreed times"),
    ("Automate monitoring of {topic}", "Earlier warning; lower impact"),
]
STATUSES = ["not_started", "on_track", "on_track", "delayed", "completed"]
TREATMENTS = ["treat", "treat", "treat", "tolerate", "transfer"]
EFFECTIVENESS = ["effective", "partially_effective", "partially_effective", "ineffective"]
REASONS = ["context_change", "control_change", "actions_completed", "audit_finding", "incident_occurred", ""]


def _topic(title: str) -> str:
    return title[0].lower() + title[1:]


def make_rows(count: int, seed: int, as_at: date, scales: Scales, statement: Any, *, shift: int = 0) -> list[RiskRow]:
    """`count` risks with three actions each; `shift` moves residual ratings (for a previous cycle)."""
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        category, unit, title, cause, event, consequence, controls = RISKS[index % len(RISKS)]
        topic = _topic(title)
        if index >= len(RISKS):
            unit = rng.choice(list(UNITS))
            title = f"{title} ({unit}, line {index // len(RISKS) + 1})"
        unit_name, owner = UNITS[unit]
        ref = "CR-" + f"{index + 1:02d}" if index < 8 else f"{unit.split('-')[-1]}-2025-{index + 1:03d}"
        level = "corporate" if index < 8 else rng.choice(["departmental", "departmental", "sector"])
        il, ii = rng.randint(2, 5), rng.randint(2, 5)
        rl = max(1, min(5, il - rng.randint(0, 2) + shift * rng.randint(-1, 1)))
        ri = max(1, min(5, ii - rng.randint(0, 1)))
        appetite = statement.for_category(category)
        zone = judge(rl, ri, appetite, scales).value
        actions = []
        for number in range(1, 4):
            text, effect = ACTIONS[(index + number) % len(ACTIONS)]
            due = as_at + timedelta(days=rng.randint(-200, 400))
            status = rng.choice(STATUSES)
            actions.append(
                ActionRow(
                    ref=f"{ref}-A{number}",
                    risk_ref=ref,
                    description=text.format(topic=topic),
                    owner_title=owner if number == 1 else f"Head, {unit_name.split(' ')[0]} unit {number}",
                    unit_code=unit,
                    due_date=due,
                    revised_due_date=due + timedelta(days=90) if status == "delayed" else None,
                    status=status,
                    percent_complete=100 if status == "completed" else rng.choice([0, 10, 25, 40, 60, 80]),
                    completed_on=due if status == "completed" else None,
                    expected_effect=effect,
                    comment=rng.choice(["", "Funding confirmed.", "Depends on the ERP upgrade.", "Vendor selected."]),
                )
            )
        tl, ti = max(1, rl - 1), max(1, ri - 1)
        rows.append(
            RiskRow(
                ref=ref,
                title=title,
                cause=cause,
                event=event,
                consequence=consequence,
                category_code=category,
                category_name="",
                unit_code=unit,
                unit_name=unit_name,
                level=level,
                nature="threat",
                status="active",
                owner_title=owner,
                treatment=rng.choice(TREATMENTS),
                inherent_likelihood=il,
                inherent_impact=ii,
                inherent_score=il * ii,
                inherent_band=scales.band(il * ii).name,
                residual_likelihood=rl,
                residual_impact=ri,
                residual_score=rl * ri,
                residual_band=scales.band(rl * ri).name,
                zone=zone,
                appetite_level=appetite.level.value if appetite else "",
                appetite_max=appetite.appetite_max if appetite else None,
                tolerance_max=appetite.tolerance_max if appetite else None,
                statement_version=statement.version,
                target_likelihood=tl,
                target_impact=ti,
                target_score=tl * ti,
                target_band=scales.band(tl * ti).name,
                target_date=as_at + timedelta(days=rng.randint(90, 720)),
                control_effectiveness=rng.choice(EFFECTIVENESS),
                controls_summary=controls,
                velocity=rng.randint(1, 5),
                trend_reason=rng.choice(REASONS),
                rationale=f"Reviewed with the {owner.split(',')[0].lower()} on {as_at - timedelta(days=rng.randint(5, 60))}.",  # noqa: E501
                assessed_on=as_at - timedelta(days=rng.randint(5, 60)),
                is_confidential=index % 17 == 5,
                council_visible=False,
                acceptance_until=as_at + timedelta(days=180) if zone == "above_appetite" and index % 3 == 0 else None,
                acceptance_level="task_force" if zone == "above_appetite" and index % 3 == 0 else "",
                escalation_level="task_force" if zone == "outside_tolerance" else "",
                escalation_status="accepted" if zone == "outside_tolerance" else "",
                actions=tuple(actions),
            )
        )
    return rows


def make_inputs(count: int, audience: str = "taskforce", png: bytes | None = None) -> CouncilInputs:
    scales = load_scales(paths.SCALES_FILE)
    categories = load_categories(paths.CATEGORIES_FILE)
    statement = load_statement(paths.STATEMENTS_DIR / "2.0.toml", scales, [c.code for c in categories])
    as_at, before = date(2026, 3, 31), date(2025, 12, 31)
    current = make_rows(count, 1, as_at, scales, statement)
    previous = make_rows(count - max(1, count // 12), 1, before, scales, statement, shift=1)
    # A few risks closed since the previous cycle, under references the current cycle no longer has.
    previous += [replace(row, ref=f"OLD-{row.ref}", actions=()) for row in previous[: max(1, count // 20)]]
    return CouncilInputs(
        snapshot=Snapshot("2026-Q1", as_at, statement.version, scales.version, tuple(current)),
        previous=Snapshot("2025-Q4", before, statement.version, scales.version, tuple(previous)),
        statement=statement,
        scales=scales,
        category_names={c.code: c.name for c in categories},
        unit_names={code: name for code, (name, _) in UNITS.items()},
        audience=audience,  # type: ignore[arg-type]
        organisation="International Union for Connectivity Standards (IUCS)",
        session="Council 2026",
        symbol="C26/14",
        annex="2",
        classification="For official use only",
        prepared_by="Strategic Planning and Membership Department",
        generated_at=datetime(2026, 4, 20, 9, 30, tzinfo=UTC),
        narrative=(
            "The overall risk profile is stable. Two corporate risks increased: cyber threats after a sector-wide "
            "ransomware campaign, and contribution arrears after late payments from several Member States. "
            "Treatment plans are on track for most High risks; overdue actions concentrate in ICT and procurement "
            "and were discussed by the task force on 10 April 2026."
        ),
        open_escalations=4,
        heatmap_png=png,
    )


# ------------------------------------------------------------------------------ XlsxWriter reference


def write_xlsxwriter(plan: WorkbookPlan) -> bytes:
    """The same plan written with XlsxWriter constant_memory: same cells, values and looks."""
    import xlsxwriter

    from riskreg.workbook.cells import clean_text, needs_quote_prefix
    from riskreg.workbook.plan import column_letter

    buffer = BytesIO()
    wb = xlsxwriter.Workbook(buffer, {"constant_memory": True, "default_date_format": "dd mmm yyyy"})
    formats: dict[tuple[Look, bool], Any] = {}
    by_id: dict[tuple[int, bool], tuple[Look, Any]] = {}  # same identity shortcut as RiskReg's StyleBook

    def fmt(look: Look, quoted: bool = False) -> Any:
        pinned = by_id.get((id(look), quoted))
        if pinned is not None:
            return pinned[1]
        key = (look, quoted)
        found = formats.get(key)
        if found is None:
            props: dict[str, Any] = {
                "font_name": look.font,
                "font_size": look.size,
                "bold": look.bold,
                "italic": look.italic,
                "font_color": look.colour,
                "align": look.halign,
                "valign": "vcenter" if look.valign == "center" else "top",
                "text_wrap": look.wrap,
                "num_format": look.number_format,
            }
            if look.fill:
                props.update(pattern=1, bg_color=look.fill)
            if look.border:
                props.update(border=1, border_color=look.border)
            found = formats[key] = wb.add_format(props)
            if quoted:
                found.set_quote_prefix()
        by_id[(id(look), quoted)] = (look, found)
        return found

    page = plan.page
    p = plan.properties
    wb.set_properties(
        {
            "title": p.title,
            "subject": p.subject,
            "author": p.creator,
            "keywords": p.keywords,
            "comments": p.description,
            "category": p.category,
            "created": p.created,
        }
    )
    for sheet in plan.sheets:
        ws = wb.add_worksheet(sheet.name)
        for index, width in enumerate(sheet.widths):
            ws.set_column(index, index, width)
        if sheet.freeze:
            ws.freeze_panes(sheet.freeze)
        if sheet.title_rows:
            ws.repeat_rows(sheet.title_rows[0] - 1, sheet.title_rows[1] - 1)
        ws.set_landscape() if page.landscape else ws.set_portrait()
        ws.set_paper(page.paper_code)
        if page.fit_to_width:
            ws.fit_to_pages(1, 0)
        m = page.margins_in
        ws.set_margins(m["left"], m["right"], m["top"], m["bottom"])
        font = f'&"{page.font},Regular"&{page.font_size:g}'
        ws.set_header(
            f"&L{font}{page.header.left}&C{font}{page.header.center}&R{font}{page.header.right}",
            {"margin": m["header"]},
        )
        ws.set_footer(
            f"&L{font}{page.footer.left}&C{font}{page.footer.center}&R{font}{page.footer.right}",
            {"margin": m["footer"]},
        )
        ws.center_horizontally()
        number = -1
        filter_at = -1
        for row in sheet.rows:
            number += 1
            if row.height is not None:
                ws.set_row(number, row.height)
            merged = {first - 1: last - 1 for first, last in row.merges}
            for col, planned in enumerate(row.cells):
                if planned is None:
                    continue
                value, look = planned
                if isinstance(value, str):
                    text = clean_text(value)
                    f = fmt(look, needs_quote_prefix(text))
                    if col in merged:
                        ws.merge_range(number, col, number, merged[col], text, f)
                    else:
                        ws.write_string(number, col, text, f)
                elif value is None:
                    ws.write_blank(number, col, None, fmt(look))
                elif isinstance(value, datetime | date):
                    ws.write_datetime(number, col, value, fmt(look))
                else:
                    ws.write_number(number, col, value, fmt(look))
            if row.filter_header:
                filter_at = number
        if filter_at >= 0 and sheet.filter_columns:
            ws.autofilter(f"A{filter_at + 1}:{column_letter(sheet.filter_columns)}{max(number, filter_at + 1) + 1}")
        for picture in sheet.pictures:
            from riskreg.workbook.sheets import png_size

            width, _ = png_size(picture.data)
            scale = picture.width_px / width
            ws.insert_image(
                picture.anchor, "heatmap.png", {"image_data": BytesIO(picture.data), "x_scale": scale, "y_scale": scale}
            )
    wb.close()
    return buffer.getvalue()


# ------------------------------------------------------------------------------ measuring


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def with_heatmap(inputs: CouncilInputs) -> CouncilInputs:
    """The inputs with the heatmap the caller would render: the audience's rows, residual ratings."""
    from riskreg.heatmap import HeatmapSpec, HeatPoint, render_png
    from riskreg.workbook import rows_for_audience

    layout = load_layout(paths.COUNCIL_LAYOUT)
    rows = rows_for_audience(inputs.snapshot.rows, inputs.audience, inputs.scales, layout)
    previous = inputs.previous.by_ref() if inputs.previous else {}
    points = [
        HeatPoint(
            r.ref,
            r.residual_likelihood,
            r.residual_impact,
            (p.residual_likelihood, p.residual_impact) if (p := previous.get(r.ref)) else None,
        )
        for r in rows
    ]
    footnote = [f"Cycle {inputs.snapshot.cycle_code}, as at {inputs.snapshot.as_at:%d %b %Y}; {len(rows)} risks"]
    spec = HeatmapSpec(inputs.scales, "residual", points, "Residual risk", footnote=footnote)
    return replace(inputs, heatmap_png=render_png(spec))


def streamed_hash(snapshot: Snapshot) -> str:
    """Snapshot.content_hash() without building the whole JSON text (same digest, flat memory)."""
    digest = hashlib.sha256()
    header = (
        f"{snapshot.cycle_code}|{snapshot.as_at.isoformat()}|{snapshot.statement_version}|{snapshot.scales_version}|"
    )
    digest.update(header.encode("utf-8"))
    digest.update(b"[")
    for index, row in enumerate(snapshot.rows):
        text = json.dumps(row_to_json(row), sort_keys=True, separators=(",", ":"))
        digest.update((("," if index else "") + text).encode("utf-8"))
    digest.update(b"]")
    return digest.hexdigest()


def child(engine: str, count: int) -> dict[str, Any]:
    """One measurement in this (fresh) process; the parent reads the JSON it prints."""
    import openpyxl  # noqa: F401 - imports are not part of the export's cost
    import xlsxwriter  # noqa: F401

    inputs = with_heatmap(make_inputs(min(count, 1000)))  # the picture only; drawing it is not timed
    inputs = make_inputs(count, png=inputs.heatmap_png)
    # The caller passes the hash stored when the cycle closed, so neither engine recomputes it.
    inputs = replace(inputs, snapshot_hash=streamed_hash(inputs.snapshot))
    layout = load_layout(paths.COUNCIL_LAYOUT)
    gc.collect()
    before = _rss_mb()
    start, cpu = time.perf_counter(), time.process_time()
    if engine == "openpyxl":
        data = build_council_workbook(inputs, layout)
    elif engine == "xlsxwriter":
        data = write_xlsxwriter(plan_workbook(inputs, layout))
    else:  # "plan": the shared part alone (selection, movement, every row's values and looks), no file
        plan = plan_workbook(inputs, layout)
        data = b"x" * sum(len(row.cells) for sheet in plan.sheets for row in sheet.rows)  # cells, for a sanity check
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    after = _rss_mb()
    return {
        "engine": engine,
        "risks": count,
        "seconds": seconds,
        "cpu": cpu,
        "peak_mb": after,
        "growth_mb": max(0.0, after - before),
        "data_mb": before,
        "bytes": len(data),
    }


def measure(engine: str, count: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", engine, str(count)]
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--repeat", type=int, default=1, help="runs per engine and size; the median is shown")
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--sample", metavar="FILE", help="write one workbook for looking at, and stop")
    parser.add_argument("--risks", type=int, default=60)
    parser.add_argument("--audience", default="taskforce", choices=["council", "taskforce"])
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]))))
        return
    if args.sample:
        inputs = with_heatmap(make_inputs(args.risks, args.audience))
        Path(args.sample).write_bytes(build_council_workbook(inputs, load_layout(paths.COUNCIL_LAYOUT)))
        print(f"wrote {args.sample}")
        return
    sample = make_inputs(50)
    assert streamed_hash(sample.snapshot) == sample.snapshot.content_hash()
    print("Time: CPU seconds of the export in a fresh process (the machine is shared); wall seconds beside it.")
    print("Memory: peak RSS of the process; growth = how far the export raised it above the data's peak.")
    print("Engines: plan = building the rows only (shared by both); xlsxwriter = the reference; openpyxl = RiskReg.")
    print(f"{'risks':>7} {'engine':<10} {'cpu s':>7} {'wall s':>7} {'peak MB':>8} {'growth MB':>9} {'file MB':>8}")
    for count in (int(n) for n in args.sizes.split(",")):
        results = {}
        for engine in ("plan", "xlsxwriter", "openpyxl"):
            runs = sorted((measure(engine, count) for _ in range(args.repeat)), key=lambda r: r["cpu"])
            result = results[engine] = runs[len(runs) // 2]
            print(
                f"{count:>7} {engine:<10} {result['cpu']:>7.2f} {result['seconds']:>7.2f} {result['peak_mb']:>8.0f} "
                f"{result['growth_mb']:>9.0f} {result['bytes'] / 1e6 if engine != 'plan' else 0:>8.1f}",
                flush=True,
            )
        ratio = results["openpyxl"]["cpu"] / results["xlsxwriter"]["cpu"]
        shared = results["plan"]["cpu"]
        library = (results["openpyxl"]["cpu"] - shared) / max(results["xlsxwriter"]["cpu"] - shared, 1e-9)
        growth = results["openpyxl"]["growth_mb"]
        print(
            f"{count:>7} RiskReg / XlsxWriter: {ratio:.2f}x CPU (target <= 2.0x); libraries alone "
            f"(minus the shared plan): {library:.2f}x; RiskReg's export adds {growth:.0f} MB (target < 200 MB)",
            flush=True,
        )


if __name__ == "__main__":
    main()
