"""Closing and purging cases: the service functions (each writes its audit entry).

A forensic unit closes a case when it is finished (nothing changes, previews are kept for
appeals) and purges it when the retention period ends: purging deletes for good the case's
review previews and video keyframes (pictures derived from seized media), audited with the
counts, while hashes, grades, matches and the audit log stay. Only a closed case can be
purged, so a purge is always a second, deliberate step.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from safeguard.store import audit
from safeguard.store.cases import get_case
from safeguard.store.hardening_models import CLOSED, OPEN, PURGED
from safeguard.store.retention import delete_case_previews, retention_state, set_state


class RetentionError(ValueError):
    """The case is not in a state that allows this step."""


@dataclass(frozen=True)
class PurgeSummary:
    case: str
    deleted: dict[str, int]
    #: Media whose previews stay because a case that is not purged also holds them.
    kept_shared: int


def close_case(session: Session, reference: str, *, username: str | None = None) -> None:
    case = get_case(session, reference)
    state = retention_state(session, case.id)
    if state != OPEN:
        raise RetentionError(f"case {reference} is {state}, not open")
    set_state(session, case.id, CLOSED)
    audit.append(session, "case_closed", username=username, case_id=case.id)


def reopen_case(session: Session, reference: str, *, username: str | None = None) -> None:
    case = get_case(session, reference)
    state = retention_state(session, case.id)
    if state != CLOSED:
        raise RetentionError(f"case {reference} is {state}; only a closed case can be reopened")
    set_state(session, case.id, OPEN)
    audit.append(session, "case_reopened", username=username, case_id=case.id)


def purge_case(session: Session, reference: str, *, username: str | None = None) -> PurgeSummary:
    """Delete the closed case's previews and keyframes; audited with the counts."""
    case = get_case(session, reference)
    state = retention_state(session, case.id)
    if state != CLOSED:
        raise RetentionError(f"case {reference} is {state}; close it before purging")
    deleted, kept = delete_case_previews(session, case.id)
    set_state(session, case.id, PURGED)
    audit.append(
        session,
        "case_purged",
        username=username,
        case_id=case.id,
        detail={"deleted": deleted, "kept_shared_media": kept},
    )
    return PurgeSummary(reference, deleted, kept)
