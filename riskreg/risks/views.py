"""Pages of the register that read: the home page ("what needs me?"), the list, the risk page and its history.

The pages that write live in `editing` (risks, assessments, delete, restore) and `treatment` (controls and
actions); importing them here registers their routes on the blueprint.
"""

from __future__ import annotations

from datetime import date

from flask import current_app, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from riskreg.access import Permission, has_permission, may_edit_risk, requires, sees_all_units
from riskreg.appetite import Zone
from riskreg.models import RiskStatus
from riskreg.risks import (  # noqa: F401 - routes
    bp,
    editing,
    forms,
    history,
    lifecycle,
    lifecycle_views,
    lookup,
    owner_requests,
    queries,
    treatment,
)
from riskreg.web import current_actor

_SORT_LABELS = {
    "ref": "Reference",
    "title": "Title",
    "residual": "Residual score",
    "zone": "Appetite zone",
    "assessed": "Last assessed",
}
STATUS_OPTIONS = [("open", "Open (any open status)")] + [(s.value, s.value.capitalize()) for s in RiskStatus]
ZONE_OPTIONS = [(z.value, z.label) for z in Zone]


@bp.route("/")
@requires(Permission.APPETITE_READ)
def home() -> str:
    user = lookup.user()
    summary = queries.home_summary(lookup.session(), user, today=date.today())
    return render_template(
        "risks/home.html",
        summary=summary,
        all_units=sees_all_units(user),
        band_names=[b.name for b in lookup.scales().bands],
        may_read=has_permission(user, Permission.RISK_READ),
        requests=owner_requests.requests_needing(lookup.session(), user, limit=50),
    )


@bp.route("/risks")
@requires(Permission.RISK_READ)
def index() -> str:
    user = lookup.user()
    scales = lookup.scales()
    band_names = [b.name for b in scales.bands]
    filters = queries.parse_filters(request.args, band_names)
    page = queries.register_page(
        lookup.session(),
        user,
        filters,
        today=date.today(),
        default_per_page=int(current_app.config["REGISTER_PAGE_SIZE"]),
    )
    return render_template(
        "risks/index.html",
        page=page,
        filters=filters,
        units=queries.unit_options(lookup.session(), user),
        categories=queries.category_options(lookup.session()),
        band_names=band_names,
        statuses=STATUS_OPTIONS,
        zones=ZONE_OPTIONS,
        sort_labels=_SORT_LABELS,
        page_sizes=queries.PAGE_SIZES,
        all_units=sees_all_units(user),
    )


@bp.route("/risks/deleted")
@requires(Permission.RISK_RESTORE)
def deleted() -> str:
    risks = queries.deleted_risks(lookup.session(), lookup.user())
    return render_template("risks/deleted.html", risks=risks)


@bp.route("/risks/<ref>")
@requires(Permission.RISK_READ)
def detail(ref: str) -> Response | str:
    risk = lookup.readable_risk(ref)
    session = lookup.session()
    if risk.status == RiskStatus.MERGED:
        # The old reference leads to the risk it lives on in, when the user may read that one.
        survivor = lifecycle.survivor_of(session, risk)
        if survivor is not None and queries.find_risk(session, lookup.user(), survivor.ref) is not None:
            return redirect(url_for("risks.detail", ref=survivor.ref), 302)
    scales = lookup.scales()
    dossier = history.risk_dossier(session, risk, scales)
    actor = current_actor()
    return render_template(
        "risks/detail.html",
        risk=risk,
        dossier=dossier,
        scales=scales,
        today=date.today(),
        # A closed or merged risk is read-only until reopened (operations.ensure_changeable).
        may_edit=may_edit_risk(lookup.user(), risk) and risk.status not in (RiskStatus.CLOSED, RiskStatus.MERGED),
        may_lifecycle=has_permission(lookup.user(), Permission.RISK_LIFECYCLE)
        and lifecycle.may_change_lifecycle(actor, risk),
        lifecycle_events=lifecycle.events_of(session, risk),
        merged_in=[(m, history.risk_dossier(session, m, scales)) for m in lifecycle.merged_into_this(session, risk)],
        requests=owner_requests.open_requests(session, risk),
        answer_form=forms.AnswerForm(),
        validated=history.validated_assessments(session, risk),
    )


@bp.route("/risks/<ref>/history")
@requires(Permission.RISK_READ)
def risk_history(ref: str) -> str:
    risk = lookup.readable_risk(ref)
    dossier = history.risk_dossier(lookup.session(), risk, lookup.scales(), audit_limit=None)
    return render_template("risks/history.html", risk=risk, dossier=dossier)
