"""Bounds on a skops archive (a zip) before anything decompresses it for real.

``skops.io.loads`` opens the zip and reads ``schema.json`` and every ``.npy`` entry whole into
memory, trusting the sizes in the archive. A hostile archive can declare huge entries (an honest
zip bomb), declare small ones whose data inflates far past the header (a lying header), overlap
entries so the same compressed bytes count many times, or hide names that other tools would
extract outside a folder. :func:`check_zip_bounds` refuses all of these from the bytes already
read (the same bytes that are then deserialized), in bounded time and memory.

Standard library only; nothing runs at import time.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from itertools import pairwise

from artclf._safe_io import UnsafeModelError, _fail

__all__ = [
    "MAX_ZIP_ENTRIES",
    "MAX_ZIP_TOTAL_UNCOMPRESSED",
    "MAX_ZIP_ENTRY_UNCOMPRESSED",
    "MAX_ZIP_RATIO",
    "ZIP_RATIO_FLOOR",
    "check_zip_bounds",
    "UnsafeModelError",  # re-exported: callers catch one type from either module
]

# A skops file of our pipelines holds schema.json plus one .npy per array: tens to a few hundred
# entries for a 20-class one-vs-rest model. 10,000 is far above that.
MAX_ZIP_ENTRIES = 10_000
# The largest single array we ship is a dense 2^20-feature float64 coefficient matrix for ~20
# classes (~170 MB); 512 MiB per entry and 2 GiB in all leave headroom and still bound memory.
MAX_ZIP_ENTRY_UNCOMPRESSED = 512 * 1024 * 1024
MAX_ZIP_TOTAL_UNCOMPRESSED = 2 * 1024 * 1024 * 1024
# Deflate tops out near 1032:1 (runs of zeros). Dense coefficient arrays compress 2-10:1, but a
# hashed model's arrays are mostly zeros: a stream-mode SGD model's 2**20-column coefficients
# compressed 519:1 (measured), so the ratio cap sits just under deflate's own limit and the entry
# and total size caps are what bound the work. Small entries are exempt whatever their ratio.
MAX_ZIP_RATIO = 1000.0
ZIP_RATIO_FLOOR = 1024 * 1024

_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")  # 30 bytes, signature PK\x03\x04
_LOCAL_MAGIC = b"PK\x03\x04"
_CENTRAL_MAGIC = b"PK\x01\x02"
_CHUNK = 1024 * 1024
_IN_CHUNK = 64 * 1024
_ALLOWED_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _check_name(name: str, where: object, seen: set[str]) -> None:
    shown = repr(name[:80])
    if not name or _CONTROL.search(name):
        raise _fail(where, f"archive entry {shown} has an empty name or a control character; refusing to load it")
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        raise _fail(where, f"archive entry {shown} is an absolute path; refusing to load it; only load files you trust")
    if ".." in re.split(r"[/\\]", name):
        raise _fail(where, f"archive entry {shown} contains '..' (it would leave the folder if extracted); "
                           "refusing to load it; only load files you trust")
    if name in seen:
        raise _fail(where, f"archive entry {shown} appears twice (readers disagree on which copy wins); "
                           "refusing to load it; re-save the version")
    seen.add(name)


def _data_span(data: bytes, info: zipfile.ZipInfo, where: object) -> tuple[int, int]:
    """(start, end) of the entry's compressed bytes, from its local header, which must agree with
    the central directory on the name (a known parser-differential trick)."""
    offset = info.header_offset
    shown = repr(info.filename[:80])
    if offset < 0 or offset + _LOCAL_HEADER.size > len(data):
        raise _fail(where, f"archive entry {shown} points outside the file; refusing to load it")
    fields = _LOCAL_HEADER.unpack_from(data, offset)
    if fields[0] != _LOCAL_MAGIC:
        raise _fail(where, f"archive entry {shown} has no local header where the directory says; refusing to load it")
    name_len, extra_len = fields[9], fields[10]
    raw_name = data[offset + _LOCAL_HEADER.size: offset + _LOCAL_HEADER.size + name_len]
    encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
    if raw_name.decode(encoding, errors="replace") != info.orig_filename:
        raise _fail(where, f"archive entry {shown} has a different name in its local header; refusing to load it")
    start = offset + _LOCAL_HEADER.size + name_len + extra_len
    end = start + info.compress_size
    if end > len(data):
        raise _fail(where, f"archive entry {shown} runs past the end of the file (truncated?); refusing to load it")
    return start, end


def _inflate_bounded(raw: bytes, info: zipfile.ZipInfo, where: object, cap: int) -> None:
    """Decompress in chunks, never producing more than the declared size + 1 bytes, so a lying
    header costs at most what it declared (itself capped). Also checks the CRC, so whatever
    deserializes these bytes next sees exactly what the header described."""
    shown = repr(info.filename[:80])
    declared = info.file_size
    limit = min(declared, cap) + 1
    crc = 0
    produced = 0
    if info.compress_type == zipfile.ZIP_STORED:
        if len(raw) != declared:
            raise _fail(where, f"archive entry {shown} is stored with {len(raw)} bytes but declares {declared}; "
                               "refusing to load it")
        crc = zlib.crc32(raw)
        produced = len(raw)
    else:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        view = memoryview(raw)
        try:
            # Input goes in 64 KiB slices so unconsumed_tail (a copy) stays small; max_length bounds
            # each step's output, so a lying header stops after declared + 1 bytes.
            for offset in range(0, len(view), _IN_CHUNK):
                pending: bytes | memoryview = view[offset: offset + _IN_CHUNK]
                while pending and not inflater.eof:
                    out = inflater.decompress(pending, min(_CHUNK, limit - produced))
                    produced += len(out)
                    if produced > declared:
                        raise _fail(where, f"archive entry {shown} inflates past its declared {declared} bytes "
                                           "(a lying header: a zip bomb); refusing to load it")
                    crc = zlib.crc32(out, crc)
                    pending = inflater.unconsumed_tail
                if inflater.eof:
                    break
            while not inflater.eof and produced <= declared:
                # Input exhausted but output may still be buffered inside the inflater.
                out = inflater.decompress(b"", min(_CHUNK, limit - produced))
                if not out:
                    break
                produced += len(out)
                if produced > declared:
                    raise _fail(where, f"archive entry {shown} inflates past its declared {declared} bytes "
                                       "(a lying header: a zip bomb); refusing to load it")
                crc = zlib.crc32(out, crc)
        except zlib.error as exc:
            raise _fail(where, f"archive entry {shown} is not valid deflate data ({exc}); refusing to load it") from None
        if not inflater.eof:
            raise _fail(where, f"archive entry {shown} has a deflate stream that never ends (truncated?); "
                               "refusing to load it")
    if produced != declared:
        raise _fail(where, f"archive entry {shown} holds {produced} bytes but declares {declared}; refusing to load it")
    if crc != info.CRC:
        raise _fail(where, f"archive entry {shown} fails its CRC check (damaged or altered); refusing to load it")


def check_zip_bounds(
    data: bytes,
    *,
    where: object,
    max_entries: int = MAX_ZIP_ENTRIES,
    max_total_uncompressed: int = MAX_ZIP_TOTAL_UNCOMPRESSED,
    max_entry_uncompressed: int = MAX_ZIP_ENTRY_UNCOMPRESSED,
    max_ratio: float = MAX_ZIP_RATIO,
    ratio_floor: int = ZIP_RATIO_FLOOR,
    verify_content: bool = True,
) -> None:
    """Refuse a zip (skops) archive that would cost unbounded work or is malformed, from its bytes.

    Central-directory checks (no decompression): at most ``max_entries`` entries; names without
    '..', absolute paths or duplicates; no encrypted entries; only stored/deflated entries (what
    skops writes; bzip2/lzma inflate further and slower); declared sizes within
    ``max_entry_uncompressed`` and ``max_total_uncompressed``; per-entry compression ratio at most
    ``max_ratio`` for entries over ``ratio_floor`` bytes; entries whose compressed bytes do not
    overlap (overlapping entries are how non-recursive zip bombs reuse data).

    With ``verify_content`` (the default), each entry is then inflated in 1 MiB steps and may not
    produce more than it declared (a lying header fails after at most declared + 1 bytes) nor fail
    its CRC. This costs one decompression pass (about as long as skops' own read) and means the
    deserializer never sees an entry larger than the header said.
    """
    if not isinstance(data, bytes):
        raise _fail(where, f"expected bytes, got {type(data).__name__}")
    # zipfile allocates one ZipInfo per central-directory record before we can count them; the
    # signature count is a cheap upper bound on the records, so a file with millions is refused first.
    if data.count(_CENTRAL_MAGIC) > max_entries:
        raise _fail(where, f"archive has more than {max_entries} entries; refusing to load it; "
                           "a skops file of ours has a few hundred at most")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise _fail(where, f"is not a readable zip archive ({exc}); refusing to load it; "
                           "pass a .skops file written by artclf") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > max_entries:
            raise _fail(where, f"archive has {len(infos)} entries, over the cap of {max_entries}; refusing to load it")
        seen: set[str] = set()
        total = 0
        spans: list[tuple[int, int, str]] = []
        for info in infos:
            shown = repr(info.filename[:80])
            _check_name(info.filename, where, seen)
            if info.flag_bits & 0x1:
                raise _fail(where, f"archive entry {shown} is encrypted; refusing to load it")
            if info.compress_type not in _ALLOWED_METHODS:
                raise _fail(where, f"archive entry {shown} uses compression method {info.compress_type} "
                                   "(only stored and deflated are accepted); refusing to load it")
            if info.file_size > max_entry_uncompressed:
                raise _fail(where, f"archive entry {shown} declares {info.file_size} bytes uncompressed, over the "
                                   f"{max_entry_uncompressed}-byte cap per entry; refusing to load it (a zip bomb?)")
            total += info.file_size
            if total > max_total_uncompressed:
                raise _fail(where, f"archive declares over {max_total_uncompressed} bytes uncompressed in all; "
                                   "refusing to load it (a zip bomb?)")
            if info.file_size > ratio_floor and info.file_size > max_ratio * max(info.compress_size, 1):
                ratio = info.file_size / max(info.compress_size, 1)
                raise _fail(where, f"archive entry {shown} compresses {ratio:.0f}:1, over the cap of {max_ratio:.0f}:1; "
                                   "refusing to load it (a zip bomb?)")
            start, end = _data_span(data, info, where)
            spans.append((info.header_offset, end, info.filename))
        spans.sort()
        for (_, prev_end, prev_name), (next_start, _, next_name) in pairwise(spans):
            if next_start < prev_end:
                raise _fail(where, f"archive entries {prev_name[:80]!r} and {next_name[:80]!r} overlap "
                                   "(a zip bomb reusing data); refusing to load it")
        if verify_content:
            for info in infos:
                start, end = _data_span(data, info, where)
                _inflate_bounded(data[start:end], info, where, max_entry_uncompressed)

