"""Consensus: where one item stands given its votes and any supervisor decision. Pure.

The outcome is a function of the *set* of votes, so votes cast in any order end in the same
state. Rules:

* a supervisor's decision is final, whatever the votes;
* votes for two or more categories: "disputed" (the supervisor's moderation queue) - a dissent
  is never dropped, even one that arrives after agreement was reached;
* ``required`` or more votes, all for one category: "final" by consensus, flags being those that
  any agreeing reviewer set (a flag such as "victim identified" must not be lost);
* otherwise "pending".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

PENDING, DISPUTED, FINAL = "pending", "disputed", "final"
CONSENSUS, MODERATION = "consensus", "moderation"
FLAGS = ("victim_identified", "series", "self_generated", "ai_generated")


@dataclass(frozen=True)
class Grade:
    category: str
    victim_identified: bool = False
    series: bool = False
    self_generated: bool = False
    ai_generated: bool = False

    def flags(self) -> dict[str, bool]:
        return {name: getattr(self, name) for name in FLAGS}


@dataclass(frozen=True)
class Ballot:
    user_id: int
    grade: Grade


@dataclass(frozen=True)
class Outcome:
    state: str
    votes: int
    grade: Grade | None = None
    method: str | None = None


def decide(ballots: Iterable[Ballot], required: int = 3, decision: Grade | None = None) -> Outcome:
    """The outcome for one item; ``required`` agreeing votes make a grade final."""
    if required < 1:
        raise ValueError("at least one vote must be required")
    ballots = list(ballots)
    voters = [b.user_id for b in ballots]
    if len(voters) != len(set(voters)):
        raise ValueError("a reviewer votes once per item")
    if decision is not None:
        return Outcome(FINAL, len(ballots), decision, MODERATION)
    categories = {b.grade.category for b in ballots}
    if len(categories) > 1:
        return Outcome(DISPUTED, len(ballots))
    if len(ballots) >= required:
        flags = {name: any(getattr(b.grade, name) for b in ballots) for name in FLAGS}
        return Outcome(FINAL, len(ballots), Grade(categories.pop(), **flags), CONSENSUS)
    return Outcome(PENDING, len(ballots))
