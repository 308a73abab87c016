"""The JSON API for actions, outcomes and statistics (OpenAPI at /api/openapi.json). Thin: every
request is one call of ``outcomes.services`` (role checks and audit there); state changes need
the session's CSRF token like every other one."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from safeguard.outcomes import layouts
from safeguard.outcomes import services as svc
from safeguard.outcomes.codes import OutcomeIn, OutcomeRecord
from safeguard.outcomes.kinds import ActionIn
from safeguard.outcomes.periods import DEFAULT_TZ, Period
from safeguard.outcomes.statistics import STATISTICS
from safeguard.store.outcomes import Scope
from safeguard.web.deps import Checked, SignedIn, Viewer, store

router = APIRouter(prefix="/api", tags=["actions, outcomes and statistics"])
MAX_ROLLUP = 64 * 1024 * 1024


def actor(who: Viewer) -> svc.Actor:
    return svc.Actor(who.user_id, who.username, who.role)


class ActionBody(BaseModel):
    kind: str = Field(max_length=40)
    occurred_at: datetime = Field(description="With its UTC offset.")
    force: str = Field(max_length=40)
    target_kind: str = Field(max_length=20, description="subject, referral or case")
    target_ref: str = Field(max_length=100)
    fields: dict[str, Any] = Field(default_factory=dict, max_length=50)
    person: str | None = Field(
        None, max_length=400, description="hid:/local: key, or email:/phone:/pnc:/passport:"
    )
    team: str | None = Field(None, max_length=100)
    operation: str | None = Field(None, max_length=100)
    band: str | None = Field(None, max_length=20)
    referral_received_at: datetime | None = None


class CorrectionBody(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)
    occurred_at: datetime | None = None
    force: str | None = Field(None, max_length=40)
    team: str | None = Field(None, max_length=100)
    operation: str | None = Field(None, max_length=100)
    band: str | None = Field(None, max_length=20)
    fields: dict[str, Any] | None = Field(None, max_length=50)


class WithdrawBody(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class OutcomeBody(BaseModel):
    crime_ref: str = Field(max_length=100)
    code: int = Field(ge=-1000, le=1000)
    sub_code: str | None = Field(None, max_length=10)
    decided_at: datetime
    force: str = Field(max_length=40)
    team: str | None = Field(None, max_length=100)
    operation: str | None = Field(None, max_length=100)
    target_kind: str | None = Field(None, max_length=20)
    target_ref: str | None = Field(None, max_length=100)
    details: dict[str, Any] = Field(default_factory=dict, max_length=10)
    referral_received_at: datetime | None = None
    reason: str | None = Field(None, max_length=2000, description="To correct an outcome.")


def action_json(row: Any) -> dict[str, Any]:
    return {
        "ref": row.ref,
        "version": row.version,
        "withdrawn": row.withdrawn,
        "kind": row.kind,
        "occurred_at": row.occurred_at.isoformat(),
        "force": row.force,
        "team": row.team,
        "operation": row.operation,
        "target": {"kind": row.target_kind, "ref": row.target_ref},
        "person_key": row.person_key,
        "band": row.band,
        "fields": json.loads(row.details),
        "reason": row.reason,
        "recorded_by": row.recorded_by,
        "recorded_at": row.recorded_at.isoformat(),
    }


def _aware(moment: datetime | None, what: str) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        raise svc.OutcomeError([f"{what} needs its UTC offset"])
    return moment


@router.post("/actions", status_code=201)
def record_action(body: ActionBody, request: Request, who: Checked) -> dict[str, Any]:
    """Record an action on a subject, referral or case. Audited."""
    with store(request, write=True) as session:
        action = ActionIn(
            kind=body.kind,
            occurred_at=_aware(body.occurred_at, "occurred_at"),
            force=body.force,
            target_kind=body.target_kind,
            target_ref=body.target_ref,
            fields=body.fields,
            person_key=svc.resolve_person(body.person, body.target_kind, body.target_ref),
            team=body.team,
            operation=body.operation,
            band=body.band,
            referral_received_at=_aware(body.referral_received_at, "referral_received_at"),
        )
        return action_json(svc.record_action(session, actor(who), action))


@router.get("/actions")
def list_actions(
    request: Request,
    who: SignedIn,
    target_kind: Annotated[str | None, Query(max_length=20)] = None,
    target_ref: Annotated[str | None, Query(max_length=100)] = None,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    force: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    """Current actions, newest first."""
    target = (target_kind, target_ref) if target_kind and target_ref else None
    with store(request) as session:
        rows = svc.list_actions(
            session, actor(who), Scope(force=force), target=target, kind=kind, limit=limit
        )
        return [action_json(r) for r in rows]


@router.get("/actions/{ref}/history")
def action_history(ref: str, request: Request, who: SignedIn) -> list[dict[str, Any]]:
    """Every version of the action, oldest first."""
    with store(request) as session:
        return [action_json(r) for r in svc.action_history(session, actor(who), ref)]


@router.post("/actions/{ref}/corrections", status_code=201)
def correct_action(
    ref: str, body: CorrectionBody, request: Request, who: Checked
) -> dict[str, Any]:
    """A new version of the action (the old one stays in its history). Audited."""
    changes = body.model_dump(exclude_unset=True, exclude={"reason"})
    if "occurred_at" in changes:
        _aware(changes["occurred_at"], "occurred_at")
    with store(request, write=True) as session:
        return action_json(svc.correct_action(session, actor(who), ref, body.reason, changes))


@router.post("/actions/{ref}/withdraw", status_code=201)
def withdraw_action(ref: str, body: WithdrawBody, request: Request, who: Checked) -> dict[str, Any]:
    with store(request, write=True) as session:
        return action_json(svc.withdraw_action(session, actor(who), ref, body.reason))


@router.post("/outcomes", status_code=201)
def record_outcome(body: OutcomeBody, request: Request, who: Checked) -> dict[str, Any]:
    """A crime's Home Office outcome (a second one for the same crime needs a reason)."""
    decided = _aware(body.decided_at, "decided_at")
    record = OutcomeRecord(
        OutcomeIn(body.crime_ref, body.code, decided.date(), body.sub_code, body.details),
        decided,
        body.force,
        body.team,
        body.operation,
        body.target_kind,
        body.target_ref,
        None,
        _aware(body.referral_received_at, "referral_received_at"),
    )
    with store(request, write=True) as session:
        row = svc.record_outcome(session, actor(who), record, body.reason)
        return {"crime_ref": row.crime_ref, "code": row.code, "version": row.version}


@router.get("/statistics/definitions")
def definitions(who: SignedIn) -> list[dict[str, str]]:
    """What each statistic counts and how it counts a person or child once."""
    return [
        {"key": s.key, "label": s.label, "definition": s.definition, "count_once": s.count_once}
        for s in STATISTICS
    ]


def period_of(first: date, last: date, tz: str) -> Period:
    try:
        return Period(first, last, tz)
    except ValueError as error:
        raise svc.OutcomeError([str(error)]) from None


@router.get("/statistics")
def statistics(
    request: Request,
    who: SignedIn,
    first: Annotated[date, Query(alias="from")],
    last: Annotated[date, Query(alias="to")],
    layout: Annotated[str, Query(max_length=20)] = "snapshot",
    force: Annotated[str | None, Query(max_length=40)] = None,
    team: Annotated[str | None, Query(max_length=100)] = None,
    operation: Annotated[str | None, Query(max_length=100)] = None,
    tz: Annotated[str, Query(max_length=60)] = DEFAULT_TZ,
) -> dict[str, Any]:
    """Statistics for a period (both days included, local to ``tz``) and unit."""
    scope = Scope(force, team, operation)
    with store(request) as session:
        table = svc.statistics_table(session, actor(who), period_of(first, last, tz), scope, layout)
        return layouts.as_dict(table)


@router.get("/statistics/national")
def national(
    request: Request,
    who: SignedIn,
    first: Annotated[date, Query(alias="from")],
    last: Annotated[date, Query(alias="to")],
    tz: Annotated[str, Query(max_length=60)] = DEFAULT_TZ,
) -> dict[str, Any]:
    """The national table from the imported, verified force files for exactly this period."""
    with store(request) as session:
        table = svc.national_table(session, actor(who), period_of(first, last, tz))
        return {
            **layouts.as_dict(svc.national_as_table(table)),
            "forces": list(table.forces),
            "national": dict(table.national),
            "deduplicated": dict(table.deduplicated),
            "per_force": {k: dict(v) for k, v in table.per_force.items()},
        }


@router.post("/statistics/rollups", status_code=201)
async def import_rollup(request: Request, who: Checked) -> JSONResponse:
    """Import a force's signed statistics file (the request body). Refused: 422 with why."""
    data = b""
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_ROLLUP:
            return JSONResponse({"detail": "the file is too large"}, status_code=413)
    name = request.headers.get("X-File-Name", "upload.json")[:100]
    with store(request, write=True) as session:
        result = svc.import_rollup(session, actor(who), data, name)
    if not result.accepted:
        return JSONResponse({"detail": result.error}, status_code=422)
    return JSONResponse({"force": result.force, "file": name}, status_code=201)
