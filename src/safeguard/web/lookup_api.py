"""The lookup API for other tools (as HMA offers): hashes or a file in, bank matches out.

Authenticated with API tokens (``Authorization: Bearer sgt_...``) that an admin issues and
revokes (``safeguard token``, or the admin API); rate-limited per token by a token bucket (429
with ``Retry-After``): on PostgreSQL one bucket row per token that every ``safeguard serve``
process shares (one atomic upsert per request, ``store.shared_state``), on SQLite (one server
process) an in-memory one. Uploaded files are hashed in memory and never stored.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Literal, Protocol

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile as StarletteUpload

from safeguard.banks.lookup import HashQuery, hash_bytes, lookup
from safeguard.domain.signals import PDQ_RADIUS
from safeguard.store import api_tokens
from safeguard.store import banks as bank_store
from safeguard.store.database import session_scope
from safeguard.store.shared_state import take_request
from safeguard.web.deps import store
from safeguard.web.limits import max_upload_bytes

router = APIRouter(prefix="/api/v1", tags=["lookup"])
_bearer = HTTPBearer(auto_error=False, description="An API token issued by an administrator.")
MAX_HASHES = 1000


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


def _rate_settings() -> tuple[float, float]:
    return _env_float("SAFEGUARD_LOOKUP_RATE", 50.0), _env_float("SAFEGUARD_LOOKUP_BURST", 100.0)


class RateLimiter(Protocol):
    def take(self, key: int) -> float:
        """0 when the request may go ahead, else the seconds until it could."""
        ...


class TokenBuckets:
    """Per-token buckets in this process: ``burst`` requests at once, refilled at ``rate`` per
    second. For one server process (SQLite)."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self._lock = threading.Lock()
        self._state: dict[int, tuple[float, float]] = {}

    @classmethod
    def from_env(cls) -> TokenBuckets:
        return cls(*_rate_settings())

    def take(self, key: int) -> float:
        """0 when the request may go ahead, else the seconds until it could."""
        now = time.monotonic()
        with self._lock:
            level, then = self._state.get(key, (self.burst, now))
            level = min(self.burst, level + (now - then) * self.rate)
            if level >= 1:
                self._state[key] = (level - 1, now)
                return 0.0
            self._state[key] = (level, now)
            return (1 - level) / self.rate if self.rate > 0 else 3600.0


class SharedTokenBuckets:
    """The same buckets as rows in PostgreSQL, shared by every server process on the database
    and timed by the database's clock. One upsert (one round trip) per request."""

    def __init__(self, database_url: str, rate: float, burst: float) -> None:
        self.database_url, self.rate, self.burst = database_url, rate, burst

    def take(self, key: int) -> float:
        with session_scope(self.database_url) as session:
            return take_request(session, key, self.rate, self.burst)


def rate_limiter(database_url: str) -> RateLimiter:
    """Shared buckets on PostgreSQL (many server processes), in-memory ones on SQLite."""
    if database_url.startswith("postgresql"):
        return SharedTokenBuckets(database_url, *_rate_settings())
    return TokenBuckets.from_env()


def buckets_of(request: Request) -> RateLimiter:
    state = request.app.state
    if getattr(state, "lookup_buckets", None) is None:
        with _CREATE:
            if getattr(state, "lookup_buckets", None) is None:
                state.lookup_buckets = rate_limiter(state.database_url)
    return state.lookup_buckets


_CREATE = threading.Lock()


@dataclass(frozen=True)
class Client:
    token_id: int
    name: str


def client(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Client:
    """The API client of this request: 401 without a valid token, 429 over its rate."""
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or not credentials.credentials or len(credentials.credentials) > 200:
        raise HTTPException(status_code=401, detail="an API token is required", headers=challenge)
    with store(request) as session:
        row = api_tokens.resolve_token(session, credentials.credentials)
        if row is None:
            raise HTTPException(
                status_code=401, detail="unknown or revoked token", headers=challenge
            )
        found = Client(row.id, row.name)
    wait = buckets_of(request).take(found.token_id)
    if wait:
        raise HTTPException(
            status_code=429,
            detail="rate limit exceeded",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    return found


ApiClient = Annotated[Client, Depends(client)]


class HashIn(BaseModel):
    kind: Literal["md5", "sha1", "sha256", "pdq"]
    value: str = Field(min_length=32, max_length=64, pattern="^[0-9a-fA-F]+$")


class LookupRequest(BaseModel):
    hashes: list[HashIn] = Field(min_length=1, max_length=MAX_HASHES)
    radius: int = Field(PDQ_RADIUS, ge=0, le=64, description="PDQ Hamming distance at most this.")


class MatchOut(BaseModel):
    bank: str
    category: str
    entry_id: int
    distance: int = Field(description="0 for digests; PDQ Hamming distance.")
    victim_identified: bool
    series: str | None
    self_generated: bool
    external_id: str | None


class HashResult(BaseModel):
    kind: str
    value: str
    matches: list[MatchOut]


class LookupResponse(BaseModel):
    results: list[HashResult]


class FileLookupResponse(BaseModel):
    md5: str
    sha1: str
    sha256: str
    size: int
    mime: str
    pdq: str | None
    pdq_quality: int | None
    results: list[HashResult]


def _answer(request: Request, queries: list[HashQuery], radius: int) -> list[HashResult]:
    try:
        with store(request) as session:
            found = lookup(session, queries, radius)
    except ValueError as error:
        raise HTTPException(status_code=422, detail=str(error)) from None
    results = [HashResult(kind=q.kind, value=q.value.lower(), matches=[]) for q in queries]
    for f in found:
        results[f.query].matches.append(MatchOut.model_validate(f, from_attributes=True))
    return results


@router.post("/lookup", response_model=LookupResponse)
def lookup_hashes(body: LookupRequest, request: Request, _: ApiClient) -> LookupResponse:
    """Match digests exactly and PDQ hashes within ``radius`` against every enabled bank."""
    queries = [HashQuery(h.kind, h.value) for h in body.hashes]
    return LookupResponse(results=_answer(request, queries, body.radius))


#: Largest picture (declared width x height) a file lookup decodes
#: (``SAFEGUARD_LOOKUP_MAX_PIXELS``): refused from its header, before a pixel is decoded.
DEFAULT_LOOKUP_MAX_PIXELS = 50_000_000
_POOL_LOCK = threading.Lock()
_POOL: ProcessPoolExecutor | None = None


def lookup_max_pixels() -> int:
    return int(_env_float("SAFEGUARD_LOOKUP_MAX_PIXELS", DEFAULT_LOOKUP_MAX_PIXELS))


def analysis_pool() -> ProcessPoolExecutor:
    """The processes that decode and hash uploaded files (``SAFEGUARD_LOOKUP_WORKERS``, default
    2): decoding is not thread-safe, costs memory in proportion to pixels and must not run on
    the server's threads. Spawned, not forked, as the server has threads."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            workers = max(1, int(_env_float("SAFEGUARD_LOOKUP_WORKERS", 2)))
            _POOL = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        return _POOL


_UPLOAD_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "The file to hash (never stored).",
                        }
                    },
                }
            }
        },
    }
}


@router.post("/lookup/file", response_model=FileLookupResponse, openapi_extra=_UPLOAD_SCHEMA)
async def lookup_file(
    request: Request, _: ApiClient, radius: int = PDQ_RADIUS
) -> FileLookupResponse:
    """Hash an uploaded file in memory (digests, and PDQ for pictures) and match it.

    The token is checked before the body is read (see ``web.limits``); the upload is read up
    to ``SAFEGUARD_LOOKUP_MAX_UPLOAD`` bytes (413 beyond) and hashed in a worker process; a
    picture declaring more than ``SAFEGUARD_LOOKUP_MAX_PIXELS`` pixels is refused (422).
    """
    if not 0 <= radius <= 64:
        raise HTTPException(status_code=422, detail="radius must be 0 to 64")
    limit = max_upload_bytes()
    form = await request.form(max_files=1, max_fields=4)
    try:
        upload = form.get("file")
        if not isinstance(upload, StarletteUpload):
            raise HTTPException(status_code=422, detail="send the file as the form field 'file'")
        data = await upload.read(limit + 1)
    finally:
        await form.close()
    if len(data) > limit:
        raise HTTPException(status_code=413, detail=f"files up to {limit} bytes")
    loop = asyncio.get_running_loop()
    hashes = await loop.run_in_executor(
        analysis_pool(), partial(hash_bytes, max_pixels=lookup_max_pixels()), data
    )
    del data
    if hashes.rejected:
        raise HTTPException(status_code=422, detail=hashes.rejected)
    fields = {k: v for k, v in dataclasses.asdict(hashes).items() if k != "rejected"}
    results = await run_in_threadpool(_answer, request, hashes.queries(), radius)
    return FileLookupResponse(**fields, results=results)


class BankOut(BaseModel):
    id: int
    name: str
    scheme: str
    format: str | None
    source: str | None
    enabled: bool
    entries: int


@router.get("/banks", response_model=list[BankOut])
def banks(request: Request, _: ApiClient) -> list[BankOut]:
    """Every bank with its size, source and whether lookups use it."""
    with store(request) as session:
        return [BankOut(**vars(b)) for b in bank_store.list_banks(session)]
