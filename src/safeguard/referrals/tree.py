"""A small, bounded element tree read from hostile XML or JSON.

XML goes through defusedxml's parser with DTDs, entity declarations and external references
forbidden (so no billion laughs and no external entity can even start), fed in chunks so that
memory is bounded by the limits below, not by the input: text longer than ``max_text`` in one
element, nesting deeper than ``max_depth``, more than ``max_nodes`` elements or a document over
``max_bytes`` stop the parse with an error naming the element and line. JSON is read into the
same tree (keys become elements, "@name" keys attributes, "#text" the text) with the same limits.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, BinaryIO
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 32 * 1024 * 1024
    max_depth: int = 64
    max_text: int = 1024 * 1024
    max_nodes: int = 200_000
    chunk: int = 64 * 1024


class TreeError(Exception):
    """The document is malformed or over a limit; ``where`` names the element and line."""

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.where = where


@dataclass
class Node:
    tag: str
    attrib: dict[str, str] = field(default_factory=dict)
    text: str = ""
    children: list[Node] = field(default_factory=list)
    line: int | None = None

    def child(self, tag: str) -> Node | None:
        for c in self.children:
            if c.tag == tag:
                return c
        return None

    def all(self, tag: str) -> list[Node]:
        return [c for c in self.children if c.tag == tag]

    def value(self, tag: str) -> str | None:
        """The text of the first child ``tag`` (stripped), or None when absent or empty."""
        node = self.child(tag)
        if node is None:
            return None
        text = node.text.strip()
        return text or None

    def values(self, tag: str) -> list[str]:
        return [t for c in self.all(tag) if (t := c.text.strip())]

    def to_json(self) -> Any:
        """The subtree as plain JSON values (the inverse of ``from_json``)."""
        if not self.children and not self.attrib:
            return self.text.strip()
        out: dict[str, Any] = {f"@{k}": v for k, v in self.attrib.items()}
        if self.text.strip():
            out["#text"] = self.text.strip()
        counts = Counter(c.tag for c in self.children)
        for c in self.children:
            if counts[c.tag] > 1:
                out.setdefault(c.tag, []).append(c.to_json())
            else:
                out[c.tag] = c.to_json()
        return out


def _local(tag: str) -> str:
    """Namespaces are dropped: real exports use one or none, and the element names decide."""
    return tag.rsplit("}", 1)[-1]


class _Builder:
    """The parser's target: builds Nodes while enforcing the limits."""

    def __init__(self, limits: Limits, line) -> None:  # noqa: ANN001 - a callable
        self.limits = limits
        self.line = line
        self.stack: list[Node] = []
        self.texts: list[list[str]] = []
        self.sizes: list[int] = []
        self.root: Node | None = None
        self.nodes = 0

    def _path(self) -> str:
        return "/".join(n.tag for n in self.stack)

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self.nodes += 1
        if self.nodes > self.limits.max_nodes:
            raise TreeError(f"more than {self.limits.max_nodes} elements", f"line {self.line()}")
        if len(self.stack) >= self.limits.max_depth:
            raise TreeError(
                f"nesting deeper than {self.limits.max_depth} elements",
                f"{self._path()[:200]} at line {self.line()}",
            )
        node = Node(
            _local(tag),
            {_local(k): v[: self.limits.max_text] for k, v in attrib.items()},
            line=self.line(),
        )
        if self.stack:
            self.stack[-1].children.append(node)
        elif self.root is None:
            self.root = node
        self.stack.append(node)
        self.texts.append([])
        self.sizes.append(0)

    def data(self, text: str) -> None:
        if not self.stack:
            return
        self.sizes[-1] += len(text)
        if self.sizes[-1] > self.limits.max_text:
            raise TreeError(
                f"text longer than {self.limits.max_text} characters in one element",
                f"{self._path()} at line {self.stack[-1].line}",
            )
        self.texts[-1].append(text)

    def end(self, tag: str) -> None:
        node = self.stack.pop()
        node.text = "".join(self.texts.pop())
        self.sizes.pop()

    def close(self) -> Node | None:
        return self.root


def read_xml(stream: BinaryIO, limits: Limits | None = None) -> tuple[Node, bytes]:
    """The tree of an XML document and its bytes as read (for keeping the original)."""
    limits = limits or Limits()
    parser: DefusedXMLParser | None = None
    builder: _Builder | None = None

    def line() -> int:
        return parser.parser.CurrentLineNumber if parser is not None else 0

    builder = _Builder(limits, line)
    parser = DefusedXMLParser(target=builder, forbid_dtd=True)
    kept = bytearray()
    try:
        while chunk := stream.read(limits.chunk):
            if len(kept) + len(chunk) > limits.max_bytes:
                raise TreeError(f"document larger than {limits.max_bytes} bytes", "")
            kept += chunk
            parser.feed(chunk)
        root = parser.close()
    except TreeError:
        raise
    except DefusedXmlException as error:
        raise TreeError(
            f"forbidden XML construct ({type(error).__name__}): DTDs, entities and external "
            "references are not accepted",
            f"line {line()}",
        ) from None
    except ParseError as error:
        raise TreeError(f"not well-formed XML: {error}", f"line {error.position[0]}") from None
    except RecursionError:
        raise TreeError("nesting too deep", f"line {line()}") from None
    if root is None:
        raise TreeError("no root element", "")
    return root, bytes(kept)


def read_bounded(stream: BinaryIO, limits: Limits) -> bytes:
    """All of ``stream``, or TreeError when it is over ``limits.max_bytes``."""
    data = stream.read(limits.max_bytes + 1)
    if len(data) > limits.max_bytes:
        raise TreeError(f"document larger than {limits.max_bytes} bytes", "")
    return data


def read_json(data: bytes, limits: Limits | None = None) -> Node:
    """The tree of a JSON document: ``{"report": {...}}``, a report object, or a list."""
    limits = limits or Limits()
    if len(data) > limits.max_bytes:
        raise TreeError(f"document larger than {limits.max_bytes} bytes", "")
    try:
        value = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        raise TreeError(f"not UTF-8: {error}", f"byte {error.start}") from None
    except json.JSONDecodeError as error:
        raise TreeError(f"not valid JSON: {error.msg}", f"line {error.lineno}") from None
    except RecursionError:
        raise TreeError(f"nesting deeper than {limits.max_depth} levels", "") from None
    counter = [0]
    return from_json("document", value, limits, 0, counter, "")


def from_json(
    tag: str, value: Any, limits: Limits, depth: int, counter: list[int], path: str
) -> Node:
    counter[0] += 1
    here = f"{path}/{tag}" if path else tag
    if counter[0] > limits.max_nodes:
        raise TreeError(f"more than {limits.max_nodes} elements", here[:200])
    if depth > limits.max_depth:
        raise TreeError(f"nesting deeper than {limits.max_depth} levels", here[:200])
    node = Node(tag)
    if isinstance(value, dict):
        for key, item in value.items():
            key = str(key)
            if key.startswith("@"):
                node.attrib[key[1:]] = _scalar(item, limits, here)
            elif key == "#text":
                node.text = _scalar(item, limits, here)
            else:
                for one in item if isinstance(item, list) else [item]:
                    node.children.append(from_json(key, one, limits, depth + 1, counter, here))
    elif isinstance(value, list):
        for one in value:
            node.children.append(from_json("item", one, limits, depth + 1, counter, here))
    else:
        node.text = _scalar(value, limits, here)
    return node


def _scalar(value: Any, limits: Limits, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (int, float, str)):
        text = str(value)
    else:
        raise TreeError("expected a value, found an object or list", where[:200])
    if len(text) > limits.max_text:
        raise TreeError(f"text longer than {limits.max_text} characters", where[:200])
    return text
