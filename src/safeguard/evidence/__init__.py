"""Sources of files: a directory, a file, zip and tar archives nested in each other.

Everything here reads the exhibit and nothing writes to it. Hostile content (path traversal,
compression bombs, archives nested without end, links, devices) is refused entry by entry with an
:class:`EvidenceError` while the walk goes on. Imports only ``safeguard.domain`` and the stdlib.

Choices worth knowing:

* Archives are recognised by content (zip, tar, and tar inside gzip/bzip2/xz), so a ``.docx``
  or ``.jar`` is opened too: the pictures inside office documents are files of the exhibit.
  A compressed stream that holds no tar is an ordinary file and is not expanded.
* An archive is always yielded as an item itself (it is hashed); an :class:`EvidenceError` with
  its logical path follows only when it looked like an archive but could not be read, or only
  partly. A zip whose central directory is missing (a truncated download) is recovered from
  its local headers as far as they go.
* ``max_total_bytes`` and ``max_members`` are budgets of one archive on the exhibit, shared with
  everything nested in it; breaking one stops that whole archive with one error.
"""

from safeguard.evidence.items import EvidenceError, EvidenceItem
from safeguard.evidence.limits import EvidenceLimits
from safeguard.evidence.walk import iter_evidence

__all__ = ["EvidenceError", "EvidenceItem", "EvidenceLimits", "iter_evidence"]
