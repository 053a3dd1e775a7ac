"""artclf._zipcheck: skops (zip) archives with bombs, lying headers and hostile names (issue 17)."""

from __future__ import annotations

import io
import struct
import time
import zipfile
import zlib

import pytest

from artclf._safe_io import UnsafeModelError
from artclf._zipcheck import check_zip_bounds

WHERE = "models/v1/topic.skops"
GIB = 1024 ** 3


def refused(data: bytes, **caps: object) -> str:
    started = time.monotonic()
    with pytest.raises(UnsafeModelError) as info:
        check_zip_bounds(data, where=WHERE, **caps)  # type: ignore[arg-type]
    elapsed = time.monotonic() - started
    message = str(info.value)
    assert type(info.value) is UnsafeModelError
    assert "\n" not in message and message.startswith(WHERE + ":"), message
    assert elapsed < 1.0, f"took {elapsed:.2f} s"
    return message


def zip_of(entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name, payload in entries.items():
            archive.writestr(name, payload)
    return buffer.getvalue()


def deflated_zeros(mebibytes: int) -> bytes:
    """A raw deflate stream of ``mebibytes`` MiB of zeros, built in milliseconds: after a full
    flush the compressor forgets its history, so every 1 MiB block compresses to the same bytes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = compressor.compress(bytes(1 << 20)) + compressor.flush(zlib.Z_FULL_FLUSH)
    assert compressor.compress(bytes(1 << 20)) + compressor.flush(zlib.Z_FULL_FLUSH) == block
    return block * mebibytes + compressor.flush()


def hand_made_zip(name: str, payload: bytes, declared: int, crc: int, *, method: int = 8, flags: int = 0,
                  local_name: str | None = None) -> bytes:
    """A one-entry zip whose headers say whatever we like (a real bomb's headers lie)."""
    raw_name, raw_local = name.encode(), (local_name if local_name is not None else name).encode()
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, flags, method, 0, 0, crc, len(payload), declared,
                        len(raw_local), 0) + raw_local
    central = struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, flags, method, 0, 0, crc, len(payload),
                          declared, len(raw_name), 0, 0, 0, 0, 0, 0) + raw_name
    body = local + payload
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(body), 0)
    return body + central + end


def test_a_real_skops_file_passes() -> None:
    # What the loader will see: an actual skops archive of a small scikit-learn pipeline.
    # (The test may import skops and scikit-learn; artclf itself never does.)
    import numpy as np
    import skops.io as sio
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(TfidfVectorizer(), LogisticRegression())
    model.fit(["oil gas pipeline", "treaty talks envoy", "gas oil", "envoy treaty"], np.array([0, 1, 0, 1]))
    data = sio.dumps(model, compression=zipfile.ZIP_DEFLATED, compresslevel=6)
    check_zip_bounds(data, where=WHERE)
    assert sio.loads(data, trusted=sio.get_untrusted_types(data=data)).predict(["gas"]) == [0]


def test_plain_archive_passes_stored_and_deflated() -> None:
    check_zip_bounds(zip_of({"schema.json": b"{}", "a.npy": bytes(5000)}), where=WHERE)
    check_zip_bounds(zip_of({"schema.json": b"{}"}, method=zipfile.ZIP_STORED), where=WHERE)


def test_zip_bomb_with_honest_header_fails_fast() -> None:
    # 1 GiB of zeros, deflated to ~1 MB, headers telling the truth: refused from the directory alone.
    stream = deflated_zeros(1024)
    assert len(stream) < 2 * 1024 * 1024
    bomb = hand_made_zip("schema.json", stream, GIB, crc=0)
    assert "declares 1073741824 bytes" in refused(bomb)
    # Under a larger per-entry cap, the ratio cap still catches it.
    assert "compresses" in refused(bomb, max_entry_uncompressed=2 * GIB)


def test_zip_bomb_with_lying_header_fails_fast() -> None:
    # The same 1 GiB of zeros declared as 1000 bytes: only bounded inflation can tell.
    bomb = hand_made_zip("schema.json", deflated_zeros(1024), 1000, crc=zlib.crc32(bytes(1000)))
    assert "inflates past its declared 1000 bytes" in refused(bomb)


def test_total_declared_size_cap() -> None:
    data = zip_of({f"a{i}.npy": bytes(4096) for i in range(4)})
    assert "in all" in refused(data, max_total_uncompressed=10_000)


def test_ratio_cap_spares_small_entries() -> None:
    check_zip_bounds(zip_of({"zeros.npy": bytes(100_000)}), where=WHERE)  # ~1000:1 but only 100 KB
    assert "compresses" in refused(zip_of({"zeros.npy": bytes(100_000)}), ratio_floor=50_000, max_ratio=200)


def test_too_many_entries() -> None:
    data = zip_of({f"e{i}.npy": b"x" for i in range(20)})
    assert "entries" in refused(data, max_entries=10)


@pytest.mark.parametrize("name", ["../evil.npy", "a/../../evil.npy", "/abs.npy", "\\abs.npy", "C:evil.npy",
                                  "a\\..\\b.npy"])
def test_traversal_and_absolute_names(name: str) -> None:
    refused(zip_of({name: b"x"}))


def test_duplicate_names() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("schema.json", b"{}")
        with pytest.warns(UserWarning):
            archive.writestr("schema.json", b'{"evil": 1}')
    assert "appears twice" in refused(buffer.getvalue())


def test_encrypted_entry() -> None:
    payload = zlib.compress(b"x")
    data = hand_made_zip("schema.json", payload, 1, crc=zlib.crc32(b"x"), flags=0x1)
    assert "encrypted" in refused(data)


def test_other_compression_methods() -> None:
    assert "compression method" in refused(zip_of({"schema.json": b"{}" * 100}, method=zipfile.ZIP_LZMA))


def test_local_header_name_differs_from_directory() -> None:
    raw = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    payload = raw.compress(b"{}") + raw.flush()
    data = hand_made_zip("schema.json", payload, 2, crc=zlib.crc32(b"{}"), local_name="schemb.json")
    assert "different name" in refused(data)


def test_bad_crc_and_short_content() -> None:
    raw = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    payload = raw.compress(b"{}") + raw.flush()
    assert "CRC" in refused(hand_made_zip("schema.json", payload, 2, crc=12345))
    assert "holds 2 bytes but declares 3" in refused(hand_made_zip("schema.json", payload, 3, crc=0))
    assert "stored" in refused(hand_made_zip("schema.json", b"{}", 5, crc=0, method=0))


def test_truncated_and_garbage_archives() -> None:
    good = zip_of({"schema.json": b"{}" * 1000})
    refused(good[: len(good) // 2])
    assert "not a readable zip" in refused(b"not a zip at all")


def test_overlapping_entries() -> None:
    # Entry "b" lives inside entry "a"'s stored data, so the same bytes count twice (how
    # non-recursive zip bombs reuse one compressed kernel for many entries).
    inner = b"{}"
    local_b = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 0, 0, 0, zlib.crc32(inner), 2, 2, 1, 0) + b"b" + inner
    local_a = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 0, 0, 0, zlib.crc32(local_b), len(local_b),
                          len(local_b), 1, 0) + b"a"
    body = local_a + local_b
    records = b""
    for name, crc, size, offset in ((b"a", zlib.crc32(local_b), len(local_b), 0),
                                    (b"b", zlib.crc32(inner), 2, len(local_a))):
        records += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, crc, size, size,
                               1, 0, 0, 0, 0, 0, offset) + name
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 2, 2, len(records), len(body), 0)
    assert "overlap" in refused(body + records + end)


def test_not_bytes() -> None:
    with pytest.raises(UnsafeModelError):
        check_zip_bounds("zip", where=WHERE)  # type: ignore[arg-type]
