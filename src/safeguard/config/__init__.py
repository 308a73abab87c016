"""Configuration shipped with Safeguard: category schemes and VICS code tables."""

from __future__ import annotations

import json
import os
from functools import cache
from importlib import resources
from pathlib import Path

from safeguard.domain.categories import (
    CategoryScheme,
    VicsProfile,
    profile_from_dict,
    scheme_from_dict,
)
from safeguard.domain.review_policy import ReviewPolicy

DEFAULT_SCHEME = "uk"


@cache
def _categories_document() -> dict:
    override = os.environ.get("SAFEGUARD_CATEGORIES_FILE")
    if override:
        return json.loads(Path(override).read_text(encoding="utf-8"))
    text = resources.files("safeguard.config").joinpath("categories.json").read_text("utf-8")
    return json.loads(text)


def scheme(name: str = DEFAULT_SCHEME) -> CategoryScheme:
    doc = _categories_document()
    if name not in doc["schemes"]:
        raise KeyError(f"unknown category scheme {name!r}; known: {sorted(doc['schemes'])}")
    return scheme_from_dict(name, doc["schemes"][name])


def vics_profile(name: str = DEFAULT_SCHEME) -> VicsProfile:
    doc = _categories_document()
    if name not in doc["vics_profiles"]:
        raise KeyError(f"unknown VICS profile {name!r}; known: {sorted(doc['vics_profiles'])}")
    return profile_from_dict(name, doc["vics_profiles"][name])


def review_policy(**overrides: int | None) -> ReviewPolicy:
    """The unit's review policy from the environment (SAFEGUARD_VOTES_REQUIRED,
    SAFEGUARD_CONFIRMATIONS_REQUIRED, SAFEGUARD_AUTO_ACCEPT_BELOW), overridden by arguments."""

    def number(name: str, default: int) -> int:
        value = os.environ.get(name, "").strip()
        try:
            return int(value) if value else default
        except ValueError:
            raise ValueError(f"{name} must be a whole number, not {value[:20]!r}") from None

    values = {
        "votes_required": number("SAFEGUARD_VOTES_REQUIRED", ReviewPolicy.votes_required),
        "confirmations_required": number(
            "SAFEGUARD_CONFIRMATIONS_REQUIRED", ReviewPolicy.confirmations_required
        ),
        "auto_accept_below": number("SAFEGUARD_AUTO_ACCEPT_BELOW", ReviewPolicy.auto_accept_below),
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    return ReviewPolicy(**values)
