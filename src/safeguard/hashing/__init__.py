"""Everything computed from one file's bytes: digests, type, PDQ, EXIF.

Pure functions (bytes or a stream in, small picklable facts out) that run inside ingest worker
processes. This package imports only ``safeguard.domain`` and libraries.
"""

from safeguard.hashing.analyse import MAX_IMAGE_BYTES, analyse_file
from safeguard.hashing.digests import digest_bytes, digest_stream
from safeguard.hashing.exif import read_exif
from safeguard.hashing.facts import (
    Digests,
    ExifFacts,
    FileFacts,
    ImageDecodeError,
    ImageError,
    ImageFacts,
    ImageRejected,
    Sniffed,
)
from safeguard.hashing.images import DEFAULT_MAX_PIXELS, analyse_image
from safeguard.hashing.pdq import (
    DIHEDRAL_ORDER,
    PdqHash,
    hamming_hex,
    hex_to_bytes,
    pdq_from_array,
    pdq_from_image,
)
from safeguard.hashing.sniff import HEAD_SIZE, sniff

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "DIHEDRAL_ORDER",
    "HEAD_SIZE",
    "MAX_IMAGE_BYTES",
    "Digests",
    "ExifFacts",
    "FileFacts",
    "ImageDecodeError",
    "ImageError",
    "ImageFacts",
    "ImageRejected",
    "PdqHash",
    "Sniffed",
    "analyse_file",
    "analyse_image",
    "digest_bytes",
    "digest_stream",
    "hamming_hex",
    "hex_to_bytes",
    "pdq_from_array",
    "pdq_from_image",
    "read_exif",
    "sniff",
]
