"""Signal types: every kind of hash Safeguard knows, described once.

In the spirit of python-threatexchange's ``SignalType``: a signal type has a name, the content
it applies to, a normaliser that validates a value and gives its canonical form, a distance, a
default match threshold and a minimum quality. Matching, lookup, bank formats and exports ask the
registry instead of naming kinds, so a new kind is one module and one ``register`` call.

Two families:

* **computed** types Safeguard derives from content itself (MD5, SHA-1, SHA-256, PDQ, vPDQ);
* **carried** types it cannot compute but must keep, because national banks exchange them
  (PhotoDNA, NetClean, TMK+PDQF, and any other ``AlternativeHashes`` name): they are stored with
  the bank entry and written back on export, never matched.

The registry is pure: hashers and index factories live in the layers that own them and are looked
up by the signal's name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from safeguard.domain.kinds import HashKind, MediaKind, normalise_hex


def _hamming_hex(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def _equal(a: str, b: str) -> int:
    return 0 if a == b else 1


def _carried_text(value: str) -> str:
    """A carried hash is kept as given, less surrounding space; empty or huge values are refused."""
    text = value.strip()
    if not text:
        raise ValueError("empty hash value")
    if len(text) > 4096:
        raise ValueError(f"hash value too long ({len(text)} characters, at most 4096)")
    return text


@dataclass(frozen=True)
class SignalType:
    """One kind of hash and how to compare two values of it."""

    name: str
    #: Content it describes (images, videos, or any file for digests).
    content: frozenset[MediaKind]
    #: Validate and canonicalise a value; raises ValueError with a message fit for a user.
    normalise: Callable[[str], str]
    #: Distance between two canonical values (0 = identical).
    distance: Callable[[str, str], int]
    #: A match is a distance at most this (0 for exact kinds).
    threshold: int = 0
    #: Values whose quality is below this are never matched (None: no quality).
    min_quality: int | None = None
    #: True when Safeguard computes it from content; False for carried-only kinds.
    computed: bool = True

    @property
    def exact(self) -> bool:
        return self.threshold == 0

    def matches(self, a: str, b: str, threshold: int | None = None) -> bool:
        limit = self.threshold if threshold is None else threshold
        return self.distance(a, b) <= limit


_REGISTRY: dict[str, SignalType] = {}


def register(signal: SignalType) -> SignalType:
    """Add a signal type; a name may be registered once."""
    key = signal.name.lower()
    if key in _REGISTRY:
        raise ValueError(f"signal type {signal.name!r} is already registered")
    _REGISTRY[key] = signal
    return signal


def unregister(name: str) -> None:
    """Remove a signal type (for tests that register one of their own)."""
    _REGISTRY.pop(name.lower(), None)


def signal_type(name: str) -> SignalType:
    """The registered signal type of that name (case-insensitive); KeyError otherwise."""
    return _REGISTRY[name.lower()]


def signal_types(*, computed: bool | None = None) -> Iterator[SignalType]:
    """Every registered signal type in registration order, optionally only (non-)computed ones."""
    for signal in _REGISTRY.values():
        if computed is None or signal.computed == computed:
            yield signal


def _hex(kind: HashKind) -> Callable[[str], str]:
    def normalise(value: str) -> str:
        return normalise_hex(value, kind)

    normalise.__doc__ = f"A {kind.value} value: lower-case hex of the right length."
    return normalise


_ANY = frozenset(MediaKind)
_IMAGES = frozenset({MediaKind.IMAGE})
_VIDEOS = frozenset({MediaKind.VIDEO})

MD5 = register(SignalType("md5", _ANY, _hex(HashKind.MD5), _equal))
SHA1 = register(SignalType("sha1", _ANY, _hex(HashKind.SHA1), _equal))
SHA256 = register(SignalType("sha256", _ANY, _hex(HashKind.SHA256), _equal))
#: PDQ: Meta's recommended match threshold is a Hamming distance of 31 of 256 bits, and hashes
#: of quality below 50 describe too little structure to match on.
PDQ = register(
    SignalType(
        "pdq", _IMAGES, _hex(HashKind.PDQ), _hamming_hex, threshold=31, min_quality=50
    )
)
#: vPDQ: PDQ of sampled frames; the same per-frame threshold and quality floor as PDQ.
VPDQ = register(
    SignalType(
        "vpdq", _VIDEOS, _hex(HashKind.PDQ), _hamming_hex, threshold=31, min_quality=50
    )
)
PHOTODNA = register(SignalType("photodna", _IMAGES, _carried_text, _equal, computed=False))
NETCLEAN = register(SignalType("netclean", _ANY, _carried_text, _equal, computed=False))
TMK = register(SignalType("tmk", _VIDEOS, _carried_text, _equal, computed=False))

#: The defaults every layer uses for PDQ and vPDQ matching (one place for 31 and 50).
PDQ_RADIUS: int = PDQ.threshold
PDQ_MIN_QUALITY: int = PDQ.min_quality or 0
VPDQ_DISTANCE: int = VPDQ.threshold
VPDQ_MIN_QUALITY: int = VPDQ.min_quality or 0

#: What each dihedral variant means, in words, for reports: the media's variant ``k`` matched,
#: i.e. the known picture is the file turned this way (checked against Pillow's transposes in
#: tests/hashing/test_degenerate_hashes.py).
DIHEDRAL_LABELS: tuple[str, ...] = (
    "as stored",
    "rotated 90° anticlockwise",
    "rotated 180°",
    "rotated 90° clockwise",
    "flipped top to bottom",
    "mirrored left to right",
    "transposed (mirrored on the main diagonal)",
    "transversed (mirrored on the other diagonal)",
)
