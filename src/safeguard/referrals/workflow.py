"""Referral workflow states and the moves between them. Pure.

Rule: a referral goes received -> resolving -> resolved -> linked -> prioritised -> packaged ->
disseminated -> closed. From any open state it may be closed (with a reason); a closed referral
may be reopened to ``received``. A referral may step back one state (e.g. resolved -> resolving
when a new request is needed). Every move names who made it, the assignee after it and a
reason; a move without a reason is refused. Later states (linked ... disseminated) belong to the
linking/packaging work; they are listed here so that the order is defined in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

RECEIVED = "received"
RESOLVING = "resolving"
RESOLVED = "resolved"
LINKED = "linked"
PRIORITISED = "prioritised"
PACKAGED = "packaged"
DISSEMINATED = "disseminated"
CLOSED = "closed"

#: The forward order of the open states.
ORDER: tuple[str, ...] = (
    RECEIVED,
    RESOLVING,
    RESOLVED,
    LINKED,
    PRIORITISED,
    PACKAGED,
    DISSEMINATED,
)
STATES: tuple[str, ...] = (*ORDER, CLOSED)


@dataclass(frozen=True)
class Refused:
    """Why a move is not allowed (an error as a value)."""

    reason: str


def allowed_moves(state: str) -> tuple[str, ...]:
    """The states a referral in ``state`` may move to."""
    if state == CLOSED:
        return (RECEIVED,)
    if state not in ORDER:
        return (CLOSED,)
    i = ORDER.index(state)
    moves = []
    if i + 1 < len(ORDER):
        moves.append(ORDER[i + 1])
    if i > 0:
        moves.append(ORDER[i - 1])
    moves.append(CLOSED)
    return tuple(moves)


def check_move(state: str, to: str, reason: str | None) -> Refused | None:
    """None when ``state -> to`` with ``reason`` is allowed, else why not."""
    if to not in STATES:
        return Refused(f"unknown state {to!r} (one of {', '.join(STATES)})")
    if not reason or not reason.strip():
        return Refused("a reason is required for every change")
    if to == state:
        return Refused(f"the referral is already {state}")
    if to not in allowed_moves(state):
        return Refused(
            f"cannot move from {state} to {to} (allowed: {', '.join(allowed_moves(state))})"
        )
    return None


def is_open(state: str) -> bool:
    return state != CLOSED
