"""The review policy: how many people must see an item before its grade is final. Pure.

Two different questions, with two different answers:

* a **new grade** (a first-generation item, or banks that disagree) needs ``votes_required``
  agreeing reviewers (CAID admits a new grade to the national database after three);
* a **known grade** offered by a perceptual match (the picture is close to, but not the same
  bytes as, a graded bank entry) only needs ``confirmations_required`` reviewers to confirm that
  it is the same picture: the grade itself is already in the bank.

A picture's perceptual match closer than ``auto_accept_below`` bits (PDQ Hamming distance; 0
switches this off) is accepted without a person: at such distances the two pictures are the same
picture re-encoded, resized or rotated, and the bank's grade stands as it does for an exact
match. Videos matched by vPDQ are always confirmed by a person: a clip's category depends on the
part of the known video it holds.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Default: PDQ distances up to 9 of 256 bits are accepted without a person.
DEFAULT_AUTO_ACCEPT_BELOW = 10


@dataclass(frozen=True)
class ReviewPolicy:
    votes_required: int = 3
    confirmations_required: int = 1
    auto_accept_below: int = DEFAULT_AUTO_ACCEPT_BELOW

    def __post_init__(self) -> None:
        if self.votes_required < 1 or self.confirmations_required < 1:
            raise ValueError("at least one vote must be required")
        if not 0 <= self.auto_accept_below <= 256:
            raise ValueError("auto_accept_below must be within 0..256 bits")

    def auto_accepted(self, status: str, distance: int | None, hash_kind: str = "pdq") -> bool:
        """A picture's perceptual match close enough that no person needs to confirm it."""
        return (
            status == "graded_perceptual"
            and hash_kind == "pdq"
            and distance is not None
            and distance < self.auto_accept_below
        )

    def required(self, status: str) -> int:
        """Agreeing votes that make the grade of an item with this triage status final."""
        return self.confirmations_required if status == "graded_perceptual" else self.votes_required

    def describe(self) -> str:
        """The policy in one sentence, for the case report."""
        auto = (
            f"pictures' perceptual matches closer than {self.auto_accept_below} bits (PDQ) are "
            "accepted without a person (videos' matches are always confirmed)"
            if self.auto_accept_below
            else "every perceptual match is confirmed by a person"
        )
        return (
            f"A new grade needs {self.votes_required} agreeing reviewer(s); a known grade from a "
            f"perceptual match needs {self.confirmations_required} confirmation(s); {auto}; "
            "any disagreement goes to a supervisor."
        )
