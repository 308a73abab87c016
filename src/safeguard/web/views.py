"""Shapes the pages and the API share: cards as JSON, the wellbeing panel, grades from input."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from safeguard.config import scheme as load_scheme
from safeguard.review.consensus import Grade
from safeguard.review.exposure import break_message, break_state, exposure
from safeguard.review.queue import Card
from safeguard.review.settings import ReviewSettings
from safeguard.store.models import Case
from safeguard.web.deps import Viewer, web_session_of

KEY_PATTERN = r"^\d{1,12}-[gmp]\d{1,12}$"


class GradeIn(BaseModel):
    category: str = Field(min_length=1, max_length=20)
    victim_identified: bool = False
    series: bool = False
    self_generated: bool = False
    ai_generated: bool = False

    def grade(self) -> Grade:
        return Grade(**self.model_dump(include=set(Grade.__dataclass_fields__)))


class ModerateIn(GradeIn):
    note: str | None = Field(default=None, max_length=2000)


class SplitIn(BaseModel):
    media_id: int


class NoteIn(BaseModel):
    #: Empty is refused by the service (409) after the access checks, like any other mistake.
    text: str = Field(default="", max_length=2000)


def blurred_url(case_id: int, exhibit_id: int, media_id: int, idx: int = 0) -> str:
    return f"/api/cases/{case_id}/items/{exhibit_id}/{media_id}/blurred?idx={idx}"


def card_json(
    case_id: int,
    card: Card,
    frames: Mapping[int, int] | None = None,
    files: Mapping[int, list] | None = None,
    notes: Mapping[tuple[int, int], list] | None = None,
) -> dict[str, Any]:
    """A card for pages and the API; ``frames`` gives the keyframe count of videos, ``files``
    each member's files (path, date, size) and ``notes`` reviewers' notes per item."""
    rep = card.representative
    files, notes = files or {}, notes or {}
    suggestion = card.suggestion
    return {
        "key": card.key,
        "exhibit": card.exhibit,
        "status": card.status,
        "status_label": card.status_label,
        "size": card.size,
        "possibly_self_produced": card.possibly_self_produced,
        "bank_category": rep.bank_category,
        "frames": (frames or {}).get(rep.media_id, 0),
        "suggestion": dataclasses.asdict(suggestion) if suggestion else None,
        "representative": {
            "exhibit_id": rep.exhibit_id,
            "media_id": rep.media_id,
            "kind": rep.kind,
            "blurred": blurred_url(case_id, rep.exhibit_id, rep.media_id),
        },
        "members": [
            {
                "exhibit_id": m.item.exhibit_id,
                "media_id": m.item.media_id,
                "sha256": m.item.sha256,
                "kind": m.item.kind,
                "camera": m.item.camera,
                "shared_device": m.item.shared_device,
                "state": m.state,
                "category": m.category,
                "votes": m.votes,
                "voted_by_me": m.voted_by_me,
                "blurred": blurred_url(case_id, m.item.exhibit_id, m.item.media_id),
                "size_bytes": m.item.size,
                "dimensions": f"{m.item.width}x{m.item.height}" if m.item.width else None,
                "files": [dataclasses.asdict(f) for f in files.get(m.item.media_id, [])],
                "notes": [
                    dataclasses.asdict(n)
                    for n in notes.get((m.item.exhibit_id, m.item.media_id), [])
                ],
            }
            for m in card.members
        ],
    }


def grade_keys(case: Case) -> list[dict[str, str]]:
    """Keyboard keys for the case's scheme: the first character of each gradeable code."""
    scheme = load_scheme(case.scheme)
    return [
        {"key": c.code[0].lower(), "code": c.code, "label": c.label}
        for c in scheme.by_severity()
        if c.code != scheme.uncategorised
    ]


def wellbeing(session: Session, who: Viewer, settings: ReviewSettings) -> dict[str, Any]:
    seen = exposure(session, who.user_id)
    state = break_state(session, web_session_of(session, who), settings)
    return {
        "today": seen.today,
        "week": seen.week,
        "break_due": state.due,
        "reveals_since_break": state.reveals_since_break,
        "minutes_since_break": state.minutes_since_break,
        "break_after_reveals": settings.break_after_reveals,
        "break_after_minutes": settings.break_after_minutes,
        "break_text": break_message(state),
        "break_enforced": settings.enforce_breaks,
    }
