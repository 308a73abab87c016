"""Server-rendered pages: sign-in, cases, case summary, review queue, moderation, team, admin."""

from __future__ import annotations

import secrets
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from safeguard.domain.actors import Actor
from safeguard.domain.review_policy import ReviewPolicy
from safeguard.reports.case_report import build_case_report
from safeguard.reports.render import FORMATS, as_dict, render
from safeguard.review import accounts, auth, grading
from safeguard.review import admin as people
from safeguard.review.access import (
    CAN_ADMINISTER,
    CAN_EXPORT,
    CAN_MODERATE,
    CAN_REVIEW,
    require_case,
    require_role,
)
from safeguard.review.consensus import FLAGS, Grade
from safeguard.review.exposure import take_break, team_exposure
from safeguard.review.queue import (
    SORTS,
    STATUS_LABELS,
    Card,
    QueueView,
    card_details,
    case_cards,
    moderation_queue,
    review_queue,
)
from safeguard.review.signin import sign_in
from safeguard.store import audit
from safeguard.store import users as user_store
from safeguard.store import votes as vote_store
from safeguard.store.cases import AlreadyExists, NotFound, list_cases
from safeguard.store.models import Case
from safeguard.store.previews import preview_counts
from safeguard.store.review_items import exhibit_progress
from safeguard.store.review_models import User
from safeguard.store.video_models import KEYFRAME
from safeguard.web.deps import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    Checked,
    SignedIn,
    Viewer,
    settings_of,
    store,
    user_of,
    web_session_of,
)
from safeguard.web.views import KEY_PATTERN, GradeIn, card_json, grade_keys, wellbeing

router = APIRouter(include_in_schema=False)
CardKey = Annotated[str, PathParam(pattern=KEY_PATTERN)]
templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
#: Roles from least to most privileged: the add-user form starts on the first.
ROLE_PRIVILEGE = ("analyst", "intelligence", "reviewer", "supervisor", "admin")
FLAG_LABELS = {
    "victim_identified": "Victim identified",
    "series": "Series",
    "self_generated": "Self-generated",
    "ai_generated": "AI-generated suspected",
}


def _page(
    request: Request, name: str, who: Viewer | None, session: Session | None, **context: Any
) -> HTMLResponse:
    if who is not None and session is not None and who.role in CAN_REVIEW:
        context["wellbeing"] = wellbeing(session, who, settings_of(request))
    return templates.TemplateResponse(
        request,
        name,
        {"who": who, "csrf": who.csrf if who else "", "flag_labels": FLAG_LABELS, **context},
        status_code=context.pop("status_code", 200),
    )


def _local(path: str | None, default: str = "/") -> str:
    """A redirect target on this site only."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return default
    return path


def _cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=settings_of(request).secure_cookies,
        path="/",
    )


# --- signing in and out ------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, error: str | None = None, status_code: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    response = _page(
        request, "login.html", None, None, login_csrf=token, error=error, status_code=status_code
    )
    _cookie(request, response, LOGIN_COOKIE, token, 1800)
    return response


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1000)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not auth.csrf_matches(expected, csrf_token):
        raise HTTPException(status_code=403, detail="CSRF token missing or wrong")
    settings = settings_of(request)
    with store(request, write=True) as session:  # expired sessions go (short, no hashing)
        idle = timedelta(minutes=settings.session_idle_minutes)
        user_store.drop_sessions_before(session, datetime.now(UTC) - idle)
    outcome = sign_in(
        lambda: store(request),
        lambda: store(request, write=True),
        username,
        password,
        request.client.host if request.client else "unknown",
        settings,
    )
    if outcome.until is not None:
        locked = (
            "Too many failed sign-ins: this account or this computer is locked until "
            f"{outcome.until:%H:%M} UTC."
        )
        return login_page(request, error=locked, status_code=429)
    token = outcome.token
    if token is None:
        return login_page(request, error="Wrong username or password.")
    response = RedirectResponse("/", status_code=303)
    _cookie(
        request, response, SESSION_COOKIE, token, settings_of(request).session_idle_minutes * 60
    )
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(request: Request, who: Checked) -> Response:
    with store(request, write=True) as session:
        auth.end_session(session, request.cookies.get(SESSION_COOKIE, ""))
        audit.append(session, "logout", user_id=who.user_id, username=who.username)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/break")
def took_break(
    request: Request,
    who: Checked,
    next_page: Annotated[str, Form(alias="next", max_length=500)] = "/",
) -> Response:
    with store(request, write=True) as session:
        take_break(session, web_session_of(session, who), user_of(session, who))
    return RedirectResponse(_local(next_page), status_code=303)


# --- cases ---------------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def home(request: Request, who: SignedIn) -> Response:
    with store(request) as session:
        cases = user_store.assigned_cases(session, who.user_id)
        return _page(request, "home.html", who, session, cases=cases)


def _review_counts(
    session: Session, case: Case, user_id: int, policy: ReviewPolicy
) -> dict[str, int]:
    cards = case_cards(session, case.id, user_id, policy)
    states = Counter(m.state for c in cards for m in c.members)
    return {
        "cards": len(cards),
        "item_count": sum(states.values()),
        "pending": states["pending"],
        "disputed": states["disputed"],
        "disputed_cards": sum(1 for c in cards if c.disputed()),
        "final": states["final"],
        "my_queue": sum(1 for c in cards if c.open_for()),
    }


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_summary(case_id: int, request: Request, who: SignedIn) -> Response:
    """The case report's numbers with charts, review progress and exhibit state."""
    with store(request) as session:
        case = require_case(session, user_of(session, who), case_id)
        report = as_dict(build_case_report(session, case.reference, settings_of(request).policy))
        exhibits = exhibit_progress(session, case.id)
        return _page(
            request,
            "summary.html",
            who,
            session,
            case=case,
            report=report,
            exhibits=exhibits,
            review=_review_counts(session, case, who.user_id, settings_of(request).policy),
            ingesting=any(e["state"] != "complete" for e in exhibits),
            formats=FORMATS,
            can_export=who.role in CAN_EXPORT,
        )


@router.post("/cases/{case_id}/export")
def export(
    case_id: int,
    request: Request,
    who: Checked,
    fmt: Annotated[str, Form(alias="format", max_length=10)] = "json",
) -> Response:
    """The case report as a file (hashes and metadata only, never media). Audited."""
    if fmt not in FORMATS:
        raise HTTPException(status_code=422, detail=f"format must be one of {', '.join(FORMATS)}")
    with store(request, write=True) as session:
        user = user_of(session, who)
        require_role(user, CAN_EXPORT)
        case = require_case(session, user, case_id)
        text = render(build_case_report(session, case.reference, settings_of(request).policy), fmt)
        audit.append(
            session,
            "export",
            user_id=user.id,
            username=user.username,
            case_id=case.id,
            detail={"what": "case report", "format": fmt},
        )
    suffix = {"text": "txt"}.get(fmt, fmt)
    media_type = {
        "json": "application/json",
        "csv": "text/csv",
        "html": "text/html",
        "pdf": "application/pdf",
    }
    return Response(
        text,
        media_type=media_type.get(fmt, "text/plain"),
        headers={"Content-Disposition": f'attachment; filename="report-{case_id}.{suffix}"'},
    )


def _view(request: Request) -> QueueView:
    """The queue's filters and sort from the query string (unknown values are ignored)."""
    q = request.query_params
    yes_no = {"yes": True, "no": False}
    status = q.get("status") or None
    sort = q.get("sort") or "queue"
    return QueueView(
        status=status if status in STATUS_LABELS else None,
        bank=q.get("bank") if q.get("bank") in ("yes", "no") else None,
        self_produced=yes_no.get(q.get("self", "")),
        exhibit=(q.get("exhibit") or "")[:200] or None,
        folder=(q.get("folder") or "")[:500] or None,
        sort=sort if sort in SORTS else "queue",
    )


def _view_query(view: QueueView) -> str:
    values = {
        "status": view.status,
        "bank": view.bank,
        "self": {True: "yes", False: "no"}.get(view.self_produced),  # type: ignore[arg-type]
        "exhibit": view.exhibit,
        "folder": view.folder,
        "sort": view.sort if view.sort != "queue" else None,
    }
    return urlencode({k: v for k, v in values.items() if v})


def _card_page(session: Session, case: Case, cards: list[Card]) -> list[dict[str, Any]]:
    frames = _frames(session, cards)
    files, notes = card_details(session, cards)
    return [card_json(case.id, c, frames, files, notes) for c in cards]


@router.get("/cases/{case_id}/queue", response_class=HTMLResponse)
def queue_page(case_id: int, request: Request, who: SignedIn) -> Response:
    """The first page of the reviewer's queue; the script loads the rest as they work."""
    view = _view(request)
    with store(request) as session:
        user = user_of(session, who)
        require_role(user, CAN_REVIEW)
        case = require_case(session, user, case_id)
        cards = review_queue(session, case.id, user.id, settings_of(request).policy, view)
        exhibits = sorted({e["reference"] for e in exhibit_progress(session, case.id)})
        return _page(
            request,
            "queue.html",
            who,
            session,
            case=case,
            cards=_card_page(session, case, cards[: settings_of(request).queue_page]),
            total=len(cards),
            keys=grade_keys(case),
            flags=FLAGS,
            view=view,
            filtered=view != QueueView(sort=view.sort),
            query=_view_query(view),
            page_size=settings_of(request).queue_page,
            statuses=list(STATUS_LABELS.items()),
            sorts=[
                ("queue", "queue order"),
                ("size", "largest first"),
                ("size-asc", "smallest first"),
                ("exhibit", "exhibit"),
            ],
            exhibits=exhibits,
        )


@router.get("/cases/{case_id}/queue/cards", response_class=HTMLResponse)
def queue_cards(
    case_id: int,
    request: Request,
    who: SignedIn,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 30,
) -> Response:
    """More cards of the queue as HTML (for the script), with the current total in a header:
    cards graded meanwhile have left the queue, so the caller also drops keys it already has."""
    view = _view(request)
    with store(request) as session:
        user = user_of(session, who)
        require_role(user, CAN_REVIEW)
        case = require_case(session, user, case_id)
        cards = review_queue(session, case.id, user.id, settings_of(request).policy, view)
        response = templates.TemplateResponse(
            request,
            "_cards.html",
            {
                "cards": _card_page(session, case, cards[offset : offset + limit]),
                "case": case,
                "keys": grade_keys(case),
                "flags": FLAGS,
                "flag_labels": FLAG_LABELS,
            },
        )
    response.headers["X-Queue-Total"] = str(len(cards))
    return response


@router.get("/cases/{case_id}/my-votes", response_class=HTMLResponse)
def my_votes_page(case_id: int, request: Request, who: SignedIn) -> Response:
    """The cards this reviewer voted on, with the votes they can still change (not final)."""
    with store(request) as session:
        user = user_of(session, who)
        require_role(user, CAN_REVIEW)
        case = require_case(session, user, case_id)
        cards = [
            c
            for c in case_cards(session, case.id, user.id, settings_of(request).policy)
            if any(m.voted_by_me for m in c.members)
        ]
        mine = grading.my_grades(session, user, cards)
        return _page(
            request,
            "my_votes.html",
            who,
            session,
            case=case,
            cards=[(card_json(case.id, c), mine[c.key]) for c in cards],
            keys=grade_keys(case),
            message=request.query_params.get("message", "")[:200],
        )


@router.post("/cases/{case_id}/my-votes/{key}")
def change_vote_form(
    case_id: int,
    key: CardKey,
    request: Request,
    who: Checked,
    category: Annotated[str, Form(max_length=20)] = "",
    action: Annotated[str, Form(max_length=10)] = "change",
) -> Response:
    """Change (or, with action=withdraw, take back) this reviewer's votes on a card."""
    with store(request, write=True) as session:
        user = user_of(session, who)
        case = require_case(session, user, case_id)
        policy = settings_of(request).policy
        if action == "withdraw":
            grading.withdraw_votes(session, user, case, key, policy)
            message = "Your vote was withdrawn: the card is back in your queue."
        else:
            grading.change_votes(session, user, case, key, Grade(category), policy)
            message = f"Your vote is now {category}."
    return RedirectResponse(
        f"/cases/{case_id}/my-votes?{urlencode({'message': message})}", status_code=303
    )


@router.get("/cases/{case_id}/moderation", response_class=HTMLResponse)
def moderation_page(case_id: int, request: Request, who: SignedIn) -> Response:
    with store(request) as session:
        user = user_of(session, who)
        require_role(user, CAN_MODERATE)
        case = require_case(session, user, case_id)
        cards = moderation_queue(session, case.id, settings_of(request).policy)
        ballots = {c.key: _ballots(session, c) for c in cards}
        voters = {c.key: _voters(session, c) for c in cards}
        decided = request.query_params.get("decided", "")[:200]
        return _page(
            request,
            "moderation.html",
            who,
            session,
            case=case,
            cards=_card_page(session, case, cards),
            ballots=ballots,
            voters=voters,
            keys=grade_keys(case),
            decided=decided,
        )


def _frames(session: Session, cards: list[Card]) -> dict[int, int]:
    """Keyframe counts of the videos that represent cards."""
    videos = [c.representative.media_id for c in cards if c.representative.kind == "video"]
    return preview_counts(session, videos, KEYFRAME) if videos else {}


def _ballots(session: Session, card: Card) -> list[tuple[str, str, int]]:
    """(category, reviewers, count) over the disputed members of a card."""
    tally: dict[str, set[str]] = {}
    for member in card.disputed():
        for vote in vote_store.votes_for(session, member.item.exhibit_id, member.item.media_id):
            name = session.get(User, vote.user_id).username
            tally.setdefault(vote.category, set()).add(name)
    return [(cat, ", ".join(sorted(names)), len(names)) for cat, names in sorted(tally.items())]


def _voters(session: Session, card: Card) -> list[dict[str, Any]]:
    """Each reviewer's vote on the disputed members: grade and flags, one row per reviewer."""
    rows: dict[tuple[str, str], set[str]] = {}
    for member in card.disputed():
        for vote in vote_store.votes_for(session, member.item.exhibit_id, member.item.media_id):
            name = session.get(User, vote.user_id).username
            flags = rows.setdefault((name, vote.category), set())
            flags.update(f for f in FLAGS if getattr(vote, f))
    return [
        {"reviewer": n, "category": c, "flags": [FLAG_LABELS[f] for f in FLAGS if f in flags]}
        for (n, c), flags in sorted(rows.items())
    ]


@router.post("/cases/{case_id}/moderation/{key}")
def moderate_form(
    case_id: int,
    key: CardKey,
    request: Request,
    who: Checked,
    category: Annotated[str, Form(max_length=20)],
    note: Annotated[str, Form(max_length=2000)] = "",
    victim_identified: Annotated[bool, Form()] = False,
    series: Annotated[bool, Form()] = False,
    self_generated: Annotated[bool, Form()] = False,
    ai_generated: Annotated[bool, Form()] = False,
) -> Response:
    grade = GradeIn(
        category=category,
        victim_identified=victim_identified,
        series=series,
        self_generated=self_generated,
        ai_generated=ai_generated,
    ).grade()
    with store(request, write=True) as session:
        user = user_of(session, who)
        case = require_case(session, user, case_id)
        required = settings_of(request).policy
        outcomes = grading.moderate(session, user, case, key, grade, required, note or None)
    done = f"Decided {category} for {len(outcomes)} item(s) of card {key}."
    return RedirectResponse(
        f"/cases/{case_id}/moderation?{urlencode({'decided': done})}", status_code=303
    )


# --- people --------------------------------------------------------------------------------------


@router.get("/team", response_class=HTMLResponse)
def team(request: Request, who: SignedIn) -> Response:
    """Exposure of the reviewers who share a case with this supervisor."""
    with store(request) as session:
        user = user_of(session, who)
        require_role(user, CAN_MODERATE)
        return _page(request, "team.html", who, session, people=team_exposure(session, user))


@router.get("/admin", response_class=HTMLResponse)
def admin(request: Request, who: SignedIn, message: str | None = None) -> Response:
    with store(request) as session:
        user = user_of(session, who)
        require_role(user, CAN_ADMINISTER)
        users = user_store.list_users(session)
        cases = list_cases(session)
        assigned = {
            u.id: [c.reference for c in user_store.assigned_cases(session, u.id)] for u in users
        }
        return _page(
            request,
            "admin.html",
            who,
            session,
            users=users,
            cases=cases,
            assigned=assigned,
            roles=sorted(user_store.ROLES, key=ROLE_PRIVILEGE.index),
            default_role=ROLE_PRIVILEGE[0],
            message=message,
        )


@router.post("/admin/users")
def admin_add_user(
    request: Request,
    who: Checked,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1000)],
    role: Annotated[str, Form(max_length=20)],
) -> Response:
    with store(request, write=True) as session:
        require_role(user_of(session, who), CAN_ADMINISTER)
        try:
            accounts.add_user(session, Actor(who.username, who.user_id), username, password, role)
        except (AlreadyExists, ValueError) as error:
            raise HTTPException(status_code=422, detail=str(error)) from None
    return RedirectResponse("/admin", status_code=303)


@router.post("/admin/assign")
def admin_assign(
    request: Request,
    who: Checked,
    username: Annotated[str, Form(max_length=100)],
    case: Annotated[str, Form(max_length=200)],
) -> Response:
    with store(request, write=True) as session:
        require_role(user_of(session, who), CAN_ADMINISTER)
        try:
            accounts.assign(session, Actor(who.username, who.user_id), username, case)
        except NotFound as error:
            raise HTTPException(status_code=422, detail=str(error)) from None
    return RedirectResponse("/admin", status_code=303)


@router.post("/admin/active")
def admin_set_active(
    request: Request,
    who: Checked,
    username: Annotated[str, Form(max_length=100)],
    active: Annotated[bool, Form()] = False,
) -> Response:
    """Disable (or enable again) a user: disabling ends their sessions at once."""
    with store(request, write=True) as session:
        admin_user = user_of(session, who)
        require_role(admin_user, CAN_ADMINISTER)
        try:
            people.set_active(session, username, active, by=admin_user)
        except (NotFound, ValueError) as error:
            raise HTTPException(status_code=422, detail=str(error)) from None
    done = f"{username} is {'enabled' if active else 'disabled'}."
    return RedirectResponse(f"/admin?{urlencode({'message': done})}", status_code=303)


@router.post("/admin/unassign")
def admin_unassign(
    request: Request,
    who: Checked,
    username: Annotated[str, Form(max_length=100)],
    case: Annotated[str, Form(max_length=200)],
) -> Response:
    """Take a case away from a user."""
    with store(request, write=True) as session:
        admin_user = user_of(session, who)
        require_role(admin_user, CAN_ADMINISTER)
        try:
            people.unassign(session, username, case, by=admin_user)
        except NotFound as error:
            raise HTTPException(status_code=422, detail=str(error)) from None
    done = f"{username} is no longer assigned to {case}."
    return RedirectResponse(f"/admin?{urlencode({'message': done})}", status_code=303)


ERRORS = {
    403: ("Not allowed", "This request was refused. If you followed a link here, sign in again."),
    404: (
        "Not found",
        "There is nothing here, or it belongs to a case you are not assigned to.",
    ),
}


def error_page(request: Request, status_code: int, detail: str | None = None) -> HTMLResponse:
    """An HTML error page for a browser (the API answers JSON). ``detail`` is shown only for
    statuses other than 403/404, which never say why (ids must leak nothing)."""
    title, explanation = ERRORS.get(status_code, ("Something went wrong", detail or ""))
    return templates.TemplateResponse(
        request,
        "error.html",
        {"who": None, "csrf": "", "title": title, "explanation": explanation},
        status_code=status_code,
    )
