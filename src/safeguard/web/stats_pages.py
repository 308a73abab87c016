"""Pages for actions, outcomes and the statistics dashboard (charts drawn on the server as SVG).
Thin: forms are parsed here and handed to ``outcomes.services``."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from safeguard.outcomes import charts, layouts
from safeguard.outcomes import services as svc
from safeguard.outcomes.codes import (
    CRITERIA_21,
    IMAGES_DONE,
    OUTCOME_TYPES,
    OutcomeIn,
    OutcomeRecord,
)
from safeguard.outcomes.kinds import BANDS, KINDS, TARGET_KINDS, ActionIn, parse_pairs
from safeguard.outcomes.periods import DEFAULT_TZ, Period, PeriodError, parse_moment
from safeguard.outcomes.statistics import BY_KEY
from safeguard.store.outcomes import Scope
from safeguard.web.deps import Checked, SignedIn, Viewer, store
from safeguard.web.pages import _page
from safeguard.web.stats_api import actor

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form(max_length=200)]
OptText = Annotated[str, Form(max_length=200)]


def _period(first: str | None, last: str | None, tz: str) -> Period:
    today = datetime.now(UTC).date()
    try:
        start = date.fromisoformat(first) if first else date(today.year, 1, 1)
        end = date.fromisoformat(last) if last else today
        return Period(start, end, tz)
    except ValueError as error:
        raise svc.OutcomeError([f"the period: {error}"]) from None


@router.get("/stats", response_class=HTMLResponse)
def dashboard(
    request: Request,
    who: SignedIn,
    first: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    last: Annotated[str | None, Query(alias="to", max_length=10)] = None,
    force: Annotated[str | None, Query(max_length=40)] = None,
    team: Annotated[str | None, Query(max_length=100)] = None,
    operation: Annotated[str | None, Query(max_length=100)] = None,
    layout: Annotated[str, Query(max_length=20)] = "yoy",
    tz: Annotated[str, Query(max_length=60)] = DEFAULT_TZ,
) -> Response:
    """Figures with their definitions, charts (by month, by band, by outcome) and a layout."""
    period = _period(first, last, tz)
    scope = Scope(force or None, team or None, operation or None)
    with store(request) as session:
        board = svc.dashboard(session, actor(who), period, scope)
        table = svc.statistics_table(session, actor(who), period, scope, layout)
        months = [m for m, _, _ in board.monthly]
        svgs = [
            charts.bar_chart(
                "People arrested and children safeguarded, by month",
                months,
                [
                    ("People arrested", [a for _, a, _ in board.monthly]),
                    ("Children safeguarded", [c for _, _, c in board.monthly]),
                ],
            ),
            charts.bar_chart(
                "People arrested by KIRAT band",
                list(board.by_band),
                [("People arrested", list(board.by_band.values()))],
                width=420,
            ),
            charts.bar_chart(
                "Crimes by Home Office outcome type",
                [f"{c}" for c in sorted(board.by_outcome)],
                [("Crimes", [board.by_outcome[c] for c in sorted(board.by_outcome)])],
                width=420,
            ),
        ]
        figures = [(BY_KEY[k], v) for k, v in board.figures.values.items() if k in BY_KEY]
        return _page(
            request,
            "stats.html",
            who,
            session,
            period=period,
            scope=scope,
            figures=figures,
            charts=[Markup(svg) for svg in svgs],  # built from escaped text only
            table=table,
            layouts=layouts.LAYOUTS,
            layout=layout,
            query={
                "from": period.first.isoformat(),
                "to": period.last.isoformat(),
                "force": force or "",
                "team": team or "",
                "operation": operation or "",
                "tz": tz,
            },
        )


@router.get("/stats/download")
def download(
    request: Request,
    who: SignedIn,
    first: Annotated[str, Query(alias="from", max_length=10)],
    last: Annotated[str, Query(alias="to", max_length=10)],
    fmt: Annotated[str, Query(alias="format", max_length=10)] = "csv",
    layout: Annotated[str, Query(max_length=20)] = "full",
    force: Annotated[str | None, Query(max_length=40)] = None,
    team: Annotated[str | None, Query(max_length=100)] = None,
    operation: Annotated[str | None, Query(max_length=100)] = None,
    tz: Annotated[str, Query(max_length=60)] = DEFAULT_TZ,
) -> Response:
    if fmt not in layouts.FORMATS:
        raise svc.OutcomeError([f"format must be one of {', '.join(layouts.FORMATS)}"])
    period = _period(first, last, tz)
    with store(request) as session:
        table = svc.statistics_table(
            session,
            actor(who),
            period,
            Scope(force or None, team or None, operation or None),
            layout,
        )
    media = {
        "text": "text/plain",
        "json": "application/json",
        "csv": "text/csv",
        "html": "text/html",
    }
    name = f"statistics-{layout}-{period.first}-{period.last}.{'txt' if fmt == 'text' else fmt}"
    return Response(
        layouts.render(table, fmt),
        media_type=media[fmt] + "; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- actions -------------------------------------------------------------------------------------


def _actions_page(
    request: Request,
    who: Viewer,
    problems: list[str] | None = None,
    form: dict | None = None,
    recorded: str | None = None,
) -> Response:
    with store(request) as session:
        rows = svc.list_actions(session, actor(who), limit=50)
        return _page(
            request,
            "actions.html",
            who,
            session,
            rows=rows,
            kinds=KINDS,
            targets=TARGET_KINDS,
            bands=BANDS,
            problems=problems or [],
            form=form or {},
            recorded=recorded,
            status_code=422 if problems else 200,
        )


@router.get("/actions", response_class=HTMLResponse)
def actions(
    request: Request, who: SignedIn, recorded: Annotated[str | None, Query(max_length=40)] = None
) -> Response:
    return _actions_page(request, who, recorded=recorded)


def _moment(text: str, tz: str, what: str) -> datetime:
    try:
        return parse_moment(text, tz)
    except PeriodError as error:
        raise svc.OutcomeError([f"{what}: {error}"]) from None


@router.post("/actions")
def record_action(
    request: Request,
    who: Checked,
    kind: Text,
    target_kind: Text,
    target_ref: Text,
    occurred_at: Text,
    force: Text,
    team: OptText = "",
    operation: OptText = "",
    person: Annotated[str, Form(max_length=400)] = "",
    band: OptText = "",
    referral_received: OptText = "",
    fields: Annotated[str, Form(max_length=20000)] = "",
) -> Response:
    form = dict(
        kind=kind,
        target_kind=target_kind,
        target_ref=target_ref,
        occurred_at=occurred_at,
        force=force,
        team=team,
        operation=operation,
        person=person,
        band=band,
        referral_received=referral_received,
        fields=fields,
    )
    parsed, problems = parse_pairs(fields.splitlines())
    try:
        if problems:
            raise svc.OutcomeError(problems)
        with store(request, write=True) as session:
            row = svc.record_action(
                session,
                actor(who),
                ActionIn(
                    kind=kind,
                    occurred_at=_moment(occurred_at, DEFAULT_TZ, "when"),
                    force=force,
                    target_kind=target_kind,
                    target_ref=target_ref,
                    fields={k: v for k, v in parsed.items() if v is not None},
                    person_key=svc.resolve_person(person or None, target_kind, target_ref),
                    team=team or None,
                    operation=operation or None,
                    band=band or None,
                    referral_received_at=_moment(referral_received, DEFAULT_TZ, "referral received")
                    if referral_received
                    else None,
                ),
            )
            ref = row.ref
    except svc.OutcomeError as error:
        return _actions_page(request, who, error.problems, form)
    return RedirectResponse(f"/actions/{ref}?recorded=1", status_code=303)


def _action_page(
    request: Request, who: Viewer, ref: str, problems: list[str] | None = None
) -> Response:
    with store(request) as session:
        history = svc.action_history(session, actor(who), ref)
        current = history[-1]
        return _page(
            request,
            "action.html",
            who,
            session,
            ref=ref,
            history=[(h, json.loads(h.details)) for h in history],
            current=current,
            problems=problems or [],
            status_code=422 if problems else 200,
        )


@router.get("/actions/{ref}", response_class=HTMLResponse)
def action(ref: str, request: Request, who: SignedIn) -> Response:
    return _action_page(request, who, ref[:40])


@router.post("/actions/{ref}/correct")
def correct_action(
    ref: str,
    request: Request,
    who: Checked,
    reason: Annotated[str, Form(max_length=2000)],
    occurred_at: OptText = "",
    fields: Annotated[str, Form(max_length=20000)] = "",
    withdraw: OptText = "",
) -> Response:
    parsed, problems = parse_pairs(fields.splitlines())
    try:
        if problems:
            raise svc.OutcomeError(problems)
        with store(request, write=True) as session:
            if withdraw:
                svc.withdraw_action(session, actor(who), ref, reason)
            else:
                changes: dict[str, Any] = {}
                if occurred_at:
                    changes["occurred_at"] = _moment(occurred_at, DEFAULT_TZ, "when")
                if parsed:
                    changes["fields"] = parsed
                svc.correct_action(session, actor(who), ref, reason, changes)
    except svc.OutcomeError as error:
        return _action_page(request, who, ref, error.problems)
    return RedirectResponse(f"/actions/{ref}", status_code=303)


# --- outcomes ------------------------------------------------------------------------------------


def _outcome_page(
    request: Request,
    who: Viewer,
    problems: list[str] | None = None,
    form: dict | None = None,
    recorded: str | None = None,
) -> Response:
    return _page(
        request,
        "outcome.html",
        who,
        None,
        types=OUTCOME_TYPES,
        criteria=CRITERIA_21,
        images_done=IMAGES_DONE,
        problems=problems or [],
        form=form or {},
        recorded=recorded,
        status_code=422 if problems else 200,
    )


@router.get("/outcomes/new", response_class=HTMLResponse)
def new_outcome(
    request: Request, who: SignedIn, recorded: Annotated[str | None, Query(max_length=100)] = None
) -> Response:
    return _outcome_page(request, who, recorded=recorded)


@router.post("/outcomes")
async def record_outcome(request: Request, who: Checked) -> Response:
    raw = await request.form()
    form = {k: str(v)[:2000] for k, v in raw.items() if isinstance(v, str) and k != "csrf_token"}
    details: dict[str, Any] = {}
    reasons = {c: form[f"reason_{c}"] for c in CRITERIA_21 if form.get(f"reason_{c}", "").strip()}
    if reasons:
        details["criteria_reasons"] = reasons
    for name in ("images_action", "images_notes", "diversion"):
        if form.get(name, "").strip():
            details[name] = form[name]
    try:
        try:
            code = int(form.get("code", ""))
        except ValueError:
            raise svc.OutcomeError(["choose an outcome type"]) from None
        decided = _moment(form.get("decided_at", ""), DEFAULT_TZ, "decided")
        record = OutcomeRecord(
            OutcomeIn(
                form.get("crime_ref", "").strip(),
                code,
                decided.date(),
                form.get("sub_code") or None,
                details,
            ),
            decided,
            form.get("force", ""),
            form.get("team") or None,
            form.get("operation") or None,
        )
        with store(request, write=True) as session:
            svc.record_outcome(session, actor(who), record, form.get("reason") or None)
    except svc.OutcomeError as error:
        return _outcome_page(request, who, error.problems, form)
    return RedirectResponse(f"/outcomes/new?recorded={record.outcome.crime_ref}", status_code=303)
