"""Read side of the register: the scoped list (filters, sort, pages), the home page counts, one risk by reference.

Every query starts from `access.risk_scope(user)`, so a department user never lists, counts or finds another
unit's risk, and nobody sees a deleted one outside the "deleted" view (security.md B3, B5, J4). The number of
statements per page is fixed whatever the page size: rows eager-load what they show, extras come in one query
per page. Filter values come from the query string; anything not on an allow-list is ignored, never an error.

At 100,000 risks (issue R8, bench/register_bench.py) the list stays an index walk: the total is the sum of the
zone counts (one index-only aggregate, no separate count), each sort order is cut into parts that an index
returns in order (non-NULL keys, then NULL keys; the zone sort one zone at a time, sized by the zone counts),
and a page is the ids from a narrow index scan joined back to the rows, read from whichever end of its part is
nearer, so no page ever skips more than half of the list. Text search goes through `search` (full-text index,
ranked).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, asc, desc, exists, func, or_, select
from sqlalchemy.orm import Session, joinedload

from riskreg.access import risk_scope, sees_all_units
from riskreg.appetite import Zone
from riskreg.models import (
    Action,
    ActionStatus,
    Escalation,
    EscalationStatus,
    OrgUnit,
    Risk,
    RiskCategory,
    RiskStatus,
    User,
)
from riskreg.risks import search

OPEN_RISK_STATUSES = tuple(s for s in RiskStatus if s.is_open)
OPEN_ACTION_STATUSES = tuple(s for s in ActionStatus if s.is_open)
OPEN_ESCALATION_STATUSES = (EscalationStatus.PROPOSED, EscalationStatus.PENDING, EscalationStatus.ACCEPTED)

PAGE_SIZES = (10, 25, 50, 100, 200)
MAX_PAGE = 100_000
TEXT_FILTER_MAX = 200
# Sort keys users may ask for, and the direction each starts with (worst first for scores and zones).
# "relevance" (best match first) is the order of a text search that names no other sort.
SORT_DEFAULT_DIRECTION = {
    "ref": "asc",
    "title": "asc",
    "residual": "desc",
    "zone": "desc",
    "assessed": "desc",
    "relevance": "desc",
}
_TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
# The zone sort, worst first: one index range per zone, in this order (reversed for "asc").
_ZONES_WORST_FIRST = (Zone.OUTSIDE_TOLERANCE, Zone.ABOVE_APPETITE, Zone.WITHIN_APPETITE, Zone.NOT_EVALUATED)


@dataclass(frozen=True)
class RegisterFilters:
    """What the register list shows: filters, sort and page, as parsed from the query string."""

    unit: str = ""
    category: str = ""
    band: str = ""
    zone: str = ""
    status: str = ""  # "" any, "open" any open status, or a RiskStatus value
    owner: str = ""
    q: str = ""
    overdue: bool = False  # risks with at least one overdue action
    due: bool = False  # open risks whose next review date has passed
    escalated: bool = False  # risks with an open escalation
    sort: str = "residual"
    direction: str = "desc"
    page: int = 1
    per_page: int = 0  # 0: the configured default

    @property
    def narrowed(self) -> bool:
        """True when any filter (not sort or page) is set."""
        default = RegisterFilters()
        names = ("unit", "category", "band", "zone", "status", "owner", "q", "overdue", "due", "escalated")
        return any(getattr(self, n) != getattr(default, n) for n in names)

    def query_args(self, **changes: object) -> dict[str, str]:
        """The non-default values as query-string arguments (for links), with `changes` applied."""
        target = replace(self, **changes)  # type: ignore[arg-type]
        default = RegisterFilters()
        args: dict[str, str] = {}
        for f in fields(self):
            value = getattr(target, f.name)
            if value == getattr(default, f.name) and not (f.name == "direction" and target.sort != default.sort):
                continue
            args[f.name] = ("1" if value else "") if isinstance(value, bool) else str(value)
        return args


def _text(value: str | None, limit: int = TEXT_FILTER_MAX) -> str:
    # Control characters cannot match anything users typed, and PostgreSQL refuses NUL in a string.
    if not value:
        return ""
    cleaned = "".join(" " if (ch < " " or ch == "\x7f") else ch for ch in value[: limit * 4])
    return cleaned.strip()[:limit]


def _number(value: str | None, lowest: int, highest: int, default: int) -> int:
    if not value or len(value) > 7 or not value.isascii() or not value.isdigit():
        return default
    number = int(value)
    return number if lowest <= number <= highest else default


def parse_filters(args: Mapping[str, str], band_names: Sequence[str]) -> RegisterFilters:
    """Read the list's query string; unknown or malformed values fall back to "not set"."""
    band = _text(args.get("band"), 40)
    band = next((name for name in band_names if name.lower() == band.lower()), "") if band else ""
    zone = _text(args.get("zone"), 40)
    status = _text(args.get("status"), 40)
    q = _text(args.get("q"))
    sort = _text(args.get("sort"), 20)
    if sort not in SORT_DEFAULT_DIRECTION or (sort == "relevance" and not q):
        # A search that names no sort lists the best matches first.
        sort = "relevance" if q and not sort else RegisterFilters.sort
    direction = _text(args.get("dir") or args.get("direction"), 10)
    per_page = _number(args.get("per_page"), 1, max(PAGE_SIZES), 0)
    return RegisterFilters(
        unit=_text(args.get("unit"), 20),
        category=_text(args.get("category"), 10),
        band=band,
        zone=zone if zone in Zone._value2member_map_ else "",
        status=status if status == "open" or status in RiskStatus._value2member_map_ else "",
        owner=_text(args.get("owner")),
        q=q,
        overdue=_text(args.get("overdue"), 5).lower() in _TRUE_WORDS,
        due=_text(args.get("due"), 5).lower() in _TRUE_WORDS,
        escalated=_text(args.get("escalated"), 5).lower() in _TRUE_WORDS,
        sort=sort,
        direction=direction if direction in ("asc", "desc") else SORT_DEFAULT_DIRECTION[sort],
        page=_number(args.get("page"), 1, MAX_PAGE, 1),
        per_page=per_page if per_page in PAGE_SIZES else 0,
    )


def overdue_condition(today: date) -> ColumnElement[bool]:
    """An action that is still open after its (revised) due date."""
    return and_(
        Action.status.in_(OPEN_ACTION_STATUSES),
        func.coalesce(Action.revised_due_date, Action.due_date) < today,
    )


def review_is_due(next_review: date | None, as_at: date) -> bool:
    """The one definition of "review due", for the home page, the register filter and a cycle's review list:
    the risk's next review date (its last assessment plus its band's review interval) has passed on `as_at`.
    """
    return next_review is not None and next_review < as_at


def review_due_condition(today: date) -> ColumnElement[bool]:
    """`review_is_due` in SQL, for open risks (next_review_due is stored with each assessment)."""
    return and_(Risk.status.in_(OPEN_RISK_STATUSES), Risk.next_review_due < today)


def register_conditions(user: User, filters: RegisterFilters, today: date) -> list[ColumnElement[bool]]:
    """The WHERE clauses of the list: the user's scope first, then each filter that is set."""
    conditions: list[ColumnElement[bool]] = [risk_scope(user)]
    if filters.unit:
        unit_id = select(OrgUnit.id).where(OrgUnit.code == filters.unit).scalar_subquery()
        conditions.append(Risk.org_unit_id == unit_id)
    if filters.category:
        category_id = select(RiskCategory.id).where(RiskCategory.code == filters.category).scalar_subquery()
        conditions.append(Risk.category_id == category_id)
    if filters.band:
        conditions.append(Risk.residual_band == filters.band)
    if filters.zone:
        conditions.append(Risk.zone == Zone(filters.zone))
    if filters.status == "open":
        conditions.append(Risk.status.in_(OPEN_RISK_STATUSES))
    elif filters.status:
        conditions.append(Risk.status == RiskStatus(filters.status))
    if filters.owner:
        conditions.append(Risk.owner_title.icontains(filters.owner, autoescape=True))
    if filters.q:
        conditions.append(search.text_condition(filters.q))
    # "With overdue actions" and "open escalation" are sets of risk ids computed once (an uncorrelated IN, not an
    # EXISTS probe per risk). `id + 0` keeps SQLite from fetching every listed row by its id (tens of thousands
    # of wide rows for "overdue"): it walks the sort's narrow index instead and checks each id against the set.
    if filters.overdue:
        conditions.append((Risk.id + 0).in_(select(Action.risk_id).where(overdue_condition(today))))
    if filters.due:
        conditions.append(review_due_condition(today))
    if filters.escalated:
        open_escalation = Escalation.status.in_(OPEN_ESCALATION_STATUSES)
        conditions.append((Risk.id + 0).in_(select(Escalation.risk_id).where(open_escalation)))
    return conditions


@dataclass(frozen=True)
class _Counts:
    """Listed risks by zone, and of those the ones with a residual score (the default sort key)."""

    zones: dict[str, int]
    scored: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.zones.values())  # zone is NOT NULL: every listed risk is in exactly one group


def _count(session: Session, conditions: list[ColumnElement[bool]]) -> _Counts:
    """One aggregate, index-only over the live rows when no filter needs other columns."""
    query = select(Risk.zone, func.count(), func.count(Risk.residual_score)).where(*conditions).group_by(Risk.zone)
    zones: dict[str, int] = {}
    scored: dict[str, int] = {}
    for zone, count, with_score in session.execute(query):
        zones[Zone(zone).value] = count
        scored[Zone(zone).value] = with_score
    return _Counts(zones, scored)


@dataclass(frozen=True)
class _Part:
    """A stretch of the list's order that one index returns in order: its extra condition, keys and size."""

    where: tuple[ColumnElement[bool], ...]
    keys: tuple[Any, ...]  # columns, each sorted in the list's direction; Risk.id last
    size: int


def _parts(
    session: Session, conditions: list[ColumnElement[bool]], filters: RegisterFilters, counts: _Counts
) -> list[_Part]:
    """The list's order as index-friendly parts. NULL sort keys come last in either direction (as before), so a
    nullable key is two parts: its non-NULL values, then the NULLs by id. The sizes come from the zone counts,
    which also count non-NULL residual scores; the "assessed" sort counts its NULL dates (an index range).
    """
    if filters.sort in ("ref", "title"):
        column = Risk.ref if filters.sort == "ref" else Risk.title
        return [_Part((), (column, Risk.id), counts.total)]
    if filters.sort == "assessed":
        key: Any = Risk.last_assessed_on
        nulls = session.scalar(select(func.count()).select_from(Risk).where(*conditions, key.is_(None))) or 0
    else:
        key = Risk.residual_score
        nulls = counts.total - sum(counts.scored.values())
    if filters.sort != "zone":
        return [
            _Part((key.is_not(None),), (key, Risk.id), counts.total - nulls),
            _Part((key.is_(None),), (Risk.id,), nulls),
        ]
    zones = _ZONES_WORST_FIRST if filters.direction == "desc" else _ZONES_WORST_FIRST[::-1]
    parts = []
    for zone in zones:
        size, scored = counts.zones.get(zone.value, 0), counts.scored.get(zone.value, 0)
        parts.append(_Part((Risk.zone == zone, key.is_not(None)), (key, Risk.id), scored))
        parts.append(_Part((Risk.zone == zone, key.is_(None)), (Risk.id,), size - scored))
    return parts


def _keys_sql(keys: Sequence[Any], descending: bool) -> list[Any]:
    return [k.desc() if descending else k.asc() for k in keys]


def _part_rows(
    session: Session, conditions: list[ColumnElement[bool]], part: _Part, descending: bool, start: int, count: int
) -> list[Risk]:
    """`count` rows of `part` from position `start`: the ids from an index scan (entered from the nearer end,
    so at most half the part is skipped), then those rows with their unit and category.
    """
    from_end = start > part.size - start - count
    offset = max(0, part.size - start - count) if from_end else start
    ids = (
        select(Risk.id)
        .where(*conditions, *part.where)
        .order_by(*_keys_sql(part.keys, descending != from_end))
        .limit(count)
        .offset(offset)
        .subquery("page_ids")
    )
    query = (
        select(Risk)
        .join(ids, ids.c.id == Risk.id)
        .options(joinedload(Risk.org_unit), joinedload(Risk.category))
        .order_by(*_keys_sql(part.keys, descending))
    )
    return list(session.scalars(query).unique())


def _ranked_rows(
    session: Session, conditions: list[ColumnElement[bool]], filters: RegisterFilters, offset: int, count: int
) -> list[Risk] | None:
    """A text search's rows, best match first; None when the query is not answered by an index (no ranking).
    The ranking sorts (id, relevance) pairs, and only the page's rows are read whole.
    """
    hits, relevance = search.rank_source(session.get_bind().dialect.name, filters.q)
    if relevance is None:
        return None
    ranked = select(Risk.id.label("id"), relevance.label("relevance")).where(*conditions)
    if hits is not None:
        ranked = ranked.join(hits, hits.c.risk_id == Risk.id)
    descending = filters.direction == "desc"
    by_rank: list[Any] = [desc("relevance"), desc("id")] if descending else [asc("relevance"), asc("id")]
    page_ids = ranked.order_by(*by_rank).limit(count).offset(offset).subquery("page_ids")
    order = [page_ids.c.relevance.desc(), Risk.id.desc()] if descending else [page_ids.c.relevance, Risk.id]
    query = (
        select(Risk)
        .join(page_ids, page_ids.c.id == Risk.id)
        .options(joinedload(Risk.org_unit), joinedload(Risk.category))
        .order_by(*order)
    )
    return list(session.scalars(query).unique())


def _page_rows(
    session: Session,
    conditions: list[ColumnElement[bool]],
    filters: RegisterFilters,
    counts: _Counts,
    offset: int,
    count: int,
) -> list[Risk]:
    if filters.sort == "relevance":
        ranked = _ranked_rows(session, conditions, filters, offset, count)
        if ranked is not None:
            return ranked
        filters = replace(filters, sort=RegisterFilters.sort, direction=RegisterFilters.direction)
    descending = filters.direction == "desc"
    rows: list[Risk] = []
    position = 0
    for part in _parts(session, conditions, filters, counts):
        begin, end = max(offset, position), min(offset + count, position + part.size)
        if begin < end:
            rows.extend(_part_rows(session, conditions, part, descending, begin - position, end - begin))
        position += part.size
        if position >= offset + count:
            break
    return rows


@dataclass
class RegisterPage:
    rows: list[Risk]
    total: int
    page: int
    pages: int
    per_page: int
    zone_counts: dict[str, int]
    overdue_by_risk: dict[int, int]

    @property
    def first(self) -> int:
        return 0 if not self.total else (self.page - 1) * self.per_page + 1

    @property
    def last(self) -> int:
        return min(self.total, self.page * self.per_page)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def register_page(
    session: Session, user: User, filters: RegisterFilters, *, today: date, default_per_page: int
) -> RegisterPage:
    """One page of the list in three statements: the zone counts (their sum is the total), the rows with their
    unit and category (one query per part of the order the page spans, nearly always one; the "assessed" sort
    adds a count of undated risks), and the overdue actions of those rows.
    """
    conditions = register_conditions(user, filters, today)
    per_page = filters.per_page or default_per_page
    counts = _count(session, conditions)
    total = counts.total
    pages = max(1, math.ceil(total / per_page))
    page = min(filters.page, pages)
    rows = _page_rows(session, conditions, filters, counts, (page - 1) * per_page, per_page) if total else []
    overdue: dict[int, int] = {}
    if rows:
        overdue_query = (
            select(Action.risk_id, func.count())
            .where(Action.risk_id.in_([r.id for r in rows]), overdue_condition(today))
            .group_by(Action.risk_id)
        )
        overdue = {risk_id: count for risk_id, count in session.execute(overdue_query)}
    return RegisterPage(rows, total, page, pages, per_page, counts.zones, overdue)


def deleted_risks(session: Session, user: User) -> list[Risk]:
    """Soft-deleted risks in the user's scope, most recently deleted first."""
    query = (
        select(Risk)
        .options(joinedload(Risk.org_unit), joinedload(Risk.category))
        .where(risk_scope(user, include_deleted=True), Risk.deleted_at.is_not(None))
        .order_by(Risk.deleted_at.desc(), Risk.id.desc())
    )
    return list(session.scalars(query).unique())


def find_risk(session: Session, user: User, ref: str, *, include_deleted: bool = False) -> Risk | None:
    """The risk with this reference if the user may read it; None for unknown and out-of-scope alike."""
    if not ref or len(ref) > 40 or not ref.isprintable():
        return None  # no reference has control characters (and PostgreSQL refuses NUL in a string)
    query = (
        select(Risk)
        .options(joinedload(Risk.org_unit), joinedload(Risk.category), joinedload(Risk.updated_by))
        .where(Risk.ref == ref, risk_scope(user, include_deleted=include_deleted))
    )
    return session.scalars(query).unique().first()


# --------------------------------------------------------------------------- home page


@dataclass
class UnitSummary:
    """What needs attention in one unit (or, as the total row, in the whole scope)."""

    code: str
    name: str
    risks: int = 0
    zones: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    bands: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    overdue_actions: int = 0
    reviews_due: int = 0
    escalations: int = 0

    def add(self, other: UnitSummary) -> None:
        self.risks += other.risks
        for zone, count in other.zones.items():
            self.zones[zone] += count
        for band, count in other.bands.items():
            self.bands[band] += count
        self.overdue_actions += other.overdue_actions
        self.reviews_due += other.reviews_due
        self.escalations += other.escalations


@dataclass
class HomeSummary:
    units: list[UnitSummary]
    total: UnitSummary
    overdue_actions: list[Action]
    reviews_due: list[Risk]
    escalations: list[Escalation]


def home_summary(session: Session, user: User, *, today: date, list_limit: int = 10) -> HomeSummary:
    """Counts per unit (open risks by zone and band, overdue actions, reviews due, open escalations) and the
    first few items of each list, in a fixed number of statements.
    """
    # Closed, realised and merged risks have left the active register: their actions and escalations need no one.
    scope = and_(risk_scope(user), Risk.status.in_(OPEN_RISK_STATUSES))
    units_query = select(OrgUnit).order_by(OrgUnit.code)
    if sees_all_units(user):
        has_risks = exists().where(Risk.org_unit_id == OrgUnit.id, scope)
        units_query = units_query.where(or_(OrgUnit.active, has_risks))
    else:
        units_query = units_query.where(OrgUnit.id == user.org_unit_id)
    summaries = {u.id: UnitSummary(u.code, u.name) for u in session.scalars(units_query)}

    open_risks = select(Risk.org_unit_id, Risk.zone, Risk.residual_band, func.count()).where(
        scope, Risk.status.in_(OPEN_RISK_STATUSES)
    )
    for unit_id, zone, band, count in session.execute(
        open_risks.group_by(Risk.org_unit_id, Risk.zone, Risk.residual_band)
    ):
        summary = summaries.get(unit_id)
        if summary is None:
            continue
        summary.risks += count
        summary.zones[Zone(zone).value] += count
        if band:
            summary.bands[band] += count

    overdue = select(Risk.org_unit_id, func.count()).select_from(Action).join(Risk, Risk.id == Action.risk_id)
    for unit_id, count in session.execute(overdue.where(scope, overdue_condition(today)).group_by(Risk.org_unit_id)):
        if unit_id in summaries:
            summaries[unit_id].overdue_actions = count
    due = select(Risk.org_unit_id, func.count()).where(scope, review_due_condition(today))
    for unit_id, count in session.execute(due.group_by(Risk.org_unit_id)):
        if unit_id in summaries:
            summaries[unit_id].reviews_due = count
    escalated = select(Risk.org_unit_id, func.count()).select_from(Escalation).join(Risk, Risk.id == Escalation.risk_id)
    open_escalation = Escalation.status.in_(OPEN_ESCALATION_STATUSES)
    for unit_id, count in session.execute(escalated.where(scope, open_escalation).group_by(Risk.org_unit_id)):
        if unit_id in summaries:
            summaries[unit_id].escalations = count

    total = UnitSummary("", "All units")
    for summary in summaries.values():
        total.add(summary)

    overdue_actions = session.scalars(
        select(Action)
        .join(Risk, Risk.id == Action.risk_id)
        .options(joinedload(Action.risk))
        .where(scope, overdue_condition(today))
        .order_by(func.coalesce(Action.revised_due_date, Action.due_date), Action.id)
        .limit(list_limit)
    ).unique()
    reviews_due = session.scalars(
        select(Risk)
        .options(joinedload(Risk.org_unit))
        .where(scope, review_due_condition(today))
        .order_by(Risk.next_review_due, Risk.id)
        .limit(list_limit)
    ).unique()
    escalations = session.scalars(
        select(Escalation)
        .join(Risk, Risk.id == Escalation.risk_id)
        .options(joinedload(Escalation.risk))
        .where(scope, open_escalation)
        .order_by(Escalation.raised_on.desc(), Escalation.id.desc())
        .limit(list_limit)
    ).unique()
    return HomeSummary(list(summaries.values()), total, list(overdue_actions), list(reviews_due), list(escalations))


# --------------------------------------------------------------------------- choices for forms and filters


def unit_options(session: Session, user: User, *, active_only: bool = False) -> list[tuple[str, str]]:
    """(code, "code — name") for the units the user can see."""
    query = select(OrgUnit.code, OrgUnit.name).order_by(OrgUnit.code)
    if active_only:
        query = query.where(OrgUnit.active)
    if not sees_all_units(user):
        query = query.where(OrgUnit.id == user.org_unit_id)
    return [(code, f"{code} — {name}") for code, name in session.execute(query)]


def category_options(session: Session, *, active_only: bool = False) -> list[tuple[int, str, str]]:
    """(id, code, name) of the risk categories in taxonomy order."""
    query = select(RiskCategory.id, RiskCategory.code, RiskCategory.name).order_by(
        RiskCategory.sort_order, RiskCategory.code
    )
    if active_only:
        query = query.where(RiskCategory.active)
    return [(id_, code, name) for id_, code, name in session.execute(query)]
