"""Subjects, priority and intelligence packages on the web: pages and JSON API.

Thin: each route calls one service. Analysts and supervisors only; anyone else gets 404, as
elsewhere (ids leak nothing).
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from safeguard.referrals import priority_service, subjects
from safeguard.reports import intel_service
from safeguard.store import subjects as repo
from safeguard.web.deps import Checked, SignedIn, Viewer, store, user_of

api = APIRouter(prefix="/api", tags=["subjects"])
pages = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
MEDIA = {"json": "application/json", "html": "text/html; charset=utf-8", "pdf": "application/pdf"}


@contextmanager
def _guard():  # noqa: ANN202
    try:
        yield
    except subjects.NotAllowed:
        raise HTTPException(404, "not found") from None
    except subjects.Refused as error:
        raise HTTPException(409, str(error)) from None


def _allowed(who: Viewer) -> None:
    if who.role not in subjects.CAN_LINK:
        raise HTTPException(404, "not found")


def _referral(session, ref: str):  # noqa: ANN001, ANN202
    found = repo.find_referral(session, ref)
    if found is None:
        raise HTTPException(404, "no such referral")
    return found


def _subject(session, ref: str):  # noqa: ANN001, ANN202
    found = repo.subject(session, ref)
    if found is None:
        raise HTTPException(404, "no such subject")
    return found


class DecisionIn(BaseModel):
    a: str = Field(max_length=250)
    b: str = Field(max_length=250)
    same: bool
    reason: str = Field(min_length=1, max_length=2000)


class KiratIn(BaseModel):
    band: str = Field(max_length=20)
    version: str = Field(max_length=40)
    assessor: str = Field(max_length=200)
    assessed_on: str = Field(max_length=10)


class NoteIn(BaseModel):
    note: str = Field(min_length=1, max_length=2000)


class DisseminateIn(BaseModel):
    recipient: str = Field(min_length=1, max_length=200)
    note: str | None = Field(default=None, max_length=2000)


@api.post("/subjects/link")
def link(request: Request, who: Checked) -> dict[str, Any]:
    """Re-link every referral into subjects (analyst decisions kept)."""
    with _guard(), store(request, write=True) as session:
        return subjects.relink(session, user_of(session, who)).__dict__


@api.get("/subjects/{ref}")
def subject_json(ref: str, request: Request, who: SignedIn) -> dict[str, Any]:
    """A subject: referrals, identifiers with sources, returns, cases, links and why, timeline."""
    _allowed(who)
    with store(request) as session:
        return subjects.subject_view(session, _subject(session, ref))


@api.post("/subjects/decisions")
def decision(body: DecisionIn, request: Request, who: Checked) -> dict[str, Any]:
    """Confirm (same person) or split a pair of referrals; re-links."""
    with _guard(), store(request, write=True) as session:
        summary = subjects.decide(
            session,
            user_of(session, who),
            _referral(session, body.a),
            _referral(session, body.b),
            same=body.same,
            reason=body.reason,
        )
        return summary.__dict__ if summary else {}


@api.get("/referral-queue")
def referral_queue(request: Request, who: SignedIn) -> list[dict[str, Any]]:
    """Open referrals by band, then age."""
    _allowed(who)
    with store(request) as session:
        return priority_service.queue(session)


@api.post("/referrals/{ref}/priority")
def priority(ref: str, request: Request, who: Checked) -> dict[str, Any]:
    """Score the referral now: band, score, every factor."""
    with _guard(), store(request, write=True) as session:
        result, changed = priority_service.score(
            session, user_of(session, who), _referral(session, ref)
        )
        return {**result.as_dict(), "changed": changed}


@api.post("/referrals/{ref}/kirat")
def kirat(ref: str, body: KiratIn, request: Request, who: Checked) -> dict[str, Any]:
    """Record a KIRAT result made elsewhere (never computed here)."""
    with _guard(), store(request, write=True) as session:
        row = priority_service.record_kirat(
            session, user_of(session, who), _referral(session, ref), **body.model_dump()
        )
        return {"id": row.id, "band": row.band}


@api.post("/referrals/{ref}/release")
def release(ref: str, body: NoteIn, request: Request, who: Checked) -> dict[str, Any]:
    """A supervisor releases a referral held for a conflict."""
    with _guard(), store(request, write=True) as session:
        subjects.release_hold(session, user_of(session, who), _referral(session, ref), body.note)
        return {"released": True}


@api.post("/referrals/{ref}/package")
def make_package(ref: str, request: Request, who: Checked) -> dict[str, Any]:
    """Generate the intelligence package; its SHA-256 are recorded."""
    with _guard(), store(request, write=True) as session:
        p = intel_service.make_package(session, user_of(session, who), _referral(session, ref))
        return {
            "reference": p.reference,
            "sha256": {"json": p.json_sha256, "html": p.html_sha256, "pdf": p.pdf_sha256},
        }


@api.get("/packages/{reference}.{fmt}")
def package_file(reference: str, fmt: str, request: Request, who: SignedIn) -> Response:
    _allowed(who)
    if fmt not in MEDIA:
        raise HTTPException(404, "json, html or pdf")
    with store(request) as session:
        p = repo.package(session, reference)
        if p is None:
            raise HTTPException(404, "no such package")
        data = {"json": p.json_bytes, "html": p.html_bytes, "pdf": p.pdf_bytes}[fmt]
    if data is None:
        raise HTTPException(404, "not rendered")
    return Response(
        data,
        media_type=MEDIA[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{reference}.{fmt}"',
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
        },
    )


@api.post("/packages/{reference}/disseminate")
def disseminate(
    reference: str, body: DisseminateIn, request: Request, who: Checked
) -> dict[str, Any]:
    """Record that the package went to a force or team."""
    with _guard(), store(request, write=True) as session:
        p = repo.package(session, reference)
        if p is None:
            raise HTTPException(404, "no such package")
        d = intel_service.disseminate(session, user_of(session, who), p, body.recipient, body.note)
        return {"package": reference, "recipient": d.recipient, "sent_at": d.sent_at.isoformat()}


@pages.get("/subjects/{ref}", response_class=HTMLResponse)
def subject_page(
    ref: str, request: Request, who: SignedIn, message: str | None = None
) -> HTMLResponse:
    _allowed(who)
    with store(request) as session:
        view = subjects.subject_view(session, _subject(session, ref))
        packages = {
            r["reference"]: [p.reference for p in repo.packages_for(session, r["id"])]
            for r in view["referrals"]
        }
    return templates.TemplateResponse(
        request,
        "subject.html",
        {"who": who, "csrf": who.csrf, "s": view, "packages": packages, "message": message},
    )


@pages.post("/referrals/{ref}/package")
def package_button(
    ref: str, request: Request, who: Checked, back: str = Form("", max_length=100)
) -> Response:
    with store(request, write=True) as session:
        referral = _referral(session, ref)
        try:
            p = intel_service.make_package(session, user_of(session, who), referral)
            message = f"package {p.reference} made"
        except subjects.NotAllowed:
            raise HTTPException(404, "not found") from None
        except subjects.Refused as error:
            message = str(error)
    target = back if back.startswith("/subjects/") and "//" not in back else "/"
    from urllib.parse import quote

    return RedirectResponse(f"{target}?message={quote(message)}", status_code=303)
