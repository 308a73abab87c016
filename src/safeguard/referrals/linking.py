"""Subject linking: which referrals belong to one person, and why.

The rule (pure, deterministic for a given input):

1. **Strong identifiers link deterministically.** Two referrals are the same person when they
   share a normalised email address, an E.164 phone number, an ESP account id or a username
   (screen name) *on the same service*, or one IP address seen with the same source port (or
   both without a port) at instants no further apart than ``ip_window`` (an IP identifies a
   subscriber only with its time and, behind carrier-grade NAT, its port).
2. **Names, dates of birth, addresses and postcodes link probabilistically** (Fellegi-Sunter,
   Splink: ``referrals.splink_linker``); a pair links when its match probability reaches the
   threshold. A shared address alone (a family home) never does.
3. **Analyst decisions win.** A pair the analyst said is the same person is joined first; a pair
   the analyst split is never joined again, by any path: edges are applied strongest first
   (analyst, deterministic, then probabilistic by descending weight) and an edge that would put
   two split referrals into one subject is skipped and reported.

The result is every subject (a set of referrals) with the edges that built it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

#: Identifier kinds that link deterministically.
STRONG_KINDS = ("email", "phone", "esp_account", "username", "ip")


@dataclass(frozen=True)
class Strong:
    """One strong identifier of a referral (normalised upstream)."""

    kind: str
    value: str
    service: str | None = None
    at: datetime | None = None
    port: int | None = None
    #: Where it came from (report, file, fragment, return) for the "why".
    origin: str = "report"


@dataclass(frozen=True)
class Person:
    """The soft identity fields of a referral, for probabilistic linking."""

    first_name: str | None = None
    last_name: str | None = None
    dob: str | None = None
    address: str | None = None
    postcode: str | None = None


@dataclass(frozen=True)
class LinkRecord:
    """One referral as linking sees it."""

    key: str
    strong: tuple[Strong, ...] = ()
    person: Person = field(default_factory=Person)


@dataclass(frozen=True)
class Edge:
    """Why two referrals are one person."""

    a: str
    b: str
    method: str  # analyst | deterministic | probabilistic
    reasons: tuple[str, ...]
    weight: float | None = None  # Splink match weight (log2 Bayes factor)
    probability: float | None = None

    @property
    def pair(self) -> tuple[str, str]:
        return (self.a, self.b) if self.a <= self.b else (self.b, self.a)


@dataclass(frozen=True)
class Decision:
    """An analyst's word on a pair: same person or not."""

    a: str
    b: str
    same: bool

    @property
    def pair(self) -> tuple[str, str]:
        return (self.a, self.b) if self.a <= self.b else (self.b, self.a)


@dataclass(frozen=True)
class LinkResult:
    #: Each subject as a sorted tuple of referral keys; subjects sorted by first key.
    clusters: tuple[tuple[str, ...], ...]
    #: The edges that joined referrals (a spanning set per subject, strongest first).
    edges: tuple[Edge, ...]
    #: Edges not applied because an analyst had split the pair they would join.
    blocked: tuple[Edge, ...]


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


def strong_key(s: Strong) -> tuple[str, ...] | None:
    """The exact-match key of a non-IP strong identifier (None for IPs and empty values)."""
    if not s.value:
        return None
    if s.kind in ("email", "phone"):
        return (s.kind, s.value)
    if s.kind in ("esp_account", "username"):
        if not s.service:  # an account name means nothing without its service
            return None
        return (s.kind, s.service.strip().lower(), s.value)
    return None


def deterministic_edges(
    records: Iterable[LinkRecord], ip_window: timedelta = timedelta(minutes=30)
) -> list[Edge]:
    """Edges from shared strong identifiers: a chain per identifier (enough for connectivity).

    IP events are grouped by (address, port) and sorted by instant; consecutive events within
    ``ip_window`` of each other link. IP events without an instant never link.
    """
    by_key: dict[tuple[str, ...], list[str]] = defaultdict(list)
    ip_events: dict[tuple[str, int | None], list[tuple[datetime, str]]] = defaultdict(list)
    for record in records:
        for s in record.strong:
            if s.kind == "ip":
                if s.value and s.at is not None:
                    ip_events[(s.value, s.port)].append((s.at, record.key))
                continue
            key = strong_key(s)
            if key is not None:
                by_key[key].append(record.key)
    edges: list[Edge] = []
    for key in sorted(by_key):
        keys = sorted(set(by_key[key]))
        label = _describe(key)
        edges.extend(
            Edge(first, other, "deterministic", (label,))
            for first, other in zip(keys, keys[1:], strict=False)
        )
    for (ip, port), events in sorted(ip_events.items(), key=lambda kv: (kv[0][0], kv[0][1] or -1)):
        events.sort()
        for (t1, k1), (t2, k2) in zip(events, events[1:], strict=False):
            if k1 != k2 and t2 - t1 <= ip_window:
                where = f"port {port}" if port is not None else "no port"
                edges.append(
                    Edge(
                        k1,
                        k2,
                        "deterministic",
                        (
                            f"ip {ip} ({where}) at {t1.isoformat()} and {t2.isoformat()}, "
                            f"within {int(ip_window.total_seconds() // 60)} min",
                        ),
                    )
                )
    return edges


def _describe(key: tuple[str, ...]) -> str:
    if key[0] in ("esp_account", "username"):
        return f"{key[0]} {key[2]} on {key[1]}"
    return f"{key[0]} {key[1]}"


class _UnionFind:
    def __init__(self, keys: Iterable[str]) -> None:
        self.parent = {k: k for k in keys}
        self.cannot: dict[str, set[str]] = defaultdict(set)

    def find(self, k: str) -> str:
        root = k
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[k] != root:
            self.parent[k], k = root, self.parent[k]
        return root

    def forbid(self, a: str, b: str) -> None:
        self.cannot[a].add(b)
        self.cannot[b].add(a)

    def would_violate(self, ra: str, rb: str) -> bool:
        small, other = (ra, rb) if len(self.cannot[ra]) <= len(self.cannot[rb]) else (rb, ra)
        return any(self.find(x) == other for x in self.cannot[small])

    def union(self, a: str, b: str) -> bool | None:
        """True: joined; False: already one; None: refused (a split pair)."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        if self.would_violate(ra, rb):
            return None
        if ra > rb:
            ra, rb = rb, ra
        self.parent[rb] = ra
        if self.cannot.get(rb):
            self.cannot[ra] |= self.cannot.pop(rb)
        return True


def cluster(
    keys: Sequence[str],
    edges: Iterable[Edge],
    decisions: Iterable[Decision] = (),
) -> LinkResult:
    """Subjects from edges and analyst decisions (see the module rule)."""
    uf = _UnionFind(keys)
    known = set(uf.parent)
    decisions = [d for d in decisions if d.a in known and d.b in known and d.a != d.b]
    for d in decisions:
        if not d.same:
            uf.forbid(d.a, d.b)
    ordered: list[Edge] = [
        Edge(d.a, d.b, "analyst", ("confirmed by an analyst",)) for d in decisions if d.same
    ]
    rest = [e for e in edges if e.a in known and e.b in known and e.a != e.b]
    rank = {"analyst": 0, "deterministic": 1, "probabilistic": 2}
    rest.sort(key=lambda e: (rank.get(e.method, 3), -(e.weight or 0.0), e.pair))
    ordered.extend(rest)
    split_pairs = {d.pair for d in decisions if not d.same}
    used: list[Edge] = []
    blocked: list[Edge] = []
    for edge in ordered:
        if edge.pair in split_pairs:
            blocked.append(edge)
            continue
        joined = uf.union(edge.a, edge.b)
        if joined:
            used.append(edge)
        elif joined is None:
            blocked.append(edge)
    groups: dict[str, list[str]] = defaultdict(list)
    for k in keys:
        groups[uf.find(k)].append(k)
    clusters = tuple(sorted(tuple(sorted(g)) for g in groups.values()))
    return LinkResult(clusters, tuple(used), tuple(blocked))


@dataclass(frozen=True)
class Quality:
    precision: float
    recall: float
    f1: float
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int


def _pair_count(groups: Iterable[Sequence[str]]) -> int:
    return sum(len(g) * (len(g) - 1) // 2 for g in groups)


def pairwise_quality(clusters: Iterable[Sequence[str]], truth: dict[str, str]) -> Quality:
    """Pairwise precision and recall of ``clusters`` against ``truth`` (referral -> person).

    Counted from contingency sizes, so a million referrals need no list of pairs.
    """
    clusters = [tuple(c) for c in clusters]
    predicted = _pair_count(clusters)
    people: dict[str, int] = defaultdict(int)
    for person in truth.values():
        people[person] += 1
    true_pairs = sum(n * (n - 1) // 2 for n in people.values())
    correct = 0
    for c in clusters:
        counts: dict[str, int] = defaultdict(int)
        for k in c:
            counts[truth.get(k, f"?{k}")] += 1
        correct += sum(n * (n - 1) // 2 for n in counts.values())
    precision = correct / predicted if predicted else 1.0
    recall = correct / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Quality(precision, recall, f1, true_pairs, predicted, correct)
