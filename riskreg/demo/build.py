"""Writing the demo register: one bulk path for 60 risks or 100,000, in one transaction.

The register operations (`riskreg.risks.operations`) issue several queries per risk, which is right for a
person editing one risk and far too slow for a generated register. Here scores, bands and appetite zones come
from the same pure core (`Scales`, `judge`, see `records.py`) and rows go in with Core `insert()` in batches.
Cycles close through the real `close_cycle`, so snapshots and movement are what the application produces.

History is written in order: the first cycle's risks are assessed and the cycle closed; then the second
cycle's assessments (new, increased, decreased and closed risks), the task force's decisions, and the close;
then the open third cycle with its updates.
"""

from __future__ import annotations

import time as clock
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from riskreg import audit, policy
from riskreg.appetite import Zone
from riskreg.auth.passwords import hash_password
from riskreg.demo import records, trail
from riskreg.demo.content import CYCLES, DEMO_PASSWORD, DEMO_TODAY, UNITS, USERS, CycleSpec, Point
from riskreg.demo.plan import PlannedAction, PlannedRisk, plan_register
from riskreg.demo.records import LAST_CLOSED, Decisions, Judgement, RiskKeys, table
from riskreg.models import (
    Action,
    Assessment,
    AuditEvent,
    Control,
    CycleStatus,
    Decision,
    Escalation,
    EscalationLevel,
    OrgUnit,
    ReviewCycle,
    Risk,
    RiskAcceptance,
    RiskCategory,
    TaskForceDecision,
    User,
)
from riskreg.review.operations import close_cycle
from riskreg.risks.operations import ref_prefix
from riskreg.scoring import Scales

BATCH = 2000
_LADDER = list(EscalationLevel)  # lowest first
T = TypeVar("T")


class DemoError(Exception):
    """The demo cannot be loaded (the database already holds risks, users or units)."""


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str
    unit: str
    title: str


@dataclass(frozen=True)
class DemoResult:
    """What was loaded, and the logins to print once."""

    logins: tuple[DemoLogin, ...]
    password: str
    seed: int
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def load_demo(
    session: Session,
    *,
    risks: int = 60,
    seed: int = 2026,
    progress: Callable[[int, int], None] | None = None,
) -> DemoResult:
    """Load the demo organisation into an empty database and commit (all of it or nothing).

    The policy (categories, scales, statements) must be loaded first. `progress(done, total)` reports overall
    completion expressed in risks (total = `risks`) and ends with exactly one call where done == total.
    """
    if risks < 1:
        raise ValueError("the demo needs at least one risk")
    started = clock.perf_counter()
    if any(session.scalar(select(func.count()).select_from(model)) for model in (Risk, User, OrgUnit)):
        raise DemoError("the database already holds data; the demo loads into an empty database only")
    scales = policy.current_scales(session)
    plan = plan_register(risks, seed, (scales.max_likelihood, scales.max_impact))
    builder = _Builder(session, scales, plan, _Progress(progress, risks))
    try:
        builder.add_organisation()
        for number, spec in enumerate(CYCLES):
            builder.run_cycle(number, spec)
        builder.ids.sync_sequences(session)
        builder.add_recommendations()
        counts = builder.counts()
        audit.record(
            session,
            audit.Actor(user_id=None, email="system:demo", role="system"),
            "load",
            "demo",
            str(seed),
            f"loaded the demo organisation (seed {seed}): " + ", ".join(f"{v:,} {k}" for k, v in counts.items()),
            {**counts, "seed": seed},
        )
        session.commit()
    except BaseException:
        session.rollback()  # all of it or nothing: no half-built organisation is left behind
        raise
    builder.progress.finish()
    logins = tuple(DemoLogin(u.email, u.role.label, u.unit or "", u.title) for u in USERS)
    return DemoResult(logins, DEMO_PASSWORD, seed, counts, clock.perf_counter() - started)


class _Progress:
    """Overall completion across the steps of the load, reported in risks."""

    # Relative cost of the steps (CPU seconds per cycle on SQLite at 10,000 risks, rounded).
    WEIGHTS = {"write": 2.0, "close": 5.0}

    def __init__(self, callback: Callable[[int, int], None] | None, total: int) -> None:
        self.callback = callback
        self.total = total
        self.budget = sum(self.WEIGHTS["write"] + (self.WEIGHTS["close"] if c.closed else 0.0) for c in CYCLES)
        self.spent = 0.0
        self.reported = 0

    def step(self, kind: str, done: int, of: int) -> None:
        share = min(1.0, done / of) if of else 1.0
        value = min(self.total - 1, int((self.spent + self.WEIGHTS[kind] * share) / self.budget * self.total))
        if self.callback and value > self.reported:
            self.reported = value
            self.callback(value, self.total)

    def end_step(self, kind: str) -> None:
        self.step(kind, 1, 1)
        self.spent += self.WEIGHTS[kind]

    def finish(self) -> None:
        if self.callback:
            self.callback(self.total, self.total)


def _batches(rows: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


class _Ids:
    """Primary keys handed out here instead of returned by the database.

    With RETURNING, a multi-row insert makes psycopg parse one huge statement per batch, which on PostgreSQL
    cost more than the inserts themselves; with the ids known up front every insert is a plain executemany.
    The database is empty of these rows (load_demo checked), so the next ids are max + 1; PostgreSQL's
    sequences are moved past them at the end.
    """

    def __init__(self, session: Session) -> None:
        self.tables = {t.name: t for t in (table(Risk), table(Assessment), table(Action), table(Escalation))}
        self.next = {name: (session.scalar(select(func.max(t.c.id))) or 0) + 1 for name, t in self.tables.items()}

    def take(self, name: str) -> int:
        value = self.next[name]
        self.next[name] = value + 1
        return value

    def sync_sequences(self, session: Session) -> None:
        if session.connection().dialect.name != "postgresql":
            return  # SQLite gives the next row max(id) + 1 by itself
        for name, t in self.tables.items():
            highest = select(func.max(t.c.id)).scalar_subquery()
            session.execute(select(func.setval(func.pg_get_serial_sequence(name, "id"), highest)))


@dataclass
class _Pending:
    """What one cycle's assessments call for, written after them."""

    proposed: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (plan index, escalation row)
    resolved: list[dict[str, Any]] = field(default_factory=list)
    acceptances: list[dict[str, Any]] = field(default_factory=list)


class _Builder:
    """Writes the plan cycle by cycle, remembering the ids and open escalations it created."""

    def __init__(self, session: Session, scales: Scales, plan: list[PlannedRisk], progress: _Progress) -> None:
        self.session = session
        self.scales = scales
        self.plan = plan
        self.progress = progress
        self.unit_ids: dict[str, int] = {}
        self.user_ids: dict[str, int] = {}
        self.category_ids = {code: id_ for id_, code in session.execute(select(RiskCategory.id, RiskCategory.code))}
        self.ids = _Ids(session)
        self.keys: dict[int, RiskKeys] = {}  # plan index -> database identity
        self.seq: dict[tuple[str, int], int] = {}
        self.previous: dict[int, Point] = {}  # plan index -> residual at the last assessment
        self.open_escalation: dict[int, tuple[int, EscalationLevel]] = {}  # plan index -> (id, level)
        self.actions: list[tuple[int, PlannedAction]] = []
        self.action_state: dict[int, tuple[Any, ...]] = {}
        self.judgements: dict[tuple[date, str], Judgement] = {}
        self.actors: dict[int, trail.DemoActor] = {}  # user id -> who the audit trail names
        self.totals = dict.fromkeys(
            ("risks", "assessments", "controls", "actions", "escalations", "decisions", "acceptances", "cycles"), 0
        )

    def counts(self) -> dict[str, int]:
        return {"units": len(self.unit_ids), "users": len(self.user_ids), **self.totals}

    # ----------------------------------------------------------------------- organisation

    def add_organisation(self) -> None:
        units: dict[str, OrgUnit] = {}
        for spec in UNITS:
            units[spec.code] = OrgUnit(
                code=spec.code,
                name=spec.name,
                kind=spec.kind,
                head_title=spec.head_title,
                parent=units[spec.parent] if spec.parent else None,
            )
        self.session.add_all(units.values())
        self.session.flush()
        self.unit_ids = {code: unit.id for code, unit in units.items()}
        # One hash for every account: argon2 is slow on purpose and the demo password is the same for all.
        password_hash = hash_password(DEMO_PASSWORD)
        users = [
            User(
                email=spec.email,
                name=spec.name,
                title=spec.title,
                role=spec.role,
                org_unit_id=self.unit_ids[spec.unit] if spec.unit else None,
                password_hash=password_hash,
            )
            for spec in USERS
        ]
        self.session.add_all(users)
        self.session.flush()
        self.user_ids = {user.email.split("@")[0]: user.id for user in users}
        self.actors = {
            user.id: trail.DemoActor(user.id, user.email, user.role.value, spec.unit or "")
            for user, spec in zip(users, USERS, strict=True)
        }

    def add_recommendations(self) -> None:
        """The oversight recommendations (demo/oversight.py), once the register they link to exists."""
        from riskreg.demo import oversight

        self.session.expire_all()  # the Core writes bypassed the identity map
        users = {u.id: u for u in self.session.scalars(select(User).where(User.id.in_(self.user_ids.values())))}
        focal = {spec.code: audit.Actor.of(users[self._focal(spec.code)]) for spec in UNITS}
        accounts = oversight.Accounts(audit.Actor.of(users[self.user_ids["coordinator"]]), focal)
        self.totals["recommendations"] = oversight.add_recommendations(self.session, accounts)

    def _focal(self, unit: str) -> int:
        return self.user_ids["focal." + unit.rsplit("-", 1)[-1].lower()]

    # ----------------------------------------------------------------------- cycles

    def run_cycle(self, number: int, spec: CycleSpec) -> None:
        cycle = ReviewCycle(
            code=spec.code,
            period_start=spec.period_start,
            period_end=spec.period_end,
            submission_deadline=spec.submission_deadline,
            taskforce_meeting_on=spec.taskforce_meeting_on,
            target_session=spec.target_session,
            status=CycleStatus.OPEN,
            opened_at=records.at(spec.period_start, 8),
            narrative=spec.narrative,
            created_by_id=self.user_ids["coordinator"],
        )
        self.session.add(cycle)
        self.session.flush()
        self.totals["cycles"] += 1
        as_at = spec.period_end if spec.closed else DEMO_TODAY
        present = [r for r in self.plan if r.path[number] is not None]
        self._advance_actions(as_at)
        self._insert_risks([r for r in present if r.first_cycle == number], as_at)
        decisions = Decisions(spec, cycle.id, self.user_ids["taskforce"])
        self._assess(number, spec, cycle.id, present, decisions)
        if spec.closed and decisions.rows:
            self.session.execute(insert(table(TaskForceDecision)), decisions.rows)
            self.totals["decisions"] += len(decisions.rows)
            refs = {keys.id: keys.ref for keys in self.keys.values()}
            events = [
                trail.decided(self.actors[d["decided_by_id"]], refs[d["risk_id"]], spec.code, d) for d in decisions.rows
            ]
            self._audit(events)
        self.progress.end_step("write")
        if spec.closed:
            self._close(cycle.id, spec)

    def _close(self, cycle_id: int, spec: CycleSpec) -> None:
        # The Core writes bypassed the identity map: expire it so close_cycle reads what is stored.
        self.session.expire_all()
        cycle = self.session.get_one(ReviewCycle, cycle_id)
        coordinator = self.session.get_one(User, self.user_ids["coordinator"])
        close_cycle(
            self.session,
            audit.Actor.of(coordinator),
            cycle,
            cycle.version,
            as_at=spec.period_end,
            progress=lambda done, of: self.progress.step("close", done, of),
            commit=False,
            closed_at=records.at(spec.period_end, 17),
        )
        self.progress.end_step("close")

    def _audit(self, events: list[dict[str, Any]]) -> None:
        """The audit events the bulk writes stand for (trail.py), written in the same transaction."""
        if events:
            self.session.execute(insert(table(AuditEvent)), events)

    # ----------------------------------------------------------------------- risks, controls, actions

    def _insert_risks(self, planned: list[PlannedRisk], as_at: date) -> None:
        for batch in _batches(planned):
            rows = []
            for risk in batch:
                keys = RiskKeys(self.ids.take("risks"), "", self.unit_ids[risk.unit], self._focal(risk.unit))
                row = self._risk_row(risk, keys)
                self.keys[risk.index] = RiskKeys(keys.id, row["ref"], keys.unit_id, keys.focal_id)
                rows.append(row)
            self.session.execute(insert(table(Risk)), rows)
            self._audit([trail.registered(self.actors[row["created_by_id"]], row) for row in rows])
            controls = [row for risk in batch for row in records.control_rows(risk, self.keys[risk.index].id)]
            if controls:
                self.session.execute(insert(table(Control)), controls)
            actions = []
            for risk in batch:
                for action, row in records.action_rows(risk, self.keys[risk.index], as_at):
                    row["id"] = self.ids.take("actions")
                    self.actions.append((row["id"], action))
                    self.action_state[row["id"]] = (
                        row["status"],
                        row["percent_complete"],
                        row["completed_on"],
                        row["comment"],
                    )
                    actions.append(row)
            if actions:
                self.session.execute(insert(table(Action)), actions)
            self.totals["risks"] += len(batch)
            self.totals["controls"] += len(controls)
            self.totals["actions"] += len(actions)

    def _risk_row(self, risk: PlannedRisk, keys: RiskKeys) -> dict[str, Any]:
        key = (risk.unit, risk.identified_on.year)
        self.seq[key] = seq = self.seq.get(key, 0) + 1
        ref = f"{ref_prefix(risk.unit)}-{key[1]}-{seq:03d}"
        row = records.risk_row(risk, ref, seq, self.category_ids[risk.template.category], keys.unit_id, keys.focal_id)
        row["id"] = keys.id
        return row

    def _advance_actions(self, as_at: date) -> None:
        """Move earlier cycles' actions to where they stood on `as_at` (progress, completion, delay)."""
        changed = []
        for id_, action in self.actions:
            state = action.status_at(as_at)
            if state != self.action_state[id_]:
                self.action_state[id_] = state
                status, percent, completed_on, comment = state
                changed.append(
                    {
                        "b_id": id_,
                        "b_status": status,
                        "b_percent": percent,
                        "b_done": completed_on,
                        "b_comment": comment,
                    }
                )
        for batch in _batches(changed):
            self.session.execute(records.action_update(), batch)

    # ----------------------------------------------------------------------- assessments and their consequences

    def _judgement(self, on: date, category: str) -> Judgement:
        """The appetite an assessment on `on` is judged against (as record_assessment looks it up)."""
        found = self.judgements.get((on, category))
        if found is None:
            statement = policy.statement_in_force(self.session, on)
            uncovered = Judgement(None, "", None, None)
            if statement is not None:
                pure = policy.to_pure(statement)
                for ca in statement.categories:
                    code = ca.category.code
                    self.judgements[(on, code)] = Judgement(
                        statement.id, statement.version, ca, pure.for_category(code)
                    )
                uncovered = Judgement(statement.id, statement.version, None, None)
            found = self.judgements.setdefault((on, category), uncovered)
        return found

    def _assess(
        self, number: int, spec: CycleSpec, cycle_id: int, present: list[PlannedRisk], decisions: Decisions
    ) -> None:
        assessments = table(Assessment)
        pending = _Pending()
        for done, batch in enumerate(_batches(present), start=1):
            rows = []
            for risk in batch:
                judgement = self._judgement(risk.assessed_on[number] or DEMO_TODAY, risk.template.category)
                keys, previous = self.keys[risk.index], self.previous.get(risk.index)
                row = records.assessment_row(risk, number, cycle_id, keys, self.scales, judgement, previous)
                row["id"] = self.ids.take("assessments")
                rows.append(row)
            self.session.execute(insert(assessments), rows)
            self._audit(
                [
                    trail.assessed(self.actors[row["assessed_by_id"]], self.keys[r.index].ref, row)
                    for r, row in zip(batch, rows, strict=True)
                ]
            )
            current = []
            for risk, row in zip(batch, rows, strict=True):
                assessment_id = row["id"]
                self.previous[risk.index] = (row["residual_likelihood"], row["residual_impact"])
                current.append(records.current_columns(risk, number, row, assessment_id, self.scales))
                self._escalate(risk, row, spec, decisions, pending)
                if number == LAST_CLOSED:
                    self._decide(risk, row, assessment_id, spec, decisions, pending)
            self.session.execute(records.current_update(), current)
            self.totals["assessments"] += len(rows)
            self.progress.step("write", done * BATCH, len(present))
        self._write_escalations(spec, decisions, pending)

    def _escalate(
        self, risk: PlannedRisk, row: dict[str, Any], spec: CycleSpec, decisions: Decisions, pending: _Pending
    ) -> None:
        """Propose an escalation outside tolerance unless one is open; at a task force meeting, escalate further
        when the exposure now calls for a higher level, and de-escalate risks back within tolerance.
        """
        found = self.open_escalation.get(risk.index)
        if row["zone"] == Zone.OUTSIDE_TOLERANCE:
            from_level = found[1] if found else EscalationLevel.OWNER
            escalation = records.escalation_row(row, self.scales, spec, self.user_ids["taskforce"], from_level)
            if found is None:
                pending.proposed.append((risk.index, escalation))
            elif spec.closed and _LADDER.index(escalation["to_level"]) > _LADDER.index(found[1]):
                resolution = f"Escalated further to {escalation['to_level'].label} on {spec.taskforce_meeting_on}."
                pending.resolved.append({"b_id": found[0], "b_resolution": resolution})
                pending.proposed.append((risk.index, escalation))
        elif found is not None and spec.closed:
            # Back within tolerance by the task force meeting: de-escalated (domain.md (d)).
            del self.open_escalation[risk.index]
            resolution = f"Residual back within tolerance; de-escalated on {spec.taskforce_meeting_on}."
            pending.resolved.append({"b_id": found[0], "b_resolution": resolution})
            decisions.add(row["risk_id"], Decision.DE_ESCALATE, records.DE_ESCALATED)

    def _write_escalations(self, spec: CycleSpec, decisions: Decisions, pending: _Pending) -> None:
        escalations = table(Escalation)
        for index, row in pending.proposed:
            row["id"] = self.ids.take("escalations")
            self.open_escalation[index] = (row["id"], row["to_level"])
            if spec.closed:
                decisions.add(row["risk_id"], Decision.ESCALATE, records.ESCALATED[row["to_level"]])
        for batch in _batches([row for _, row in pending.proposed]):
            self.session.execute(insert(escalations), batch)
        for resolved in _batches(pending.resolved):
            self.session.execute(records.escalation_resolve(), resolved)
        if pending.acceptances:
            self.session.execute(insert(table(RiskAcceptance)), pending.acceptances)
        self.totals["escalations"] += len(pending.proposed)
        self.totals["acceptances"] += len(pending.acceptances)

    def _decide(
        self,
        risk: PlannedRisk,
        row: dict[str, Any],
        assessment_id: int,
        spec: CycleSpec,
        decisions: Decisions,
        pending: _Pending,
    ) -> None:
        """The task force's decisions on a risk at the last closed cycle."""
        template, risk_id = risk.template, row["risk_id"]
        if risk.closed_in == LAST_CLOSED:
            decisions.add(risk_id, Decision.CLOSE, template.closed_reason)
        if template.promoted:
            decisions.add(risk_id, Decision.PROMOTE_TO_CORPORATE, records.PROMOTED)
        if template.decision:
            decisions.add(risk_id, *template.decision)
        # Acceptance is for above appetite only: never outside tolerance (domain.md (d)).
        if template.accepted and row["zone"] == Zone.ABOVE_APPETITE:
            until = records.acceptance_expiry(spec)
            decisions.add(risk_id, Decision.ACCEPT_ABOVE_APPETITE, f"Accepted above appetite until {until}.")
            pending.acceptances.append(
                records.acceptance_row(
                    risk_id, assessment_id, row["residual_band"], self.scales, spec, self.user_ids["taskforce"]
                )
            )
