"""The final-grade rule: which grade of an item counts, defined once.

Used by the case report, the case export and the summary page, so they can never disagree.

Rule: an item's triage status decides whether people may override the banks. For items triage
left for review (``REVIEWABLE``: new, a perceptual match awaiting confirmation, banks in
conflict), a *final* review outcome (consensus or a supervisor's decision) is the grade. For
every other status the automatic grade stands: an exact match to a graded bank entry is
authoritative, and a review outcome recorded against it (for instance one left over from before
a bank was imported and matching re-run) does not change it.
"""

from __future__ import annotations

from safeguard.domain.kinds import MediaStatus

#: Statuses whose items are graded by people in the review workstation.
REVIEWABLE: frozenset[str] = frozenset(
    {MediaStatus.NEW, MediaStatus.GRADED_PERCEPTUAL, MediaStatus.CONFLICTING}
)
#: Statuses whose automatic grade (from the deciding bank entry) counts.
AUTOMATIC: tuple[str, ...] = (MediaStatus.GRADED_EXACT, MediaStatus.GRADED_PERCEPTUAL)
#: The review state whose category is a grade.
FINAL_STATE = "final"


def review_decides(status: str) -> bool:
    """True when a final review outcome is the grade of an item with this triage status."""
    return status in REVIEWABLE
