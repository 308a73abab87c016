"""Request bodies are bounded and authenticated before they are read; file lookups are bounded
in pixels and decoded in worker processes."""

from __future__ import annotations

import asyncio
import io
import struct
import zlib

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from safeguard.review.settings import ReviewSettings
from safeguard.store import api_tokens
from safeguard.store.database import session_scope
from safeguard.web import lookup_api
from safeguard.web.app import create_app


@pytest.fixture
def api(database_url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SAFEGUARD_MAX_REQUEST_BYTES", str(64 * 1024))
    monkeypatch.setenv("SAFEGUARD_LOOKUP_MAX_UPLOAD", str(256 * 1024))
    with session_scope(database_url) as session:
        token = api_tokens.issue_token(session, "tool")
    app = create_app(ReviewSettings(), database_url)
    return app, TestClient(app), {"Authorization": f"Bearer {token}"}


def _call(app, method: str, path: str, headers: dict[str, str], chunks: list[bytes]):
    """Drive the ASGI app directly; returns (status, whether any body chunk was read)."""
    read = []
    sent: list[dict] = []
    pending = list(chunks)

    async def receive():
        read.append(True)
        body = pending.pop(0) if pending else b""
        return {"type": "http.request", "body": body, "more_body": bool(pending)}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "scheme": "http",
        "server": ("127.0.0.1", 80),
        "client": ("192.0.2.7", 5000),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "app": app,
    }
    asyncio.run(app(scope, receive, send))
    return next(m["status"] for m in sent if m["type"] == "http.response.start"), bool(read)


def test_an_unauthenticated_body_is_refused_before_a_byte_is_read(api) -> None:
    app, _, auth = api
    headers = {"content-type": "application/json", "content-length": "1000"}
    assert _call(app, "POST", "/api/v1/lookup", headers, [b"{" * 1000]) == (401, False)
    assert _call(app, "POST", "/api/cases/1/cards/x/grade", headers, [b"{}"]) == (401, False)
    assert _call(app, "POST", "/logout", headers, [b"{}"]) == (303, False)
    multipart = {"content-type": "multipart/form-data; boundary=x", "content-length": "100"}
    assert _call(app, "POST", "/api/v1/lookup/file", multipart, [b"-" * 100]) == (401, False)


def test_a_declared_length_over_the_limit_is_413_unread_even_with_a_token(api) -> None:
    app, _, auth = api
    headers = {**auth, "content-type": "application/json", "content-length": str(100 << 20)}
    assert _call(app, "POST", "/api/v1/lookup", headers, [b"{}"]) == (413, False)
    assert _call(app, "POST", "/login", headers, [b"{}"]) == (413, False)


def test_a_streamed_body_is_counted_and_cut_at_the_limit(api) -> None:
    app, _, auth = api
    headers = {**auth, "content-type": "application/json", "transfer-encoding": "chunked"}
    chunks = [b" " * 16384] * 8  # 128 KiB, no Content-Length
    assert _call(app, "POST", "/api/v1/lookup", headers, chunks)[0] == 413
    ok = [b'{"hashes": [{"kind": "md5", "value": "' + b"0" * 32 + b'"}]}']
    assert _call(app, "POST", "/api/v1/lookup", headers, ok)[0] == 200


def test_file_lookup_upload_is_capped(api) -> None:
    _, client, auth = api
    big = bytes(300 * 1024)
    response = client.post("/api/v1/lookup/file", files={"file": ("x", big)}, headers=auth)
    assert response.status_code == 413


def _png_declaring(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 4096)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def test_a_picture_declaring_huge_dimensions_is_refused_and_pictures_hash_in_workers(
    api,
) -> None:
    _, client, auth = api
    huge = _png_declaring(15000, 15000)
    response = client.post("/api/v1/lookup/file", files={"file": ("x.png", huge)}, headers=auth)
    assert response.status_code == 422 and "15000x15000" in response.json()["detail"]
    picture = io.BytesIO()
    Image.radial_gradient("L").convert("RGB").save(picture, "PNG")
    response = client.post(
        "/api/v1/lookup/file", files={"file": ("g.png", picture.getvalue())}, headers=auth
    )
    assert response.status_code == 200 and response.json()["pdq"]
    pool = lookup_api.analysis_pool()
    assert pool._processes, "the picture was not decoded in a worker process"
