"""artclf.signing: Ed25519-signed versions; each refusal is a distinct one-line SignatureError (issue 17)."""

from __future__ import annotations

import base64
import json
import stat
import sys
from pathlib import Path

import pytest

from artclf import signing
from artclf._safe_io import UnsafeModelError, read_version_files, sha256_hex
from artclf.signing import SignatureError, canonical_digest, generate_keypair, sign_version, verify_version

pytest.importorskip("cryptography")

LOADED = ["manifest.json", "topic.skops", "tone.skops"]  # what a loader reads and deserializes


def refused(exc_info: pytest.ExceptionInfo[SignatureError], name: str) -> str:
    message = str(exc_info.value)
    assert isinstance(exc_info.value, SignatureError) and isinstance(exc_info.value, UnsafeModelError)
    assert "\n" not in message, message
    assert name in message, message
    return message


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    private, public = tmp_path / "keys" / "signing.pem", tmp_path / "keys" / "signing.pub.pem"
    private.parent.mkdir()
    generate_keypair(private, public)
    return private, public


@pytest.fixture
def version(tmp_path: Path) -> Path:
    folder = tmp_path / "models" / "v3"
    folder.mkdir(parents=True)
    blobs = {"topic.skops": b"topic-model-bytes", "tone.skops": b"tone-model-bytes"}
    for name, data in blobs.items():
        (folder / name).write_bytes(data)
    manifest = {"format_version": 2, "files": {n: {"sha256": sha256_hex(d), "bytes": len(d)} for n, d in blobs.items()}}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    (folder / "MODEL_CARD.md").write_text("# Model card\n")
    return folder


@pytest.fixture
def signed(version: Path, keys: tuple[Path, Path]) -> Path:
    sign_version(version, keys[0])
    return version


def loaded(folder: Path) -> dict[str, bytes]:
    return read_version_files(folder, LOADED)


def test_good_signature_verifies_from_path_pem_bytes_and_raw_key(signed: Path, keys: tuple[Path, Path]) -> None:
    files = loaded(signed)
    verify_version(signed, files, keys[1])
    verify_version(signed, files, str(keys[1]))
    verify_version(signed, files, keys[1].read_bytes())
    from cryptography.hazmat.primitives import serialization

    raw = serialization.load_pem_public_key(keys[1].read_bytes()).public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    verify_version(signed, files, raw)
    # signature.json read by the loader together with the rest is used as given.
    verify_version(signed, read_version_files(signed, LOADED + ["signature.json"]), keys[1])


def test_signature_file_fields(signed: Path, keys: tuple[Path, Path]) -> None:
    record = json.loads((signed / "signature.json").read_text())
    assert record["algorithm"] == "ed25519" and record["digest_algorithm"] == "sha256"
    assert record["public_key_sha256"] == signing.public_key_fingerprint(keys[1])
    assert sorted(record["files"]) == ["MODEL_CARD.md", "manifest.json", "tone.skops", "topic.skops"]
    assert len(base64.b64decode(record["signature"])) == 64
    everything = read_version_files(signed, sorted(record["files"]))
    assert record["digest"] == canonical_digest(everything)


def test_canonical_digest_definition() -> None:
    files = {"b.skops": b"2", "manifest.json": b"{}", "a.skops": b"1", "signature.json": b"ignored"}
    entries = "".join(f"{n}\0{sha256_hex(files[n])}\n" for n in ("a.skops", "b.skops", "manifest.json"))
    assert canonical_digest(files) == sha256_hex(entries.encode())


def test_private_key_is_mode_0600_and_never_overwritten(keys: tuple[Path, Path]) -> None:
    assert stat.S_IMODE(keys[0].stat().st_mode) == 0o600
    with pytest.raises(SignatureError) as info:
        generate_keypair(keys[0], keys[1].with_name("other.pub"))
    assert "already exists" in refused(info, "signing.pem")


def test_tampered_model_file(signed: Path, keys: tuple[Path, Path]) -> None:
    # The attacker rewrites the file AND its sha256 in the manifest: sha256 checks pass, the signature does not.
    evil = b"pickle-that-runs-code"
    (signed / "topic.skops").write_bytes(evil)
    manifest = json.loads((signed / "manifest.json").read_text())
    manifest["files"]["topic.skops"]["sha256"] = sha256_hex(evil)
    (signed / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SignatureError) as info:
        verify_version(signed, loaded(signed), keys[1])
    message = refused(info, "changed since the version was signed")
    assert "topic.skops" in message or "manifest.json" in message


def test_tampered_held_bytes_are_what_is_verified(signed: Path, keys: tuple[Path, Path]) -> None:
    # No second read: verification sees exactly the bytes the loader will deserialize.
    files = loaded(signed)
    files["tone.skops"] = b"swapped after reading"
    with pytest.raises(SignatureError) as info:
        verify_version(signed, files, keys[1])
    assert "changed since" in refused(info, "tone.skops")


def test_tampered_manifest_only(signed: Path, keys: tuple[Path, Path]) -> None:
    manifest = json.loads((signed / "manifest.json").read_text())
    manifest["format_version"] = 1
    (signed / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SignatureError) as info:
        verify_version(signed, loaded(signed), keys[1])
    assert "changed since" in refused(info, "manifest.json")


def test_tampered_unloaded_signed_file(signed: Path, keys: tuple[Path, Path]) -> None:
    (signed / "MODEL_CARD.md").write_text("# edited\n")
    with pytest.raises(SignatureError) as info:
        verify_version(signed, loaded(signed), keys[1])
    assert "changed since" in refused(info, "MODEL_CARD.md")


def test_resigned_record_with_forged_digest(signed: Path, keys: tuple[Path, Path]) -> None:
    # The attacker updates digest and file hashes in signature.json but cannot re-sign.
    (signed / "topic.skops").write_bytes(b"evil")
    record = json.loads((signed / "signature.json").read_text())
    everything = read_version_files(signed, sorted(record["files"]))
    record["digest"] = canonical_digest(everything)
    record["files"] = {n: sha256_hex(d) for n, d in everything.items()}
    (signed / "signature.json").write_text(json.dumps(record))
    with pytest.raises(SignatureError) as info:
        verify_version(signed, loaded(signed), keys[1])
    assert "does not verify" in refused(info, "signature.json")


def test_signature_from_another_key(signed: Path, tmp_path: Path) -> None:
    generate_keypair(tmp_path / "other.pem", tmp_path / "other.pub")
    with pytest.raises(SignatureError) as info:
        verify_version(signed, loaded(signed), tmp_path / "other.pub")
    assert "another key" in refused(info, "signature.json")


def test_signature_from_another_key_claiming_ours(signed: Path, keys: tuple[Path, Path], tmp_path: Path) -> None:
    # Signed with the attacker's key, fingerprint field edited to claim the configured key.
    generate_keypair(tmp_path / "evil.pem", tmp_path / "evil.pub")
    sign_version(signed, tmp_path / "evil.pem")
    record = json.loads((signed / "signature.json").read_text())
    record["public_key_sha256"] = signing.public_key_fingerprint(keys[1])
    (signed / "signature.json").write_text(json.dumps(record))
    with pytest.raises(SignatureError) as info:
        verify_version(signed, loaded(signed), keys[1])
    assert "does not verify" in refused(info, "signature.json")


def test_missing_signature(version: Path, keys: tuple[Path, Path]) -> None:
    with pytest.raises(SignatureError) as info:
        verify_version(version, loaded(version), keys[1])
    assert "not signed" in refused(info, "signature.json")


def test_signature_as_symlink_is_refused(signed: Path, keys: tuple[Path, Path]) -> None:
    target = signed.parent / "elsewhere.json"
    (signed / "signature.json").rename(target)
    (signed / "signature.json").symlink_to(target)
    with pytest.raises(SignatureError) as info:
        verify_version(signed, loaded(signed), keys[1])
    assert "symbolic link" in refused(info, "signature.json")


@pytest.mark.parametrize("edit", [
    lambda r: b"{not json",
    lambda r: json.dumps([r]).encode(),
    lambda r: json.dumps({k: v for k, v in r.items() if k != "digest"}).encode(),
    lambda r: json.dumps({**r, "algorithm": "rsa"}).encode(),
    lambda r: json.dumps({**r, "format": 2}).encode(),
    lambda r: json.dumps({**r, "signature": "!!!not base64!!!"}).encode(),
    lambda r: json.dumps({**r, "signature": base64.b64encode(b"short").decode()}).encode(),
    lambda r: json.dumps({**r, "digest": "XYZ"}).encode(),
    lambda r: json.dumps({**r, "files": {"../manifest.json": "0" * 64}}).encode(),
    lambda r: json.dumps({**r, "files": {"topic.skops": "0" * 64}}).encode(),
    lambda r: json.dumps(r).replace('"format"', '"format": 1, "format"', 1).encode(),
    lambda r: b"[" * 100 + b"]" * 100,
], ids=["not-json", "not-object", "missing-field", "algorithm", "format", "bad-base64", "short-signature",
        "bad-digest", "traversal-name", "no-manifest", "duplicate-key", "too-deep"])
def test_malformed_signature_file(signed: Path, keys: tuple[Path, Path], edit) -> None:  # type: ignore[no-untyped-def]
    record = json.loads((signed / "signature.json").read_text())
    (signed / "signature.json").write_bytes(edit(record))
    with pytest.raises(SignatureError) as info:
        verify_version(signed, loaded(signed), keys[1])
    assert "malformed signature file" in refused(info, "signature.json")


def test_file_not_covered_by_the_signature(signed: Path, keys: tuple[Path, Path]) -> None:
    (signed / "extra.skops").write_bytes(b"slipped in")
    files = read_version_files(signed, LOADED + ["extra.skops"])
    with pytest.raises(SignatureError) as info:
        verify_version(signed, files, keys[1])
    assert "not covered" in refused(info, "extra.skops")


def test_signed_file_deleted(signed: Path, keys: tuple[Path, Path]) -> None:
    (signed / "MODEL_CARD.md").unlink()
    with pytest.raises(SignatureError) as info:
        verify_version(signed, loaded(signed), keys[1])
    assert "missing" in refused(info, "MODEL_CARD.md")


def test_manifest_must_be_passed(signed: Path, keys: tuple[Path, Path]) -> None:
    with pytest.raises(SignatureError) as info:
        verify_version(signed, read_version_files(signed, ["topic.skops"]), keys[1])
    refused(info, "manifest.json")


@pytest.mark.parametrize("which", ["public", "private"])
def test_truncated_key_file(signed: Path, keys: tuple[Path, Path], which: str) -> None:
    path = keys[1] if which == "public" else keys[0]
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SignatureError) as info:
        if which == "public":
            verify_version(signed, loaded(signed), path)
        else:
            sign_version(signed, path)
    assert "truncated" in refused(info, path.name)


def test_wrong_key_kinds(signed: Path, keys: tuple[Path, Path], tmp_path: Path) -> None:
    with pytest.raises(SignatureError) as info:
        verify_version(signed, loaded(signed), keys[0])
    assert "private key" in refused(info, "signing.pem")
    with pytest.raises(SignatureError) as info:
        sign_version(signed, tmp_path / "nope.pem")
    refused(info, "nope.pem")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    other = ec.generate_private_key(ec.SECP256R1())
    ec_path = tmp_path / "ec.pem"
    ec_path.write_bytes(other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
    with pytest.raises(SignatureError) as info:
        sign_version(signed, ec_path)
    assert "not an Ed25519" in refused(info, "ec.pem")


def test_encrypted_private_key(signed: Path, tmp_path: Path) -> None:
    generate_keypair(tmp_path / "enc.pem", tmp_path / "enc.pub", password=b"correct horse")
    with pytest.raises(SignatureError) as info:
        sign_version(signed, tmp_path / "enc.pem")
    assert "password" in refused(info, "enc.pem")
    sign_version(signed, tmp_path / "enc.pem", password=b"correct horse")
    verify_version(signed, loaded(signed), tmp_path / "enc.pub")


def test_sign_refuses_damaged_or_unsafe_versions(version: Path, keys: tuple[Path, Path]) -> None:
    (version / "topic.skops").write_bytes(b"damaged")
    with pytest.raises(SignatureError) as info:
        sign_version(version, keys[0])
    assert "refusing to sign" in refused(info, "topic.skops")
    (version / "topic.skops").unlink()
    (version / "topic.skops").symlink_to(version / "tone.skops")
    with pytest.raises(UnsafeModelError) as info2:
        sign_version(version, keys[0])
    assert "symbolic link" in str(info2.value)
    assert not (version / "signature.json").exists()


def test_resigning_replaces_the_signature(signed: Path, keys: tuple[Path, Path]) -> None:
    (signed / "MODEL_CARD.md").write_text("# updated card\n")
    sign_version(signed, keys[0])
    verify_version(signed, loaded(signed), keys[1])
    assert not [p for p in signed.iterdir() if p.name.startswith(".tmp-")]


def test_missing_cryptography_is_one_line(signed: Path, keys: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "cryptography" or m.startswith("cryptography.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "cryptography", None)
    with pytest.raises(SignatureError) as info:
        verify_version(signed, loaded(signed), keys[1])
    message = str(info.value)
    assert "pip install cryptography" in message and "\n" not in message
