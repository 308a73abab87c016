"""The referral hub's pages and JSON API: a front door onto ``safeguard.referrals`` services
(the CLI calls the same ones). Role-checked by the services (intelligence, analyst, supervisor,
admin); every change is audited there."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from safeguard.domain.referrals import SOURCES
from safeguard.referrals import request_rules, resolution, service, views, workflow
from safeguard.referrals.bundle import safe_base
from safeguard.referrals.settings import ReferralSettings
from safeguard.web.deps import Checked, SignedIn, Viewer, store

router = APIRouter()
pages = APIRouter(include_in_schema=False)
MAX_UPLOAD = 32 * 1024 * 1024
SORTS = ("waiting", "received", "-received", "id", "-id")


def actor(who: Viewer) -> service.Actor:
    return service.Actor(who.username, who.user_id, who.role)


async def _bounded(upload: UploadFile) -> bytes:
    data = await upload.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise HTTPException(status_code=413, detail=f"larger than {MAX_UPLOAD} bytes")
    return data


# --- JSON API ---------------------------------------------------------------------------------


@router.get("/api/referrals", tags=["referrals"])
def list_referrals(
    request: Request,
    who: SignedIn,
    state: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI query lists
    source: Annotated[list[str], Query()] = [],  # noqa: B006
    min_age_days: int | None = Query(None, ge=0, le=36500),
    overdue: bool = False,
    sort: Literal["waiting", "received", "-received", "id", "-id"] = "waiting",
    limit: int = Query(200, ge=1, le=1000),
    offset: int = Query(0, ge=0),
) -> list[dict[str, Any]]:
    """The referral queue, waiting longest first; filters by state, source, age, overdue."""
    with store(request) as session:
        return views.queue(
            session,
            actor=actor(who),
            states=tuple(state),
            sources=tuple(source),
            min_age_days=min_age_days,
            overdue=overdue,
            sort=sort,
            limit=limit,
            offset=offset,
        )


@router.get("/api/referrals/{referral_id}", tags=["referrals"])
def get_referral(referral_id: int, request: Request, who: SignedIn) -> dict[str, Any]:
    """One referral: summary, identifiers with originals, files and bank counts (no
    pictures), requests and returns, history."""
    with store(request) as session:
        return views.detail(session, referral_id, actor=actor(who))


class StateIn(BaseModel):
    state: str = Field(max_length=20)
    reason: str = Field(min_length=1, max_length=2000)
    assignee: str | None = Field(None, max_length=100)


@router.post("/api/referrals/{referral_id}/state", tags=["referrals"])
def move_referral(
    referral_id: int, body: StateIn, request: Request, who: Checked
) -> dict[str, Any]:
    """Move a referral to another state, with a reason (audited)."""
    with store(request, write=True) as session:
        row = service.move(
            session,
            referral_id,
            body.state,
            reason=body.reason,
            actor=actor(who),
            assignee=body.assignee,
        )
        return {"id": row.id, "state": row.state, "assignee": row.assignee}


class AssignIn(BaseModel):
    assignee: str | None = Field(None, max_length=100)
    reason: str = Field(min_length=1, max_length=2000)


@router.post("/api/referrals/{referral_id}/assign", tags=["referrals"])
def assign_referral(
    referral_id: int, body: AssignIn, request: Request, who: Checked
) -> dict[str, Any]:
    with store(request, write=True) as session:
        row = service.assign(
            session, referral_id, body.assignee, reason=body.reason, actor=actor(who)
        )
        return {"id": row.id, "state": row.state, "assignee": row.assignee}


class AuthorityIn(BaseModel):
    reference: str = Field(min_length=1, max_length=500)
    file_ids: list[int] = Field(default_factory=list, max_length=10_000)


@router.post("/api/referrals/{referral_id}/authority", tags=["referrals"])
def record_authority(
    referral_id: int, body: AuthorityIn, request: Request, who: Checked
) -> dict[str, Any]:
    """Record the authority to view files the ESP did not view (audited)."""
    with store(request, write=True) as session:
        rows = service.record_authority(
            session,
            referral_id,
            reference=body.reference,
            actor=actor(who),
            file_ids=body.file_ids,
        )
        return {"files": [r.id for r in rows]}


@router.post("/api/referrals/{referral_id}/requests", tags=["requests"])
def draft_requests(referral_id: int, request: Request, who: Checked) -> dict[str, Any]:
    """Draft the communications-data requests a referral needs (one per identifier and
    provider), each with its deadline."""
    with store(request, write=True) as session:
        report = resolution.draft_requests(session, referral_id, actor=actor(who))
        return {
            "drafted": [r.reference for r in report.drafted],
            "already": report.already,
            "unresolvable": report.unresolvable,
        }


@router.get("/api/requests", tags=["requests"])
def list_requests(
    request: Request,
    who: SignedIn,
    state: Annotated[list[str], Query()] = [],  # noqa: B006
    provider: str | None = Query(None, max_length=200),
) -> dict[str, list[dict[str, Any]]]:
    """Requests grouped by provider, with deadlines and an overdue flag."""
    with store(request) as session:
        return views.requests_by_provider(
            session, actor=actor(who), states=tuple(state), provider=provider
        )


class RequestStateIn(BaseModel):
    state: Literal["authorised", "sent", "nil_return", "expired"]
    authorisation_reference: str | None = Field(None, max_length=500)


@router.post("/api/requests/{reference}/state", tags=["requests"])
def advance_request(
    reference: str, body: RequestStateIn, request: Request, who: Checked
) -> dict[str, Any]:
    """drafted -> authorised (not by its drafter) -> sent -> nil_return | expired (audited);
    returns arrive through the return import."""
    with store(request, write=True) as session:
        row = resolution.advance_request(
            session,
            reference,
            body.state,
            actor=actor(who),
            authorisation_reference=body.authorisation_reference,
        )
        return resolution.request_record(row)


@router.get("/api/requests/export", tags=["requests"], response_class=PlainTextResponse)
def export_requests(
    request: Request,
    who: SignedIn,
    provider: str = Query(..., max_length=200),
    format: Literal["csv", "json"] = "csv",  # noqa: A002 - the query parameter's name
    state: Annotated[list[str], Query()] = ["authorised"],  # noqa: B006
) -> Response:
    """One provider's requests as CSV or JSON (audited)."""
    with store(request, write=True) as session:
        text = resolution.export_requests(
            session, provider, format, actor=actor(who), states=tuple(state)
        )
    media = "text/csv" if format == "csv" else "application/json"
    return Response(
        text,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="requests.{format}"'},
    )


@router.post("/api/providers/import", tags=["requests"])
async def import_providers(
    request: Request, who: Checked, file: Annotated[UploadFile, File()]
) -> dict[str, Any]:
    """The provider table (CSV: provider, range, retention_days, contact)."""
    data = await _bounded(file)
    with store(request, write=True) as session:
        report = resolution.import_provider_table(
            session, data, actor=actor(who), name=file.filename or "providers.csv"
        )
    return {
        "providers_new": report.providers_new,
        "providers_updated": report.providers_updated,
        "ranges_changed": report.ranges_changed,
        "errors": [{"line": e.line, "message": e.message} for e in report.errors],
    }


@router.post("/api/returns/import", tags=["requests"])
async def import_returns(
    request: Request, who: Checked, file: Annotated[UploadFile, File()]
) -> dict[str, Any]:
    """A provider's return (CSV) against its requests."""
    data = await _bounded(file)
    with store(request, write=True) as session:
        report = resolution.import_returns(
            session,
            data,
            actor=actor(who),
            settings=ReferralSettings.from_env(),
            name=file.filename or "return.csv",
        )
    return {
        "rows": report.rows,
        "attached": report.attached,
        "nil": report.nil,
        "already": report.already,
        "errors": [{"line": e.line, "message": e.message} for e in report.errors],
    }


@router.post("/api/referrals/import", tags=["referrals"])
async def import_document(
    request: Request,
    who: Checked,
    file: Annotated[UploadFile, File()],
    source: str = Form("ncmec"),
) -> dict[str, Any]:
    """One referral document (XML, JSON or fragment CSV) or a zip bundle. Importing the same
    report again changes nothing and says so."""
    if source not in SOURCES:
        raise HTTPException(status_code=400, detail=f"source must be one of {SOURCES}")
    data = await _bounded(file)
    name = safe_base(file.filename) or "upload.xml"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        report = service.import_referrals(
            path, source=source, actor=actor(who), database_url=request.app.state.database_url
        )
    return {
        "imported": [{"id": i, "external_id": e} for i, e in report.imported],
        "already": report.already,
        "errors": [str(e) for e in report.errors],
        "cases": report.cases,
    }


# --- pages ------------------------------------------------------------------------------------


def _page(request: Request, name: str, who: Viewer, **context: Any) -> HTMLResponse:
    from safeguard.web.pages import templates

    return templates.TemplateResponse(request, name, {"who": who, "csrf": who.csrf, **context})


@pages.get("/referrals", response_class=HTMLResponse)
def queue_page(
    request: Request,
    who: SignedIn,
    state: str = Query("", max_length=20),
    source: str = Query("", max_length=20),
    min_age_days: str = Query("", max_length=6),
    overdue: bool = False,
    sort: str = Query("waiting", max_length=20),
) -> Response:
    age = int(min_age_days) if min_age_days.isdigit() else None
    with store(request) as session:
        rows = views.queue(
            session,
            actor=actor(who),
            states=(state,) if state else (),
            sources=(source,) if source else (),
            min_age_days=age,
            overdue=overdue,
            sort=sort if sort in SORTS else "waiting",
        )
    return _page(
        request,
        "referrals.html",
        who,
        rows=rows,
        states=workflow.STATES,
        sources=SOURCES,
        sorts=SORTS,
        chosen={
            "state": state,
            "source": source,
            "min_age_days": min_age_days,
            "overdue": overdue,
            "sort": sort,
        },
    )


@pages.get("/referrals/{referral_id}", response_class=HTMLResponse)
def referral_page(referral_id: int, request: Request, who: SignedIn) -> Response:
    with store(request) as session:
        data = views.detail(session, referral_id, actor=actor(who))
    return _page(
        request,
        "referral.html",
        who,
        r=data,
        moves=workflow.allowed_moves(data["state"]),
        request_moves={s: sorted(request_rules.MOVES.get(s, ())) for s in request_rules.STATES},
        error=request.query_params.get("error", "")[:300],
    )


def _back(referral_id: int, error: str | None = None) -> RedirectResponse:
    url = f"/referrals/{referral_id}"
    if error:
        from urllib.parse import quote

        url += "?error=" + quote(error[:300])
    return RedirectResponse(url, status_code=303)


@pages.post("/referrals/{referral_id}/move")
def move_form(
    referral_id: int,
    request: Request,
    who: Checked,
    state: str = Form(..., max_length=20),
    reason: str = Form("", max_length=2000),
    assignee: str = Form("", max_length=100),
) -> Response:
    try:
        with store(request, write=True) as session:
            service.move(
                session,
                referral_id,
                state,
                reason=reason,
                actor=actor(who),
                assignee=assignee or None,
            )
    except service.Refused as error:
        return _back(referral_id, str(error))
    return _back(referral_id)


@pages.post("/referrals/{referral_id}/authority")
def authority_form(
    referral_id: int,
    request: Request,
    who: Checked,
    reference: str = Form("", max_length=500),
) -> Response:
    try:
        with store(request, write=True) as session:
            service.record_authority(session, referral_id, reference=reference, actor=actor(who))
    except service.Refused as error:
        return _back(referral_id, str(error))
    return _back(referral_id)


@pages.post("/referrals/{referral_id}/requests")
def draft_form(referral_id: int, request: Request, who: Checked) -> Response:
    with store(request, write=True) as session:
        resolution.draft_requests(session, referral_id, actor=actor(who))
    return _back(referral_id)


@pages.post("/referrals/{referral_id}/requests/{reference}")
def request_form(
    referral_id: int,
    reference: str,
    request: Request,
    who: Checked,
    state: str = Form(..., max_length=20),
    authorisation_reference: str = Form("", max_length=500),
) -> Response:
    try:
        with store(request, write=True) as session:
            resolution.advance_request(
                session,
                reference,
                state,
                actor=actor(who),
                authorisation_reference=authorisation_reference or None,
            )
    except service.Refused as error:
        return _back(referral_id, str(error))
    return _back(referral_id)
