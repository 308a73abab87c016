"""Render an intelligence package (a plain JSON-able dict) as JSON, HTML and PDF.

The package holds hashes and metadata only: never a picture. The PDF comes from the HTML through
WeasyPrint; every rendering is returned as bytes so that the caller can record its SHA-256 and
prove later what was sent.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from safeguard.reports import pdf

_env = Environment(
    loader=PackageLoader("safeguard.reports", "templates"),
    autoescape=select_autoescape(["html"]),
)


@dataclass(frozen=True)
class Rendered:
    json: bytes
    html: bytes
    pdf: bytes | None

    def sha256(self) -> dict[str, str]:
        out = {
            "json": hashlib.sha256(self.json).hexdigest(),
            "html": hashlib.sha256(self.html).hexdigest(),
        }
        if self.pdf is not None:
            out["pdf"] = hashlib.sha256(self.pdf).hexdigest()
        return out


def to_json(package: dict[str, Any]) -> bytes:
    return (json.dumps(package, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def to_html(package: dict[str, Any]) -> bytes:
    return _env.get_template("intel_package.html").render(p=package).encode("utf-8")


def html_to_pdf(html: bytes) -> bytes:
    """WeasyPrint, with no fetching: any URL in the document resolves to nothing."""
    return pdf.html_to_pdf(html.decode("utf-8"))


def render(package: dict[str, Any], *, pdf: bool = True) -> Rendered:
    html = to_html(package)
    return Rendered(to_json(package), html, html_to_pdf(html) if pdf else None)
