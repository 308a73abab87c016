"""The JSON API (documented at /api/openapi.json): queue, blurred previews, reveal, grading."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import Response

from safeguard.reports.case_report import build_case_report
from safeguard.reports.render import as_dict
from safeguard.review import grading, media
from safeguard.review.access import CAN_MODERATE, CAN_REVIEW, require_case, require_role
from safeguard.review.exposure import BreakRequired, require_no_break_due, take_break
from safeguard.review.queue import moderation_queue, review_queue
from safeguard.store import users as user_store
from safeguard.web.deps import (
    Checked,
    SignedIn,
    Viewer,
    settings_of,
    store,
    user_of,
    web_session_of,
)
from safeguard.web.views import (
    KEY_PATTERN,
    GradeIn,
    ModerateIn,
    NoteIn,
    SplitIn,
    card_json,
    wellbeing,
)

router = APIRouter(prefix="/api", tags=["review"])
CardKey = Annotated[str, Path(pattern=KEY_PATTERN)]


@router.get("/me")
def me(request: Request, who: SignedIn) -> dict[str, Any]:
    """The signed-in user, their exposure today and this week, and whether a break is due."""
    with store(request) as session:
        return {
            "username": who.username,
            "role": who.role,
            "wellbeing": wellbeing(session, who, settings_of(request)),
        }


@router.get("/cases")
def cases(request: Request, who: SignedIn) -> list[dict[str, Any]]:
    with store(request) as session:
        return [
            {"id": c.id, "reference": c.reference, "title": c.title}
            for c in user_store.assigned_cases(session, who.user_id)
        ]


@router.get("/cases/{case_id}/summary")
def summary(case_id: int, request: Request, who: SignedIn) -> dict[str, Any]:
    """The numbers of the case report (as ``safeguard report --format json``), without hashes
    or paths: those leave only through an audited export."""
    with store(request) as session:
        case = require_case(session, user_of(session, who), case_id)
        data = as_dict(build_case_report(session, case.reference, settings_of(request).policy))
    for key in ("automatic_grades", "errors", "schedule", "could_not_be_viewed"):
        data.pop(key, None)
    for section in data["exhibits"]:
        section.pop("source", None)
    return data


@router.get("/cases/{case_id}/queue")
def queue(
    case_id: int,
    request: Request,
    who: SignedIn,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=1_000_000),
) -> dict[str, Any]:
    """Cards waiting for this reviewer's vote, in queue order (skipped cards last); ``total``
    counts them all, so a client pages with ``offset`` until it has ``total``."""
    with store(request) as session:
        user = user_of(session, who)
        require_role(user, CAN_REVIEW)
        case = require_case(session, user, case_id)
        cards = review_queue(session, case.id, user.id, settings_of(request).policy)
        page = cards[offset : offset + limit]
        return {
            "total": len(cards),
            "offset": offset,
            "cards": [card_json(case.id, c) for c in page],
        }


@router.get("/cases/{case_id}/moderation")
def moderation(case_id: int, request: Request, who: SignedIn) -> dict[str, Any]:
    """Cards with disputed items, for a supervisor."""
    with store(request) as session:
        user = user_of(session, who)
        require_role(user, CAN_MODERATE)
        case = require_case(session, user, case_id)
        cards = moderation_queue(session, case.id, settings_of(request).policy)
        return {"cards": [card_json(case.id, c) for c in cards]}


@router.get(
    "/cases/{case_id}/items/{exhibit_id}/{media_id}/blurred",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
)
def blurred(
    case_id: int,
    exhibit_id: int,
    media_id: int,
    request: Request,
    who: SignedIn,
    idx: int = Query(0, ge=0, le=1000),
) -> Response:
    """The blurred greyscale preview of an item (what every card shows by default)."""
    with store(request) as session:
        user = user_of(session, who)
        case = require_case(session, user, case_id)
        jpeg = media.blurred_preview(session, user, case, exhibit_id, media_id, idx)
    if jpeg is None:
        return Response(status_code=404)
    return Response(jpeg, media_type="image/jpeg")


def _reveal(
    request: Request, who: Viewer, case_id: int, exhibit_id: int, media_id: int, full: bool
) -> dict[str, Any]:
    with store(request, write=True) as session:
        user = user_of(session, who)
        case = require_case(session, user, case_id)
        try:
            require_no_break_due(session, web_session_of(session, who), settings_of(request))
        except BreakRequired as error:
            raise HTTPException(status_code=423, detail=str(error)) from None
        images = media.reveal(session, user, case, exhibit_id, media_id, full=full)
        state = wellbeing(session, who, settings_of(request))
    return {
        "images": [
            "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii") for jpeg in images
        ],
        "wellbeing": state,
    }


@router.post("/cases/{case_id}/items/{exhibit_id}/{media_id}/reveal")
def reveal(
    case_id: int,
    exhibit_id: int,
    media_id: int,
    request: Request,
    who: Checked,
) -> dict[str, Any]:
    """The unblurred thumbnail (or a video's keyframes) of one item. Audited."""
    return _reveal(request, who, case_id, exhibit_id, media_id, full=False)


@router.post("/cases/{case_id}/items/{exhibit_id}/{media_id}/full")
def full_view(
    case_id: int,
    exhibit_id: int,
    media_id: int,
    request: Request,
    who: Checked,
) -> dict[str, Any]:
    """The larger unblurred view of one item. Audited."""
    return _reveal(request, who, case_id, exhibit_id, media_id, full=True)


@router.post("/cases/{case_id}/cards/{key}/grade")
def grade(
    case_id: int,
    key: CardKey,
    body: GradeIn,
    request: Request,
    who: Checked,
) -> dict[str, Any]:
    """Grade every item of a card still waiting for this reviewer's vote."""
    with store(request, write=True) as session:
        user = user_of(session, who)
        case = require_case(session, user, case_id)
        required = settings_of(request).policy
        outcomes = grading.vote_card(session, user, case, key, body.grade(), required)
    return {"key": key, "states": [o.state for o in outcomes]}


@router.post("/cases/{case_id}/cards/{key}/undo")
def undo(case_id: int, key: CardKey, request: Request, who: Checked) -> dict[str, Any]:
    """Take back this reviewer's votes on a card whose grade is not final yet (audited)."""
    with store(request, write=True) as session:
        user = user_of(session, who)
        case = require_case(session, user, case_id)
        policy = settings_of(request).policy
        outcomes = grading.withdraw_votes(session, user, case, key, policy)
    return {"key": key, "states": [o.state for o in outcomes]}


@router.post("/cases/{case_id}/cards/{key}/change")
def change(
    case_id: int, key: CardKey, body: GradeIn, request: Request, who: Checked
) -> dict[str, Any]:
    """Replace this reviewer's votes on a card whose grade is not final yet (audited)."""
    with store(request, write=True) as session:
        user = user_of(session, who)
        case = require_case(session, user, case_id)
        policy = settings_of(request).policy
        outcomes = grading.change_votes(session, user, case, key, body.grade(), policy)
    return {"key": key, "states": [o.state for o in outcomes]}


@router.post("/cases/{case_id}/cards/{key}/skip")
def skip(case_id: int, key: CardKey, request: Request, who: Checked) -> dict[str, Any]:
    """Remember that this reviewer skipped the card: it stays last in their queue."""
    with store(request, write=True) as session:
        user = user_of(session, who)
        case = require_case(session, user, case_id)
        grading.skip_card(session, user, case, key, settings_of(request).policy)
    return {"key": key, "skipped": True}


@router.post("/cases/{case_id}/items/{exhibit_id}/{media_id}/notes")
def note(
    case_id: int, exhibit_id: int, media_id: int, body: NoteIn, request: Request, who: Checked
) -> dict[str, Any]:
    """A reviewer's note on one item (audited)."""
    with store(request, write=True) as session:
        user = user_of(session, who)
        case = require_case(session, user, case_id)
        grading.add_note(session, user, case, exhibit_id, media_id, body.text)
    return {"exhibit_id": exhibit_id, "media_id": media_id, "text": body.text.strip()}


@router.post("/cases/{case_id}/cards/{key}/split")
def split(
    case_id: int,
    key: CardKey,
    body: SplitIn,
    request: Request,
    who: Checked,
) -> dict[str, Any]:
    """Take one item out of its near-duplicate group into a card of its own."""
    with store(request, write=True) as session:
        user = user_of(session, who)
        case = require_case(session, user, case_id)
        policy = settings_of(request).policy
        new_key = grading.split_off(session, user, case, key, body.media_id, policy)
    return {"key": key, "new_key": new_key}


@router.post("/cases/{case_id}/cards/{key}/moderate")
def moderate(
    case_id: int,
    key: CardKey,
    body: ModerateIn,
    request: Request,
    who: Checked,
) -> dict[str, Any]:
    """A supervisor's final grade for the disputed items of a card."""
    with store(request, write=True) as session:
        user = user_of(session, who)
        case = require_case(session, user, case_id)
        required = settings_of(request).policy
        outcomes = grading.moderate(session, user, case, key, body.grade(), required, body.note)
    return {"key": key, "states": [o.state for o in outcomes]}


@router.post("/break")
def took_break(request: Request, who: Checked) -> dict[str, Any]:
    """The reviewer has taken a break: the break prompt counts again from now."""
    with store(request, write=True) as session:
        take_break(session, web_session_of(session, who), user_of(session, who))
    with store(request) as session:
        return {"wellbeing": wellbeing(session, who, settings_of(request))}
