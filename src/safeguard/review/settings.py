"""Review settings: consensus, wellbeing and session options, from the environment or code."""

from __future__ import annotations

import os
from dataclasses import dataclass

from safeguard.domain.review_policy import DEFAULT_AUTO_ACCEPT_BELOW, ReviewPolicy


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


@dataclass(frozen=True)
class ReviewSettings:
    #: Agreeing votes that make a grade final (CAID admits a new grade after three).
    votes_required: int = 3
    #: Reviewers who must confirm a known grade offered by a perceptual match.
    confirmations_required: int = 1
    #: Perceptual matches closer than this (PDQ bits) need no person (0: every one is checked).
    auto_accept_below: int = DEFAULT_AUTO_ACCEPT_BELOW
    #: When a break is due, refuse reveals and full views until the reviewer has taken it.
    enforce_breaks: bool = False
    #: Cards the queue page shows at first and loads at a time as the reviewer works.
    queue_page: int = 30
    #: Prompt a break after this many reveals since the last break...
    break_after_reveals: int = 40
    #: ... or this many minutes since the last break (sign-in counts as one).
    break_after_minutes: int = 45
    #: Send the session cookie only over https ("Secure"); off for plain http on localhost.
    secure_cookies: bool = False
    #: Sign a session out after this many minutes without a request.
    session_idle_minutes: int = 480
    #: After this many failed sign-ins in a row an account is locked (0: never) ...
    login_max_failures: int = 5
    #: ... for this many minutes from the last of them.
    login_lockout_minutes: int = 15
    #: After this many failed sign-ins in a row from one client address, that client is
    #: refused for the same time, whatever name it tries (0: never).
    login_client_failures: int = 20

    @property
    def policy(self) -> ReviewPolicy:
        return ReviewPolicy(
            self.votes_required, self.confirmations_required, self.auto_accept_below
        )

    @classmethod
    def from_env(cls, **overrides: object) -> ReviewSettings:
        values = {
            "votes_required": _int("SAFEGUARD_VOTES_REQUIRED", cls.votes_required),
            "confirmations_required": _int(
                "SAFEGUARD_CONFIRMATIONS_REQUIRED", cls.confirmations_required
            ),
            "auto_accept_below": _int("SAFEGUARD_AUTO_ACCEPT_BELOW", cls.auto_accept_below),
            "enforce_breaks": os.environ.get("SAFEGUARD_ENFORCE_BREAKS", "") in ("1", "true"),
            "queue_page": _int("SAFEGUARD_QUEUE_PAGE", cls.queue_page),
            "break_after_reveals": _int("SAFEGUARD_BREAK_REVEALS", cls.break_after_reveals),
            "break_after_minutes": _int("SAFEGUARD_BREAK_MINUTES", cls.break_after_minutes),
            "secure_cookies": os.environ.get("SAFEGUARD_SECURE_COOKIES", "") in ("1", "true"),
            "session_idle_minutes": _int("SAFEGUARD_SESSION_MINUTES", cls.session_idle_minutes),
            "login_max_failures": _int("SAFEGUARD_LOGIN_FAILURES", cls.login_max_failures),
            "login_lockout_minutes": _int(
                "SAFEGUARD_LOGIN_LOCKOUT_MINUTES", cls.login_lockout_minutes
            ),
            "login_client_failures": _int(
                "SAFEGUARD_LOGIN_CLIENT_FAILURES", cls.login_client_failures
            ),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
