"""VICS (Project VIC / CAID) JSON banks, versions 1.x and 2.0, read and written as streams.

Reading accepts ``#Media`` files (``value`` is a list of media entries) and ``#Cases`` files
(``value`` is a list of cases, each with a ``Media`` list), told apart by the structure of the
first item and the context URL. Field names inside an entry are matched case-insensitively:

* hashes: ``MD5``, ``SHA1``, ``SHA256``, ``PDQ`` on the entry or on any of its ``MediaFiles``,
  and ``AlternativeHashes`` (or ``Hashes``) items ``{"HashName": ..., "HashValue": ...}``
  named MD5/SHA1/SHA256/PDQ. PDQ quality comes from ``Quality`` on the PDQ item or
  ``PDQQuality`` on the entry. Differing values for one kind are an error.
* hashes Safeguard cannot compute (a ``PhotoDNA``, ``NetClean`` or ``TMK`` field on the entry,
  and ``AlternativeHashes`` items of any other name) are kept as ``ExtraHash`` values, name
  spelled as in the file, and written back in the same place, so a national bank file survives
  a round trip through Safeguard.
* ``Category`` (absent or null means 0) through the VICS profile's code table;
  ``VictimIdentified``; ``Series``; ``SelfGenerated`` (or ``IsSelfGenerated``); ``Source``;
  ``MediaID`` as the external id. Booleans may be strings ("true", "True") and numbers strings.

RecordError.line for VICS is the 1-based ordinal of the media entry in the file (counting
through every case of a ``#Cases`` file), not a text line: a streaming JSON parser cannot tell
line numbers.

Video entries (Safeguard's own fields, read case-insensitively and tolerantly): ``VPDQ``, the
known video's vPDQ frames as ``[frame, quality, "hex", seconds]`` lists (objects and reference
text lines are accepted too), and ``Segments`` (or ``VideoSegments``), the parts of the video a
category applies to, ``{"Start": s, "End": e, "Category": n}`` with ``n`` through the profile.
An entry with vPDQ frames needs no other hash.

Writing produces a ``#Media`` file, one entry per line: ``MediaID`` (a number where the
external id is a plain decimal), ``Category``, ``MD5``, ``SHA1``, ``AlternativeHashes`` for
SHA-256 and PDQ (with ``Quality``), ``VictimIdentified``, ``Series``, ``SelfGenerated`` and
``Source`` (the last two are Safeguard's own fields), then ``VPDQ`` and ``Segments`` for
videos; carried hashes go back where they were read from (an entry field such as ``PhotoDNA``
or an ``AlternativeHashes`` item after SHA-256 and PDQ). Version 2.0 names its profile in the
context URL, so it reads back on its own; 1.x has no place for it, so read it back with the
same ``profile``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TextIO

import ijson

from safeguard.config import vics_profile
from safeguard.domain.categories import VicsProfile
from safeguard.domain.kinds import HashKind
from safeguard.domain.known import BankRecord, ExtraHash, MediaFileFacts, RecordError
from safeguard.domain.signals import signal_types
from safeguard.interchange._values import (
    DEFAULT_PROFILE,
    RECORD_HASH_KINDS,
    hash_kind_named,
    parse_bool,
    parse_hash,
    parse_int,
    parse_quality,
    parse_text,
    resolve_profile,
)
from safeguard.interchange._video import (
    frame_json,
    parse_frames,
    parse_segments,
    segment_json,
)
from safeguard.interchange.formats import BOM

CONTEXT_V2 = (
    "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/{profile}/$metadata#Media"
)
CONTEXT_V1 = "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media"

#: Top-level keys holding the context URL: 2.0 (OData v4) and 1.x (OData v3) spellings.
_CONTEXT_KEYS = ("@odata.context", "odata.metadata")
_DATA_MODEL = re.compile(
    r"/DataModels/(?P<version>\d+(?:\.\d+)*)\.xml(?:/(?P<profile>[^/$#?]+))?", re.IGNORECASE
)
_HASH_FIELDS = tuple((kind.value, kind) for kind in RECORD_HASH_KINDS)
#: Entry fields that hold a carried (not computed) hash, lower-cased → registry name.
_CARRIED_FIELDS = {signal.name: signal for signal in signal_types(computed=False)}
#: At most this many carried hashes per entry (a hostile file cannot grow one record unbounded).
MAX_EXTRA_HASHES = 64
_NOT_AN_OBJECT = frozenset(
    {"null", "boolean", "integer", "double", "number", "string", "start_array"}
)


# --- reading ---------------------------------------------------------------------------------

#: Deepest nesting of JSON arrays and objects read: a media entry needs about six levels. A
#: hostile file nested 200,000 deep otherwise costs memory growing with the square of the depth
#: (the parser's path strings).
MAX_DEPTH = 64
#: Most bytes one media entry may take: about 200,000 vPDQ frames.
MAX_ENTRY_BYTES = 32 << 20
#: Longest string token: the parser buffers one whole.
MAX_TOKEN_BYTES = 16 << 20
#: Bytes handed to the parser at a time. The depth check refuses the read after the one that
#: went too deep, so one read's worth of nesting is the most the parser ever sees beyond
#: ``MAX_DEPTH``: its cost stays bounded (and an entry built from it is refused as an entry).
READ_BYTES = 4096

#: A complete JSON string, and the rest of one left open at the end of a read.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_STRING_END = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


class TooDeep(ValueError):
    """The JSON nests deeper than ``MAX_DEPTH``: reading stops."""


class _Bounded:
    """The file as the JSON parser reads it, bounded before the parser sees the bytes.

    A string-aware bracket count (at C speed: strings are cut out with a regular expression,
    brackets counted with ``bytes.count``) follows the nesting depth from read to read and
    refuses more than ``MAX_DEPTH``; a string still open after ``MAX_TOKEN_BYTES`` is refused;
    and, when ``entry_bytes`` is reset by the reader of entries, so is an entry longer than
    ``MAX_ENTRY_BYTES``. The parser itself (ijson's C backend) then never sees what would cost.
    """

    def __init__(self, f: IO[bytes]) -> None:
        self.f = f
        self.depth = 0
        self.in_string = False
        self.string_bytes = 0
        self.entry_bytes = 0
        self.pending = b""  # an escape cut by the end of a read (a lone trailing backslash)
        self.failure: ValueError | None = None

    def read(self, size: int = -1) -> bytes:
        if self.failure is not None:
            raise self.failure
        data = self.f.read(min(size, READ_BYTES) if size is not None and size >= 0 else READ_BYTES)
        self.entry_bytes += len(data)
        if self.entry_bytes > MAX_ENTRY_BYTES:
            raise ValueError(f"an entry is longer than {MAX_ENTRY_BYTES} bytes (MAX_ENTRY_BYTES)")
        self._scan(data)
        return data

    def _scan(self, data: bytes) -> None:
        text = self.pending + data
        self.pending = b""
        if self.in_string:
            end = _STRING_END.match(text)
            if end is None:
                self.string_bytes += len(data)
                if self.string_bytes > MAX_TOKEN_BYTES:
                    raise ValueError(
                        f"a JSON string is longer than {MAX_TOKEN_BYTES} bytes (MAX_TOKEN_BYTES)"
                    )
                trailing = len(text) - len(text.rstrip(b"\\"))
                if trailing % 2:
                    self.pending = b"\\"
                return
            self.in_string = False
            text = text[end.end() :]
        outside = _STRING.sub(b"", text)
        open_at = outside.find(b'"')
        if open_at >= 0:  # a string left open: nothing after its quote is structure
            self.in_string, self.string_bytes = True, len(outside) - open_at
            tail = outside[open_at + 1 :]
            if (len(tail) - len(tail.rstrip(b"\\"))) % 2:
                self.pending = b"\\"
            outside = outside[:open_at]
        self.depth += outside.count(b"[") + outside.count(b"{")
        self.depth -= outside.count(b"]") + outside.count(b"}")
        if self.depth > MAX_DEPTH:  # refused at the next read: this one's events still count
            self.failure = TooDeep(f"JSON nested more than {MAX_DEPTH} levels deep; stopped")


def _events(f: IO[bytes]) -> Iterator[tuple[str, str, Any]]:
    """``ijson.parse`` events of a depth- and token-bounded read of the file."""
    return ijson.parse(_Bounded(f), use_float=True)


@dataclass(frozen=True)
class _Layout:
    context: str | None
    #: ijson prefix of the media entries, e.g. ``value.item`` or ``value.item.Media.item``.
    prefix: str


@contextmanager
def _open(path: Path) -> Iterator[IO[bytes]]:
    """The file in binary, positioned after a UTF-8 BOM if it has one."""
    with Path(path).open("rb") as f:
        if f.read(len(BOM)) != BOM:
            f.seek(0)
        yield f


def _layout(f: IO[bytes]) -> _Layout:
    """Read the start of the file: the context URL and where the media entries are.

    Stops inside the first item of ``value``; a ``Media`` list there makes it a cases file.
    """
    context: str | None = None
    top_key: str | None = None
    value_key: str | None = None
    media_key: str | None = None
    candidate: str | None = None
    events = _events(f)
    try:
        first = next(events, None)
        if first is None or first[1] != "start_map":
            raise ValueError("a VICS file is a JSON object")
        for prefix, event, value in events:
            if value_key is None:
                if prefix == "" and event == "map_key":
                    top_key = value
                elif prefix == "" and event == "end_map":
                    break
                elif prefix == top_key and top_key.lower() in _CONTEXT_KEYS and event == "string":
                    context = value
                elif prefix == top_key and top_key.lower() == "value" and event == "start_array":
                    value_key = top_key
                continue
            item = f"{value_key}.item"
            if prefix == value_key and event == "end_array":
                break  # an empty list
            if prefix == item and event in _NOT_AN_OBJECT:
                break  # the first item is not an object; the main pass says so
            if prefix == item and event == "map_key":
                candidate = value if value.lower() == "media" else None
            elif candidate and prefix == f"{item}.{candidate}" and event == "start_array":
                media_key = candidate
                break
            elif prefix == item and event == "end_map":
                break
    except (ijson.JSONError, ValueError) as exc:
        if value_key is None:
            raise ValueError(f"not valid VICS JSON: {exc}") from exc
        # A fault inside the first entry is reported by the main pass, against that entry.
    if value_key is None:
        raise ValueError("not a VICS file: no top-level 'value' list")
    if media_key is None and context is not None and context.rstrip().endswith("#Cases"):
        media_key = "Media"
    prefix = f"{value_key}.item.{media_key}.item" if media_key else f"{value_key}.item"
    return _Layout(context=context, prefix=prefix)


def _late_context(f: IO[bytes], start: int) -> str | None:
    """The context URL of a file that writes it after ``value``: a full, depth-bounded scan."""
    f.seek(start)
    try:
        for prefix, event, value in _events(f):
            if event == "string" and prefix.lower() in _CONTEXT_KEYS:
                return value
    except (ijson.JSONError, ValueError):
        return None
    return None


def profile_from_context(context: str | None) -> str | None:
    """The profile a context URL names (``.../2.0.xml/UK/$metadata#Media`` → "uk").

    None when it names none, or one Safeguard has no table for (e.g. ``Default``, ``CUSTOM``).
    """
    match = _DATA_MODEL.search(context or "")
    if not match or not match["profile"]:
        return None
    name = match["profile"].lower()
    try:
        vics_profile(name)
    except KeyError:
        return None
    return name


def _lower_keys(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{what} is not a JSON object")
    return {key.lower(): item for key, item in value.items()}


def _list(value: object, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{what} is not a list")
    return value


def _first(fields: dict[str, Any], *names: str) -> Any:
    for name in names:
        if fields.get(name) not in (None, ""):
            return fields[name]
    return None


def _entry_hashes(
    fields: dict[str, Any], original_names: dict[str, str]
) -> tuple[dict[str, str], int | None, tuple[ExtraHash, ...]]:
    """The entry's hashes keyed by BankRecord field name, its PDQ quality and carried hashes."""
    found: dict[str, str] = {}
    extras: list[ExtraHash] = []

    def keep(name: str, value: object, placement: str) -> None:
        if value is None or value == "":
            return
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise ValueError(f"{name} value is not text")
        signal = _CARRIED_FIELDS.get(name.lower())
        text = signal.normalise(str(value)) if signal else str(value).strip()
        if not text or len(text) > 4096:
            raise ValueError(f"{name} value is empty or longer than 4096 characters")
        extra = ExtraHash(name=name, value=text, placement=placement)
        if extra not in extras:
            if len(extras) >= MAX_EXTRA_HASHES:
                raise ValueError(f"more than {MAX_EXTRA_HASHES} alternative hashes")
            extras.append(extra)

    quality = parse_quality(_first(fields, "pdqquality", "pdq_quality"), "PDQQuality")

    def add(kind: HashKind, value: object) -> None:
        if value is None or value == "":
            return
        digest = parse_hash(value, kind)
        if found.setdefault(kind.value, digest) != digest:
            raise ValueError(f"conflicting {kind.value} hashes {found[kind.value]} and {digest}")

    for name, kind in _HASH_FIELDS:
        if name in fields:
            add(kind, fields[name])
    for key in _CARRIED_FIELDS:
        if key in fields:
            keep(original_names[key], fields[key], "field")
    for media_file in _list(fields.get("mediafiles"), "MediaFiles"):
        file_fields = _lower_keys(media_file, "a MediaFiles item")
        for name, kind in _HASH_FIELDS:
            add(kind, file_fields.get(name))
    for key in ("alternativehashes", "hashes"):
        for alternative in _list(fields.get(key), "AlternativeHashes"):
            alt = _lower_keys(alternative, "an AlternativeHashes item")
            name = _first(alt, "hashname", "name", "hashtype", "type", "algorithm")
            kind = hash_kind_named(name) if isinstance(name, str) else None
            if kind is None:
                if isinstance(name, str) and name.strip():
                    keep(name.strip(), _first(alt, "hashvalue", "value", "hash"), "alternative")
                continue
            add(kind, _first(alt, "hashvalue", "value", "hash"))
            if kind is HashKind.PDQ and quality is None:
                quality = parse_quality(alt.get("quality"), "PDQ Quality")
    return found, quality, tuple(extras)


def media_record(entry: object, profile: VicsProfile) -> BankRecord:
    """One VICS media entry as a BankRecord; ValueError says what is wrong with it."""
    fields = _lower_keys(entry, "entry")
    original_names = {key.lower(): key for key in entry} if isinstance(entry, dict) else {}
    hashes, quality, extras = _entry_hashes(fields, original_names)
    vpdq = parse_frames(fields.get("vpdq"))
    if not hashes and not vpdq and not extras:
        raise ValueError("entry has no MD5, SHA1, SHA256, PDQ, VPDQ or alternative hash")
    segments = parse_segments(_first(fields, "segments", "videosegments"), profile)
    raw_category = fields.get("category")
    number = 0 if raw_category in (None, "") else parse_int(raw_category, "Category")
    return BankRecord(
        category=profile.code_for(number),
        **hashes,
        pdq_quality=quality,
        victim_identified=parse_bool(fields.get("victimidentified"), "VictimIdentified"),
        series=parse_text(fields.get("series"), "Series"),
        self_generated=parse_bool(
            _first(fields, "selfgenerated", "isselfgenerated", "self_generated"), "SelfGenerated"
        ),
        ai_generated=parse_bool(
            _first(fields, "aigenerated", "isaigenerated", "ai_generated"), "AIGenerated"
        ),
        source=parse_text(fields.get("source"), "Source"),
        external_id=parse_text(fields.get("mediaid"), "MediaID"),
        vpdq=vpdq,
        segments=segments,
        extra_hashes=extras,
    )


def read_vics(path: Path, profile: str | None) -> Iterator[BankRecord | RecordError]:
    """Stream the media entries of a VICS file; ``profile`` None means the file's, else uk.

    The layout and profile are settled before this returns, so a file that is not VICS at all
    raises ValueError here rather than on the first ``next``.
    """
    with _open(path) as f:
        start = f.tell()
        layout = _layout(f)
        name = profile
        if name is None:
            context = layout.context or _late_context(f, start)
            name = profile_from_context(context) or DEFAULT_PROFILE
    return _entries(path, layout.prefix, resolve_profile(name))


def _items(f: IO[bytes], prefix: str) -> Iterator[Any]:
    """The values at ``prefix`` (as ``ijson.items``, in C), each at most ``MAX_ENTRY_BYTES``
    long and never nested deeper than ``MAX_DEPTH``."""
    bounded = _Bounded(f)
    for item in ijson.items(bounded, prefix, use_float=True):
        bounded.entry_bytes = 0
        yield item


def _entries(path: Path, prefix: str, profile: VicsProfile) -> Iterator[BankRecord | RecordError]:
    with _open(path) as f:
        index = 0
        try:
            for entry in _items(f, prefix):
                index += 1
                try:
                    yield media_record(entry, profile)
                except ValueError as exc:
                    yield RecordError(index, str(exc), "entry")
                except RecursionError:
                    yield RecordError(index, "entry is nested too deeply", "entry")
        except (ijson.JSONError, ValueError) as exc:
            yield RecordError(
                index + 1,
                f"invalid or over-limit JSON after entry {index}, stopped: {exc}",
                "entry",
                stopped=True,
            )


# --- writing ---------------------------------------------------------------------------------


def _media_id(external_id: str) -> int | str:
    """A plain decimal id is written as a number, as VICS tools write MediaID.

    Only up to 2**53 - 1, the largest integer every JSON reader holds exactly (the C parser
    behind ijson refuses integers past 64 bits); larger ids stay strings.
    """
    if external_id.isascii() and external_id.isdigit() and str(int(external_id)) == external_id:
        number = int(external_id)
        if number < 2**53:
            return number
    return external_id


def media_entry(record: BankRecord, profile: VicsProfile) -> dict[str, Any]:
    """The VICS media entry for one record; ValueError when it cannot be written."""
    entry: dict[str, Any] = {}
    if record.external_id is not None:
        entry["MediaID"] = _media_id(record.external_id)
    entry["Category"] = profile.number_for(record.category)
    hashes = {kind: getattr(record, kind.value) for kind in RECORD_HASH_KINDS}
    if not any(hashes.values()) and not record.vpdq and not record.extra_hashes:
        raise ValueError(f"bank record has no hash: {record!r}")
    for kind in (HashKind.MD5, HashKind.SHA1):
        if hashes[kind]:
            entry[kind.value.upper()] = parse_hash(hashes[kind], kind)
    for extra in record.extra_hashes:
        if extra.placement == "field":
            entry[extra.name] = extra.value
    alternatives: list[dict[str, Any]] = []
    if hashes[HashKind.SHA256]:
        value = parse_hash(hashes[HashKind.SHA256], HashKind.SHA256)
        alternatives.append({"HashName": "SHA256", "HashValue": value})
    if hashes[HashKind.PDQ]:
        pdq: dict[str, Any] = {
            "HashName": "PDQ",
            "HashValue": parse_hash(hashes[HashKind.PDQ], HashKind.PDQ),
        }
        if record.pdq_quality is not None:
            pdq["Quality"] = record.pdq_quality
        alternatives.append(pdq)
    alternatives.extend(
        {"HashName": extra.name, "HashValue": extra.value}
        for extra in record.extra_hashes
        if extra.placement != "field"
    )
    if alternatives:
        entry["AlternativeHashes"] = alternatives
    entry["VictimIdentified"] = record.victim_identified
    if record.series is not None:
        entry["Series"] = record.series
    entry["SelfGenerated"] = record.self_generated
    if record.ai_generated:  # not a VICS field: an annotation other readers skip
        entry["AIGenerated"] = True
    if record.source is not None:
        entry["Source"] = record.source
    if record.vpdq:
        entry["VPDQ"] = [frame_json(frame) for frame in record.vpdq]
    if record.segments:
        entry["Segments"] = [segment_json(segment, profile) for segment in record.segments]
    if record.files:
        entry["MediaFiles"] = [media_file_json(file) for file in record.files]
    return entry


def media_file_json(file: MediaFileFacts) -> dict[str, Any]:
    """A VICS MediaFile: name and path, file-system times, Deleted/Unallocated/PhysicalLocation."""
    folder, _, name = file.path.rpartition("/")
    item: dict[str, Any] = {"FileName": name, "FilePath": folder}
    for key, value in (
        ("Created", file.created),
        ("Written", file.written),
        ("Accessed", file.accessed),
    ):
        if value is not None:
            item[key] = value
    item["Deleted"] = file.deleted
    item["Unallocated"] = file.unallocated
    if file.physical_location is not None:
        item["PhysicalLocation"] = file.physical_location
    return item


def write_vics(
    records: Iterable[BankRecord],
    out: TextIO,
    *,
    profile: str = DEFAULT_PROFILE,
    name: str = "safeguard",
    version: str = "2.0",
) -> int:
    """Write a ``#Media`` file entry by entry (never holding them all); returns the count.

    ``version`` is "2.0" or "1.x" (written as 1.3). ``name`` goes in a ``@Safeguard.BankName``
    instance annotation in 2.0 files, which OData readers ignore.
    """
    table = resolve_profile(profile)
    if version == "2.0":
        header = {
            "@odata.context": CONTEXT_V2.format(profile=table.name.upper()),
            "@Safeguard.BankName": name,
        }
    elif version == "1.x":
        header = {"odata.metadata": CONTEXT_V1}
    else:
        raise ValueError(f"unknown VICS version {version!r} (2.0 or 1.x)")
    out.write("{\n")
    for key, value in header.items():
        out.write(f"{json.dumps(key)}: {json.dumps(value)},\n")
    out.write('"value": [\n')
    count = 0
    for record in records:
        line = json.dumps(media_entry(record, table), separators=(",", ":"))
        out.write(f",\n{line}" if count else line)
        count += 1
    out.write("\n]}\n")
    return count
