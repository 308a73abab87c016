"""Grades given by people in the review workstation, as the case report counts them.

A separate path from the automatic grades: an item that triage left for review (new, a
perceptual match awaiting confirmation, or conflicting banks) and whose review outcome is final
is counted under the reviewed category, with status ``graded_review``.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from safeguard.domain.grades import FINAL_STATE, REVIEWABLE
from safeguard.store.review_models import ReviewOutcome

GRADED_REVIEW = "graded_review"
__all__ = ["GRADED_REVIEW", "REVIEWABLE", "final_review_grades"]


def final_review_grades(session: Session, exhibit_id: int) -> dict[int, str]:
    """media id -> category of every item of the exhibit whose review is final."""
    rows = session.execute(
        select(ReviewOutcome.media_id, ReviewOutcome.category).where(
            ReviewOutcome.exhibit_id == exhibit_id,
            ReviewOutcome.state == FINAL_STATE,
            ReviewOutcome.category.is_not(None),
        )
    )
    return dict(rows.all())


def final_review_outcomes(session: Session, exhibit_id: int) -> dict[int, ReviewOutcome]:
    """media id -> the final review outcome (votes, method, flags) of the exhibit's items."""
    rows = session.scalars(
        select(ReviewOutcome).where(
            ReviewOutcome.exhibit_id == exhibit_id,
            ReviewOutcome.state == "final",
            ReviewOutcome.category.is_not(None),
        )
    )
    return {r.media_id: r for r in rows}
