"""The review workstation: a FastAPI app of server-rendered pages and a JSON API (OpenAPI).

Every route needs a signed-in user except the sign-in page and the fixed set of static assets.
Responses are never cached, and a strict Content-Security-Policy allows only this origin's
scripts and styles (no inline script, no third-party content).
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from safeguard.referrals.service import NotPermitted, Refused
from safeguard.review.access import NotAllowed
from safeguard.review.grading import ReviewError
from safeguard.review.media import AuthorityRequired
from safeguard.review.settings import ReviewSettings
from safeguard.store.database import database_url as default_url
from safeguard.store.database import upgrade
from safeguard.store.providers import RequestNotFound
from safeguard.store.referrals import ReferralNotFound
from safeguard.web.deps import LoginRequired, viewer
from safeguard.web.limits import BodyLimit
from safeguard.web.lookup_api import _bearer, client

STATIC = Path(__file__).with_name("static")
#: The only files the static route serves (name -> media type).
STATIC_FILES = {
    "review.js": "text/javascript",
    "style.css": "text/css",
}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


class SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        return response


def docs_reader(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None,
) -> None:
    """A signed-in user, or another tool with an API token, may read the API's schema."""
    if credentials is not None and credentials.credentials:
        client(request, credentials)
    else:
        viewer(request)


Reader = Annotated[None, Depends(docs_reader)]


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def create_app(settings: ReviewSettings | None = None, database_url: str | None = None) -> FastAPI:
    """The app on one store (migrated on start)."""
    from safeguard.web import api, pages

    app = FastAPI(
        title="Safeguard review workstation",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings or ReviewSettings.from_env()
    app.state.database_url = database_url or default_url()
    upgrade(app.state.database_url)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodyLimit)  # outermost: bodies are bounded and authenticated first

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _: LoginRequired) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": "sign in first"}, status_code=401)
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(NotAllowed)
    async def _not_allowed(request: Request, _: NotAllowed) -> Response:
        if not _wants_json(request):
            return pages.error_page(request, 404)
        return JSONResponse({"detail": "not found"}, status_code=404)

    @app.exception_handler(AuthorityRequired)
    async def _authority(request: Request, error: AuthorityRequired) -> Response:
        return JSONResponse({"detail": str(error)}, status_code=403)

    @app.exception_handler(NotPermitted)
    @app.exception_handler(ReferralNotFound)
    @app.exception_handler(RequestNotFound)
    async def _referral_not_found(request: Request, _: Exception) -> Response:
        return JSONResponse({"detail": "not found"}, status_code=404)

    @app.exception_handler(Refused)
    async def _refused(request: Request, error: Refused) -> Response:
        return JSONResponse({"detail": str(error)}, status_code=409)
    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> Response:
        if _wants_json(request) or error.status_code not in pages.ERRORS:
            return await http_exception_handler(request, error)
        return pages.error_page(request, error.status_code)

    @app.exception_handler(ReviewError)
    async def _conflict(request: Request, error: ReviewError) -> Response:
        return JSONResponse({"detail": str(error)}, status_code=409)

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        if name not in STATIC_FILES:
            raise HTTPException(status_code=404)
        response = Response((STATIC / name).read_bytes(), media_type=STATIC_FILES[name])
        response.headers["Cache-Control"] = "private, max-age=300"
        return response

    @app.get("/openapi.json", include_in_schema=False)
    @app.get("/api/openapi.json", include_in_schema=False)
    def openapi(_: Reader) -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False)
    def docs(_: Reader) -> HTMLResponse:
        """The API reference as a plain page (no third-party script: the CSP allows none)."""
        return HTMLResponse(api_reference(app.openapi()))

    app.include_router(pages.router)
    app.include_router(api.router)
    from safeguard.web import admin_api, lookup_api  # the server: lookups, administration
    from safeguard.web import referrals as referral_web  # the referral hub

    app.include_router(referral_web.pages)
    app.include_router(referral_web.router)

    app.include_router(lookup_api.router)
    app.include_router(admin_api.router)
    from safeguard.web import subjects_web  # subjects, priority, packages

    app.include_router(subjects_web.api)
    app.include_router(subjects_web.pages)
    _outcome_routes(app)
    return app


def _outcome_routes(app: FastAPI) -> None:
    """Actions, outcomes and statistics: pages, API, and how their service errors answer."""
    from safeguard.outcomes.services import Missing, NotPermitted, OutcomeError
    from safeguard.web import stats_api, stats_pages

    @app.exception_handler(OutcomeError)
    async def _invalid(request: Request, error: OutcomeError) -> Response:
        return JSONResponse({"detail": error.problems}, status_code=422)

    @app.exception_handler(NotPermitted)
    async def _forbidden(request: Request, error: NotPermitted) -> Response:
        return JSONResponse({"detail": str(error)}, status_code=403)

    @app.exception_handler(Missing)
    async def _missing(request: Request, error: Missing) -> Response:
        return JSONResponse({"detail": str(error)}, status_code=404)

    app.include_router(stats_pages.router)
    app.include_router(stats_api.router)


def api_reference(schema: dict) -> str:
    """A plain HTML list of the schema's operations, each with its summary and description."""
    rows = []
    for path, operations in sorted(schema.get("paths", {}).items()):
        for method, operation in sorted(operations.items()):
            summary = escape(operation.get("summary", ""))
            text = escape(operation.get("description", "")).replace("\n", "<br>")
            rows.append(
                f"<tr><td><code>{escape(method.upper())} {escape(path)}</code></td>"
                f"<td><b>{summary}</b><br>{text}</td></tr>"
            )
    title = escape(schema.get("info", {}).get("title", "API"))
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
        "<link rel='stylesheet' href='/static/style.css'></head><body>"
        f"<h1>{title}</h1><p>Machine-readable: <a href='/openapi.json'>/openapi.json</a></p>"
        f"<table>{''.join(rows)}</table></body></html>"
    )


def route_table(app: FastAPI) -> list[tuple[str, frozenset[str]]]:
    """(path, methods) of every route the app answers, including those of included routers."""
    table: list[tuple[str, frozenset[str]]] = []

    def walk(routes: list, prefix: str) -> None:
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is not None:  # newer FastAPI keeps included routers as one entry
                walk(inner.routes, prefix + getattr(route, "prefix", ""))
            elif hasattr(route, "path"):
                table.append((prefix + route.path, frozenset(getattr(route, "methods", ()) or ())))

    walk(app.routes, "")
    return table
