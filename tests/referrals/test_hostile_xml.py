"""Hostile XML and JSON: refused with a clear error, in bounded memory."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safeguard.referrals.intake import parse_document
from safeguard.referrals.tree import Limits, TreeError, read_json, read_xml

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<report><additionalInfo>&lol9;</additionalInfo></report>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE report [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<report><additionalInfo>&secret;</additionalInfo></report>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE report SYSTEM "http://example.com/evil.dtd">
<report/>"""


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD])
def test_entities_and_dtds_are_refused(document: bytes) -> None:
    data, referrals, errors = parse_document("evil.xml", io.BytesIO(document), "xml")
    assert data is None and referrals == []
    (error,) = errors
    assert error.filename == "evil.xml"
    assert "forbidden XML construct" in error.message and error.where == "line 2"


def test_200000_deep_nesting_stops_at_the_depth_limit() -> None:
    depth = 200_000
    document = b"<report>" + b"<a>" * depth + b"</a>" * depth + b"</report>"
    with pytest.raises(TreeError) as caught:
        read_xml(io.BytesIO(document))
    assert "nesting deeper than 64" in caught.value.message
    assert caught.value.where.startswith("report/a/a") and "line 1" in caught.value.where


def test_deep_json_is_refused() -> None:
    depth = 200_000
    with pytest.raises(TreeError) as caught:
        read_json(b'{"report":' + b"[" * depth + b"]" * depth + b"}")
    assert "nesting deeper" in caught.value.message


class LazyGigabyte(io.RawIOBase):
    """A 1 GB XML document with one text node, made on demand (never held in memory)."""

    def __init__(self, size: int = 1 << 30) -> None:
        self.head = b"<report><additionalInfo>"
        self.size, self.pos = size, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # noqa: ANN001
        if self.pos >= self.size:
            return 0
        n = min(len(buffer), self.size - self.pos)
        chunk = bytearray(b"A" * n)
        head = self.head[self.pos : self.pos + n]
        chunk[: len(head)] = head
        buffer[:n] = chunk
        self.pos += n
        return n


def test_a_gigabyte_text_node_is_refused_after_a_bounded_read() -> None:
    stream = LazyGigabyte()
    with pytest.raises(TreeError) as caught:
        read_xml(io.BufferedReader(stream))
    assert "text longer than 1048576 characters" in caught.value.message
    assert caught.value.where == "report/additionalInfo at line 1"
    assert stream.pos < 4 * 1024 * 1024  # it stopped reading soon after the limit


def test_the_gigabyte_document_parses_within_a_memory_cap_in_a_child_process() -> None:
    """The same stream, in a child process whose address space is capped 200 MB above what
    it uses at the start: holding the document, or the text node, would fail."""
    here = Path(__file__).resolve()
    script = textwrap.dedent(
        f"""
        import io, resource, sys
        sys.path.insert(0, {str(here.parents[2])!r})
        from safeguard.referrals.intake import parse_document
        from tests.referrals.test_hostile_xml import LazyGigabyte
        with open("/proc/self/status") as f:
            vm = next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmSize"))
        resource.setrlimit(resource.RLIMIT_AS, (vm + 200 * 2**20, vm + 200 * 2**20))
        try:
            bytearray(300 * 2**20)
        except MemoryError:
            print("capped")
        data, found, errors = parse_document(
            "big.xml", io.BufferedReader(LazyGigabyte()), "xml"
        )
        print(errors[0])
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "capped"  # the cap is real: 300 MB cannot be had
    assert lines[1].startswith("big.xml (report/additionalInfo at line 1): text longer than")


def test_documents_over_the_size_limit_are_refused() -> None:
    limits = Limits(max_bytes=1000)
    body = b"<report>" + b"<x>1</x>" * 200 + b"</report>"
    with pytest.raises(TreeError, match="larger than 1000 bytes"):
        read_xml(io.BytesIO(body), limits)
    with pytest.raises(TreeError, match="more than 10 elements"):
        read_xml(io.BytesIO(body), Limits(max_nodes=10))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_give_an_error_value_or_a_tree(data: bytes) -> None:
    for fmt in ("xml", "json", "csv"):
        parsed, referrals, errors = parse_document("fuzz", io.BytesIO(data), fmt)
        assert parsed is not None or errors


XMLISH = st.lists(
    st.sampled_from(
        [
            "<report>",
            "</report>",
            "<reportId>",
            "</reportId>",
            "<fileDetails>",
            "</fileDetails>",
            "<ipCaptureEvent>",
            "</ipCaptureEvent>",
            "<ipAddress>",
            "</ipAddress>",
            "<port>",
            "</port>",
            "192.0.2.1",
            "x",
            "&amp;",
            "&bad;",
            "<!--c-->",
            "<![CDATA[z]]>",
            "<personOrUserReported>",
            "</personOrUserReported>",
            "\x00",
            "é",
        ]
    ),
    max_size=40,
).map(lambda parts: "".join(parts).encode("utf-8"))


@settings(max_examples=300, deadline=None)
@given(XMLISH)
def test_near_xml_never_raises(data: bytes) -> None:
    parsed, referrals, errors = parse_document("fuzz.xml", io.BytesIO(data), "xml")
    assert (parsed is not None) or (errors and errors[0].filename == "fuzz.xml")


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=300),
    st.sampled_from(["provider,range,retention_days\n", "reference,identifier,nil\n", ""]),
)
def test_provider_tables_and_returns_never_raise(data: bytes, header: str) -> None:
    from safeguard.referrals.provider_rules import parse_provider_table, parse_return_csv

    for parse in (parse_provider_table, parse_return_csv):
        rows, errors = parse(header.encode() + data)
        assert all(e.line >= 1 for e in errors)
        assert all(r.line >= 2 for r in rows)


def test_upload_names_cannot_leave_the_bundle() -> None:
    from safeguard.referrals.bundle import safe_base

    assert safe_base("../../etc/passwd") == "passwd"
    assert safe_base("..") is None and safe_base("a\\..\\b.jpg") == "b.jpg"
    assert safe_base("") is None and safe_base("x\x00y") is None
