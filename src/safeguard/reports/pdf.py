"""PDF layout with WeasyPrint, fetching nothing and leaving Pillow as it found it.

WeasyPrint sets ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES = True`` for the whole process when it is
imported. In Safeguard that would make every later decode in the process accept truncated
evidence files silently (a server that rendered one PDF would stop recording truncated pictures
as errors), so the flag is put back as it was right after the import. Safeguard's PDFs hold no
pictures, so WeasyPrint never needs it.
"""

from __future__ import annotations

from typing import Any

from PIL import ImageFile


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise ValueError(f"PDF rendering fetches nothing ({url})")


def html_to_pdf(html: str) -> bytes:
    """An HTML document laid out as PDF; any URL in it resolves to nothing. RuntimeError when
    WeasyPrint or Pango is missing (``./run setup`` installs both)."""
    before = ImageFile.LOAD_TRUNCATED_IMAGES
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as error:  # OSError: Pango missing
        raise RuntimeError(
            f"PDF output needs WeasyPrint and Pango ({error}); run ./run setup"
        ) from None
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = before
    return HTML(string=html, url_fetcher=_no_fetch).write_pdf()
