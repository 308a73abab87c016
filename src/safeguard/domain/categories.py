"""Category schemes (UK A/B/C by default) and VICS code tables.

The tables themselves live in configuration (``safeguard/config/categories.json``); this module
holds only their shape and the rules that use them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Category:
    code: str
    label: str
    #: Higher is more severe; used to pick "the highest category" in reports.
    severity: int
    #: True for categories that count as indecent in a charging summary.
    indecent: bool


@dataclass(frozen=True)
class CategoryScheme:
    name: str
    categories: tuple[Category, ...]
    uncategorised: str

    def get(self, code: str) -> Category:
        for category in self.categories:
            if category.code == code:
                return category
        raise KeyError(f"category {code!r} is not in scheme {self.name!r}")

    def __contains__(self, code: object) -> bool:
        return any(c.code == code for c in self.categories)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.categories)

    def highest(self) -> Category:
        return max(self.categories, key=lambda c: c.severity)

    def by_severity(self) -> list[Category]:
        return sorted(self.categories, key=lambda c: -c.severity)


@dataclass(frozen=True)
class VicsProfile:
    """Maps the integer ``Category`` of a VICS file to a scheme's category codes and back."""

    name: str
    scheme: str
    to_code: dict[int, str] = field(default_factory=dict)

    def code_for(self, number: int) -> str:
        try:
            return self.to_code[number]
        except KeyError:
            raise ValueError(f"VICS category {number} is not in the {self.name} profile") from None

    def number_for(self, code: str) -> int:
        for number, known in self.to_code.items():
            if known == code:
                return number
        raise ValueError(f"category {code!r} has no VICS number in the {self.name} profile")


def scheme_from_dict(name: str, data: dict) -> CategoryScheme:
    categories = tuple(
        Category(
            code=str(c["code"]),
            label=str(c["label"]),
            severity=int(c["severity"]),
            indecent=bool(c["indecent"]),
        )
        for c in data["categories"]
    )
    scheme = CategoryScheme(name=name, categories=categories, uncategorised=data["uncategorised"])
    scheme.get(scheme.uncategorised)  # the uncategorised code must be one of the categories
    return scheme


def profile_from_dict(name: str, data: dict) -> VicsProfile:
    return VicsProfile(
        name=name,
        scheme=data["scheme"],
        to_code={int(k): str(v) for k, v in data["codes"].items()},
    )


def resolve_grades(codes: list[str]) -> str | None:
    """The single grade several bank matches agree on, or None when they disagree."""
    distinct = set(codes)
    return distinct.pop() if len(distinct) == 1 else None
