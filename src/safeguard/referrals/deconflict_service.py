"""Services: export this store's keyed hashes, import other forces' files, record the hits."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from safeguard.referrals import workflow
from safeguard.referrals.deconfliction import (
    DeconflictError,
    DeconflictionFile,
    Held,
    Keyring,
    build_file,
    digest,
    parse_file,
)
from safeguard.referrals.subjects import CAN_LINK, Refused, _aware, hold, require
from safeguard.store import audit
from safeguard.store import subjects as repo
from safeguard.store.referral_models import Referral
from safeguard.store.review_models import User
from safeguard.store.subject_models import DeconflictionHit, ExternalHolding


def held_identifiers(session: Session) -> list[tuple[Referral, Held]]:
    """Valid strong identifiers of open referrals (raw, in memory only)."""
    out = []
    idents = repo.identifiers_by_referral(session)
    for r in repo.all_referrals(session):
        if r.state == workflow.CLOSED:
            continue
        since = _aware(r.received_at).date().isoformat()
        for i in idents.get(r.id, []):
            if i.valid and i.kind in ("email", "phone", "esp_account"):
                out.append((r, Held(i.kind, i.value, repo.referral_label(r), since, i.service)))
    return out


def export(session: Session, user: User, keyring: Keyring, force: str) -> dict[str, Any]:
    require(user, CAN_LINK)
    doc = build_file(
        (h for _r, h in held_identifiers(session)),
        keyring,
        force,
        datetime.now(UTC).isoformat(timespec="seconds"),
    )
    audit.append(
        session,
        "deconfliction_exported",
        user_id=user.id,
        username=user.username,
        detail={"force": force, "key_id": doc["key_id"], "entries": len(doc["entries"])},
    )
    return doc


def import_file(
    session: Session, user: User, data: bytes, keyring: Keyring, where: str
) -> dict[str, Any]:
    """Store another force's entries and flag (and hold) our referrals they touch."""
    require(user, CAN_LINK)
    parsed = parse_file(data, keyring, where)
    if isinstance(parsed, DeconflictError):
        raise Refused(str(parsed))
    sha = hashlib.sha256(data).hexdigest()
    added = 0
    for e in parsed.entries:
        if not repo.holding_exists(session, parsed.force, parsed.key_id, e.digest, e.reference):
            session.add(
                ExternalHolding(
                    force=parsed.force,
                    key_id=parsed.key_id,
                    digest=e.digest,
                    kind=e.kind,
                    reference=e.reference,
                    since=e.since,
                    file_sha256=sha,
                )
            )
            added += 1
    session.flush()
    hits = match(session, keyring, [parsed])
    audit.append(
        session,
        "deconfliction_imported",
        user_id=user.id,
        username=user.username,
        detail={
            "force": parsed.force,
            "key_id": parsed.key_id,
            "file_sha256": sha,
            "entries": len(parsed.entries),
            "new_entries": added,
            "new_hits": hits,
        },
    )
    return {
        "force": parsed.force,
        "entries": len(parsed.entries),
        "new_entries": added,
        "new_hits": hits,
    }


def match(session: Session, keyring: Keyring, files: list[DeconflictionFile] | None = None) -> int:
    """Hits of our open referrals against stored (or given) external entries; holds them."""
    if files is None:
        by_file: dict[tuple[str, str], list[ExternalHolding]] = {}
        for h in repo.external_holdings(session):
            by_file.setdefault((h.force, h.key_id), []).append(h)
        index = {key: {h.digest: h for h in rows} for key, rows in by_file.items()}
    else:
        index = {(f.force, f.key_id): {e.digest: e for e in f.entries} for f in files}
    new = 0
    held = held_identifiers(session)
    for (force, key_id), entries in index.items():
        key = keyring.get(key_id)
        if key is None:
            continue
        for referral, h in held:
            d = digest(key, h.kind, h.value, h.service if h.kind == "esp_account" else None)
            e = entries.get(d)
            if e is None or repo.has_hit(session, referral.id, force, e.reference):
                continue
            text = f"also held by {force}, {e.reference}, since {e.since}"
            session.add(
                DeconflictionHit(
                    referral_id=referral.id,
                    scope="external",
                    holder=force,
                    their_reference=e.reference,
                    since=e.since,
                    detail=f"{text} ({h.kind})",
                )
            )
            session.flush()
            hold(session, referral, f"conflict: {text}")
            new += 1
    return new
