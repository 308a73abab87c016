"""Request bodies, bounded and authenticated before they are read (pure ASGI middleware).

FastAPI reads and parses a request body before it resolves the dependencies that check
credentials, so without this a client with no token could make the server hold (or spool to
disk) a body of any size before its 401. For every request that carries a body this middleware
first refuses a declared ``Content-Length`` over the route's limit (413), then checks the
credentials the route will need (a live session cookie, or an API token under ``/api/v1/``;
the sign-in form needs none), and finally counts the bytes as the app reads them, stopping at
the limit (413) whatever the headers said. The routes still check everything themselves.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio

from safeguard.review.auth import session_is_live
from safeguard.store import api_tokens
from safeguard.store.database import session_scope

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: Largest body of any route but a file lookup (JSON actions, forms).
DEFAULT_MAX_REQUEST = 1 << 20
#: Multipart framing allowed on top of the file-lookup upload limit.
MULTIPART_SLACK = 64 << 10
#: Routes that take a body from anyone (they check what they get themselves).
PUBLIC_BODIES = frozenset({"/login"})
SESSION_COOKIE = "sg_session"


def max_request_bytes() -> int:
    return int(os.environ.get("SAFEGUARD_MAX_REQUEST_BYTES", DEFAULT_MAX_REQUEST))


def max_upload_bytes() -> int:
    """Largest file ``/api/v1/lookup/file`` hashes (``SAFEGUARD_LOOKUP_MAX_UPLOAD``)."""
    return int(float(os.environ.get("SAFEGUARD_LOOKUP_MAX_UPLOAD", 64 * 1024 * 1024)))


def limit_for(path: str) -> int:
    if path == "/api/v1/lookup/file":
        return max_upload_bytes() + MULTIPART_SLACK
    return max_request_bytes()


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _cookie(scope: Scope, name: str) -> str | None:
    raw = _header(scope, b"cookie") or ""
    for part in raw.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


def credentials_ok(scope: Scope) -> bool:
    """Whether the request carries the credentials its route needs (a read-only check)."""
    path = scope.get("path", "")
    if path in PUBLIC_BODIES:
        return True
    app_state = scope["app"].state
    url = app_state.database_url
    if path.startswith("/api/v1/"):
        given = _header(scope, b"authorization") or ""
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not token or len(token) > 200:
            return False
        with session_scope(url) as session:
            return api_tokens.resolve_token(session, token.strip()) is not None
    token = _cookie(scope, SESSION_COOKIE)
    if not token or len(token) > 200:
        return False
    with session_scope(url) as session:
        return session_is_live(session, token, app_state.settings.session_idle_minutes)


async def _respond(send: Send, status: int, body: dict, headers: list[tuple[bytes, bytes]]) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"cache-control", b"no-store"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class BodyLimit:
    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = limit_for(path)
        declared = _header(scope, b"content-length")
        try:
            length = int(declared) if declared is not None else None
        except ValueError:
            await _respond(send, 400, {"detail": "bad Content-Length"}, [])
            return
        if length is not None and length > limit:
            await _respond(send, 413, {"detail": f"request body over {limit} bytes"}, [])
            return
        has_body = (length or 0) > 0 or _header(scope, b"transfer-encoding") is not None
        if has_body and not await anyio.to_thread.run_sync(credentials_ok, scope):
            await self._unauthenticated(path, send)
            return
        seen = 0
        started = cut = False

        async def counted() -> Message:
            # Past the limit the app is told the client went away, and this answers 413: an
            # exception here would reach FastAPI inside an exception group, as a 400.
            nonlocal seen, cut
            if cut:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    cut = True
                    if not started:
                        await _respond(
                            send, 413, {"detail": f"request body over {limit} bytes"}, []
                        )
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if cut:
                return  # the 413 has been sent; whatever the app answers is dropped
            started = True
            await send(message)

        await self.app(scope, counted, guarded)

    @staticmethod
    async def _unauthenticated(path: str, send: Send) -> None:
        if path.startswith("/api/v1/"):
            headers = [(b"www-authenticate", b"Bearer")]
            await _respond(send, 401, {"detail": "an API token is required"}, headers)
        elif path.startswith("/api/"):
            await _respond(send, 401, {"detail": "sign in first"}, [])
        else:
            await send(
                {
                    "type": "http.response.start",
                    "status": 303,
                    "headers": [(b"location", b"/login"), (b"content-length", b"0")],
                }
            )
            await send({"type": "http.response.body", "body": b""})
