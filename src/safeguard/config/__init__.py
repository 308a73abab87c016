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
