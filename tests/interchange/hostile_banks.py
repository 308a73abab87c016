"""Hostile bank files and a fuzz run of every bank parser, importable by a memory-limited child.

``fuzz_all`` is called in a subprocess with ``RLIMIT_AS`` set (see test_interchange_hostile.py):
a parser whose memory grows without bound dies there instead of passing.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safeguard.domain.known import BankRecord, RecordError
from safeguard.interchange import BankFormat, read_bank

MD5 = "0" * 31 + "1"
PDQ = "f" * 64


def deep_vics(depth: int, opener: str = "[") -> bytes:
    closer = "]" if opener == "[" else "}"
    inner = opener * depth if opener == "[" else '{"a":' * depth
    tail = closer * depth
    return f'{{"value":[{{"MD5":"{MD5}","x":{inner}{tail}}},{{"MD5":"{MD5}"}}]}}'.encode()


def read_all(path: Path, fmt: BankFormat) -> list[BankRecord | RecordError]:
    """Every item a parser yields; ValueError (refusing the whole file) is a clean answer too."""
    try:
        return list(read_bank(path, fmt))
    except ValueError as error:
        return [RecordError(0, f"refused: {error}")]


_json_piece = st.sampled_from(
    ['{"a":', "[", "]", "}", ",", '"MD5":', f'"{MD5}"', "1e999", "null", '"\\u0000"', ":", '"']
)
_hostile_json = st.tuples(
    st.integers(0, 3000),  # nesting depth
    st.sampled_from(["[", "{"]),
    st.lists(_json_piece, max_size=200),
).map(lambda t: deep_vics(t[0], t[1])[:-3] + "".join(t[2]).encode() + b"]}")

_text_piece = st.sampled_from(
    [
        "md5 " + MD5,
        "pdq " + PDQ,
        '"',
        ",",
        "\n",
        "\r",
        "hash_kind,hash\n",
        "=cmd|' /C calc'!A0",
        "[bold]x[/bold]",
        "0,100," + PDQ + ",0.0\n",
        "\x00",
        "\ufeff",
    ]
)
_hostile_text = st.lists(_text_piece, max_size=300).map(lambda parts: "".join(parts).encode())


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=_hostile_json | _hostile_text, fmt=st.sampled_from(list(BankFormat)))
def fuzz_parsers(data: bytes, fmt: BankFormat) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bank"
        path.write_bytes(data)
        for item in read_all(path, fmt):
            assert isinstance(item, BankRecord | RecordError)


def fuzz_all() -> None:
    """Run from a child process under a memory limit; also the giant-depth case."""
    fuzz_parsers()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "deep.json"
        path.write_bytes(deep_vics(200_000))
        items = read_all(path, BankFormat.VICS)
        assert any("nested more than" in str(item) for item in items), items
