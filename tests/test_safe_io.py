"""artclf._safe_io: every refusal is an UnsafeModelError with one line naming the file (issue 17)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from artclf import _safe_io
from artclf._safe_io import (
    UnsafeModelError,
    check_file_name,
    check_folder_entries,
    check_sha256,
    manifest_file_names,
    parse_json_bounded,
    read_version_files,
    sha256_hex,
)


def refused(exc_info: pytest.ExceptionInfo[UnsafeModelError], name: str) -> str:
    """The message, after checking it is one line that names ``name``."""
    message = str(exc_info.value)
    assert type(exc_info.value) is UnsafeModelError
    assert "\n" not in message and "\r" not in message, message
    assert name in message, message
    return message


@pytest.fixture
def version(tmp_path: Path) -> Path:
    folder = tmp_path / "v1"
    folder.mkdir()
    (folder / "topic.skops").write_bytes(b"skops-bytes")
    (folder / "tone.skops").write_bytes(b"tone-bytes")
    (folder / "manifest.json").write_text(json.dumps({"files": {
        "topic.skops": {"sha256": sha256_hex(b"skops-bytes")},
        "tone.skops": {"sha256": sha256_hex(b"tone-bytes")},
    }}))
    (folder / "MODEL_CARD.md").write_text("# card\n")
    return folder


# --- read_version_files -------------------------------------------------------------------------

def test_reads_listed_files_once_as_bytes(version: Path) -> None:
    files = read_version_files(version, ["manifest.json", "topic.skops"])
    assert files["topic.skops"] == b"skops-bytes"
    manifest = parse_json_bounded(files["manifest.json"], where=version / "manifest.json")
    check_sha256(version / "topic.skops", files["topic.skops"], manifest["files"]["topic.skops"]["sha256"])


def test_symlink_to_outside_is_refused(version: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"outside")
    (version / "topic.skops").unlink()
    (version / "topic.skops").symlink_to(secret)
    with pytest.raises(UnsafeModelError) as info:
        read_version_files(version, ["topic.skops"])
    assert "symbolic link" in refused(info, "topic.skops")


def test_symlink_inside_the_folder_is_refused(version: Path) -> None:
    (version / "tone.skops").unlink()
    (version / "tone.skops").symlink_to("topic.skops")
    with pytest.raises(UnsafeModelError) as info:
        read_version_files(version, ["tone.skops"])
    assert "symbolic link" in refused(info, "tone.skops")


def test_symlinked_version_folder_is_refused(version: Path, tmp_path: Path) -> None:
    link = tmp_path / "v2"
    link.symlink_to(version)
    with pytest.raises(UnsafeModelError) as info:
        read_version_files(link, ["topic.skops"])
    assert "symbolic link" in refused(info, "v2")
    # Resolving it on purpose is the caller's explicit decision, and then it reads.
    assert read_version_files(link.resolve(), ["topic.skops"])["topic.skops"] == b"skops-bytes"


def test_fifo_is_refused_without_hanging(version: Path) -> None:
    os.mkfifo(version / "fifo.skops")
    started = time.monotonic()
    with pytest.raises(UnsafeModelError) as info:
        read_version_files(version, ["fifo.skops"])
    assert time.monotonic() - started < 1.0
    assert "FIFO" in refused(info, "fifo.skops")


def test_directory_where_a_file_is_expected(version: Path) -> None:
    (version / "topic.skops").unlink()
    (version / "topic.skops").mkdir()
    with pytest.raises(UnsafeModelError) as info:
        read_version_files(version, ["topic.skops"])
    assert "folder" in refused(info, "topic.skops")


def test_missing_file(version: Path) -> None:
    with pytest.raises(UnsafeModelError) as info:
        read_version_files(version, ["topic.joblib"])
    assert "missing" in refused(info, "topic.joblib")


@pytest.mark.parametrize("name", [
    "../outside.skops", "..", ".", "", "/etc/passwd", "sub/topic.skops", "sub\\topic.skops",
    "nul\0.skops", "new\nline.skops", "x" * 256, "\udcff.skops",
])
def test_names_that_are_not_plain_file_names(version: Path, name: str) -> None:
    with pytest.raises(UnsafeModelError) as info:
        read_version_files(version, [name])
    refused(info, "v1")


def test_non_string_name(version: Path) -> None:
    with pytest.raises(UnsafeModelError) as info:
        check_file_name(7, where=version / "manifest.json")
    refused(info, "manifest.json")


def test_name_of_255_bytes_is_accepted_when_plain() -> None:
    assert check_file_name("a" * 255, where="m") == "a" * 255


def test_duplicate_and_too_many_names(version: Path) -> None:
    with pytest.raises(UnsafeModelError) as info:
        read_version_files(version, ["topic.skops", "topic.skops"])
    assert "twice" in refused(info, "topic.skops")
    with pytest.raises(UnsafeModelError) as info:
        read_version_files(version, [f"f{i}" for i in range(5)], max_files=4)
    assert "cap" in refused(info, "v1")


def test_per_file_and_total_caps(version: Path) -> None:
    (version / "big.skops").write_bytes(b"x" * 5000)
    with pytest.raises(UnsafeModelError) as info:
        read_version_files(version, ["big.skops"], max_bytes_per_file=4096)
    assert "cap per file" in refused(info, "big.skops")
    with pytest.raises(UnsafeModelError) as info:
        read_version_files(version, ["topic.skops", "big.skops"], max_total_bytes=5005)
    assert "budget" in refused(info, "big.skops")


def test_file_growing_past_the_cap_while_read_fails_fast(version: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # fstat says 10 bytes (as it would just before another process appends), the file holds 10 MB:
    # the cap is enforced on what is actually read, after at most cap + one chunk.
    (version / "grow.skops").write_bytes(b"x" * 10_000_000)
    real_fstat = os.fstat

    def small_fstat(fd: int) -> os.stat_result:
        st = list(real_fstat(fd))
        st[6] = 10  # st_size
        return os.stat_result(st)

    monkeypatch.setattr(_safe_io.os, "fstat", small_fstat)
    with pytest.raises(UnsafeModelError) as info:
        read_version_files(version, ["grow.skops"], max_bytes_per_file=1000)
    assert "grew past" in refused(info, "grow.skops")


def test_bytes_returned_are_the_bytes_hashed_even_if_the_file_is_swapped(version: Path) -> None:
    # The loader's sequence: read once -> hash -> deserialize from the same bytes. Swapping the file
    # on disk after the read (what a racing writer does) cannot change what is deserialized.
    good = b'{"model": "good"}'
    evil = b'{"model": "evil"}'
    (version / "m.json").write_bytes(good)
    data = read_version_files(version, ["m.json"])["m.json"]
    (version / "m.json").write_bytes(evil)
    check_sha256(version / "m.json", data, sha256_hex(good))
    assert parse_json_bounded(data, where="m.json") == {"model": "good"}


def test_racing_thread_swapping_the_file_never_passes_a_hash_with_other_content(version: Path) -> None:
    good, evil = b"G" * 200_000, b"E" * 200_000
    target = version / "race.skops"
    target.write_bytes(good)
    stop = threading.Event()

    def swapper() -> None:
        flip = False
        while not stop.is_set():
            # Both an atomic swap (rename) and an in-place rewrite, the two ways a writer races us.
            tmp = version / ".swap"
            tmp.write_bytes(evil if flip else good)
            os.replace(tmp, target)
            with target.open("r+b") as handle:
                handle.write((good if flip else evil)[:100_000])
            flip = not flip

    thread = threading.Thread(target=swapper, daemon=True)
    thread.start()
    accepted = refused_count = 0
    try:
        for _ in range(300):
            try:
                data = read_version_files(version, ["race.skops"])["race.skops"]
            except UnsafeModelError:
                continue  # e.g. caught between unlink and rename on some file systems
            try:
                check_sha256(target, data, sha256_hex(good))
            except UnsafeModelError:
                refused_count += 1
                continue
            # Accepted means: exactly the bytes that were hashed, which are the good bytes.
            assert data == good
            accepted += 1
    finally:
        stop.set()
        thread.join()
    assert accepted + refused_count > 0
    print(f"race: {accepted} accepted (all the good bytes), {refused_count} refused by the hash")


# --- check_folder_entries -----------------------------------------------------------------------

LISTED = ["topic.skops", "tone.skops"]
EXTRA = ["manifest.json", "signature.json"]


def test_clean_folder_passes(version: Path) -> None:
    check_folder_entries(version, LISTED, EXTRA)


def test_unlisted_model_file_is_refused(version: Path) -> None:
    (version / "topic.joblib").write_bytes(b"pickle")
    with pytest.raises(UnsafeModelError) as info:
        check_folder_entries(version, LISTED, EXTRA)
    assert "does not list" in refused(info, "topic.joblib")


@pytest.mark.parametrize("name", ["evil.PKL", "x.pickle", "arr.npy", "other.json"])
def test_every_model_extension_counts(version: Path, name: str) -> None:
    (version / name).write_bytes(b"x")
    with pytest.raises(UnsafeModelError) as info:
        check_folder_entries(version, LISTED, EXTRA)
    refused(info, name)


def test_symlink_entry_is_refused_even_pointing_inside(version: Path) -> None:
    (version / "notes.md").symlink_to("MODEL_CARD.md")
    with pytest.raises(UnsafeModelError) as info:
        check_folder_entries(version, LISTED, EXTRA)
    assert "symbolic link" in refused(info, "notes.md")


def test_subfolder_and_fifo_entries_are_refused(version: Path) -> None:
    (version / "sub").mkdir()
    with pytest.raises(UnsafeModelError) as info:
        check_folder_entries(version, LISTED, EXTRA)
    assert "folder" in refused(info, "sub")
    (version / "sub").rmdir()
    os.mkfifo(version / "pipe")
    with pytest.raises(UnsafeModelError) as info:
        check_folder_entries(version, LISTED, EXTRA)
    refused(info, "pipe")


def test_too_many_entries(version: Path) -> None:
    for i in range(10):
        (version / f"n{i}.txt").write_bytes(b"")
    with pytest.raises(UnsafeModelError) as info:
        check_folder_entries(version, LISTED, EXTRA, max_entries=8)
    refused(info, "v1")


def test_manifest_file_names(version: Path) -> None:
    manifest = json.loads((version / "manifest.json").read_text())
    assert manifest_file_names(manifest, where="m") == ["topic.skops", "tone.skops"]
    with pytest.raises(UnsafeModelError) as info:
        manifest_file_names({"files": {"../x.joblib": {}}}, where=version / "manifest.json")
    refused(info, "manifest.json")
    with pytest.raises(UnsafeModelError) as info:
        manifest_file_names({"files": []}, where=version / "manifest.json")
    refused(info, "manifest.json")


# --- parse_json_bounded -------------------------------------------------------------------------

def parse_refused(data: bytes, **caps: int) -> str:
    with pytest.raises(UnsafeModelError) as info:
        parse_json_bounded(data, where="v1/manifest.json", **caps)
    return refused(info, "manifest.json")


def test_parses_a_normal_manifest() -> None:
    data = json.dumps({"a": [1, 2.5, None, True, "x\u00e9\"]}"], "b": {"c": -3}}).encode()
    assert parse_json_bounded(data, where="m") == {"a": [1, 2.5, None, True, "x\u00e9\"]}"], "b": {"c": -3}}


def test_manifest_over_the_cap() -> None:
    from artclf._safe_io import MAX_MANIFEST_BYTES

    data = json.dumps({"pad": "x" * MAX_MANIFEST_BYTES}).encode()
    assert "cap" in parse_refused(data)


def test_ten_thousand_deep_json_is_refused_before_parsing() -> None:
    started = time.monotonic()
    message = parse_refused(b"[" * 10_000 + b"]" * 10_000)
    assert "10000 levels" in message
    message = parse_refused(b'{"a":' * 10_000 + b"1" + b"}" * 10_000)
    assert time.monotonic() - started < 0.5


def test_brackets_inside_strings_do_not_count_as_depth() -> None:
    data = json.dumps({"s": "[" * 5000 + '\\"{' * 100}).encode()
    assert parse_json_bounded(data, where="m")["s"].startswith("[[[")


def test_depth_cap_is_exact() -> None:
    assert parse_json_bounded(b"[[[1]]]", where="m", max_depth=3) == [[[1]]]
    parse_refused(b"[[[[1]]]]", max_depth=3)


def test_hundred_thousand_digit_integer_is_refused() -> None:
    started = time.monotonic()
    assert "digit" in parse_refused(b'{"n": ' + b"9" * 100_000 + b"}")
    assert time.monotonic() - started < 0.5


def test_huge_integer_refused_even_with_the_interpreter_guard_off() -> None:
    # Another library may call sys.set_int_max_str_digits(0); we do not rely on that guard.
    previous = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        assert "digit" in parse_refused(b"[" + b"7" * 100_000 + b"]")
    finally:
        sys.set_int_max_str_digits(previous)


def test_duplicate_keys_are_refused_at_any_depth() -> None:
    assert "twice" in parse_refused(b'{"files": 1, "files": 2}')
    assert "twice" in parse_refused(b'{"a": [{"sha256": "x", "sha256": "y"}]}')


@pytest.mark.parametrize("text", [b"[NaN]", b"[Infinity]", b"[-Infinity]", b'{"x": 1e400}'])
def test_nan_and_infinity_are_refused(text: bytes) -> None:
    parse_refused(text)


def test_bom_and_non_utf8_are_refused() -> None:
    assert "byte-order mark" in parse_refused(b"\xef\xbb\xbf{}")
    assert "UTF-8" in parse_refused('{"a": 1}'.encode("utf-16"))
    assert "UTF-8" in parse_refused(b'{"a": "\xff"}')


def test_invalid_json_and_wrong_type() -> None:
    assert "not valid JSON" in parse_refused(b'{"a": ')
    with pytest.raises(UnsafeModelError) as info:
        parse_json_bounded("{}", where="v1/manifest.json")  # type: ignore[arg-type]
    refused(info, "manifest.json")


# --- sha256 -------------------------------------------------------------------------------------

def test_sha256_mismatch_and_malformed_expected(version: Path) -> None:
    assert sha256_hex(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    with pytest.raises(UnsafeModelError) as info:
        check_sha256(version / "topic.skops", b"other", sha256_hex(b"skops-bytes"))
    assert "changed" in refused(info, "topic.skops")
    with pytest.raises(UnsafeModelError) as info:
        check_sha256(version / "topic.skops", b"x", ["not", "hex"])
    refused(info, "topic.skops")


def test_module_imports_stdlib_only() -> None:
    code = ("import sys, artclf._safe_io, artclf._zipcheck, artclf.signing; "
            "bad = [m for m in ('sklearn', 'scipy', 'skops', 'joblib', 'cryptography') if m in sys.modules]; "
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "[]"
