"""Signed model versions: Ed25519 over a canonical digest of every file, manifest included.

The sha256 list in ``manifest.json`` only catches accidental damage: whoever can write the folder
rewrites the manifest too. A signature made with a private key that never leaves the publisher
closes that: an attacker who rewrites files *and* manifest cannot produce a signature that the
configured public key accepts.

Canonical digest (version 1), over the files of the version except ``signature.json``:

    entries = "".join(f"{name}\\0{sha256_hex(bytes)}\\n" for name in sorted(names))
    digest  = sha256_hex(entries.encode("utf-8"))
    message = b"artclf-signed-version-v1\\0" + digest.encode("ascii")
    signature = Ed25519_sign(private_key, message)

Names are plain file names (no separators) sorted by code point, which is UTF-8 byte order; NUL
cannot occur in a name and the hex digest contains no newline, so the encoding is unambiguous.
The fixed prefix keeps the signature from being valid for any other message format. The signed
set must contain ``manifest.json``; the manifest in turn lists the model files with their sha256.

``signature.json``::

    {"format": 1, "algorithm": "ed25519", "digest_algorithm": "sha256", "digest": "<64 hex>",
     "signature": "<base64 of 64 bytes>", "public_key_sha256": "<sha256 hex of the raw 32-byte
     public key>", "files": {"<name>": "<sha256 hex>", ...}}

``files`` is the signed file list (with per-file hashes so a refusal can name the file that
changed); it is informational: acceptance rests only on the signature verifying over the digest
recomputed from the bytes the loader read.

``cryptography`` is an optional dependency (``pip install 'artclf[signing]'``), imported inside
the functions. No network is used at sign or verify time.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from artclf._safe_io import (
    MAX_MANIFEST_BYTES,
    UnsafeModelError,
    _fail,
    check_file_name,
    check_folder_entries,
    parse_json_bounded,
    read_version_files,
    sha256_hex,
)

__all__ = [
    "SIGNATURE_FILE",
    "MANIFEST_FILE",
    "SignatureError",
    "canonical_digest",
    "sign_version",
    "verify_version",
    "generate_keypair",
    "public_key_fingerprint",
]

SIGNATURE_FILE = "signature.json"
MANIFEST_FILE = "manifest.json"
SIGNATURE_FORMAT = 1
_DOMAIN = b"artclf-signed-version-v1\0"
# signature.json is ~1 KB per handful of files; key files are a few hundred bytes of PEM.
MAX_SIGNATURE_BYTES = 256 * 1024
MAX_KEY_BYTES = 64 * 1024
_HEX64 = re.compile(r"[0-9a-f]{64}")
_FIELDS = {"format", "algorithm", "digest_algorithm", "digest", "signature", "public_key_sha256", "files"}


class SignatureError(UnsafeModelError):
    """A signature is missing, malformed, from another key or over different content; or signing
    cannot run (no ``cryptography``, unreadable key)."""


def _sig_fail(where: object, problem: str) -> SignatureError:
    return SignatureError(str(_fail(where, problem)))


def _crypto() -> tuple[Any, Any, Any]:
    """(ed25519 module, serialization module, InvalidSignature), imported only when signing is used."""
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:
        raise SignatureError("signed versions need the 'cryptography' package: pip install cryptography "
                             "(or pip install 'artclf[signing]')") from None
    return ed25519, serialization, InvalidSignature


def canonical_digest(files: Mapping[str, bytes]) -> str:
    """The version-1 digest (see the module docstring) of ``{name: bytes}``, signature.json excluded."""
    entries = "".join(f"{name}\0{sha256_hex(files[name])}\n"
                      for name in sorted(n for n in files if n != SIGNATURE_FILE))
    return sha256_hex(entries.encode("utf-8"))


def _message(digest: str) -> bytes:
    return _DOMAIN + digest.encode("ascii")


def _raw_public_bytes(public_key: Any) -> bytes:
    _, serialization, _ = _crypto()
    raw: bytes = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw


def _read_key_file(path: Path) -> bytes:
    # Key files are small; bound the read so a wrong path (a device, a huge file) fails fast.
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_KEY_BYTES + 1)
    except OSError as exc:
        raise _sig_fail(path, f"cannot read the key file ({exc.strerror or exc}); check the path") from None
    if len(data) > MAX_KEY_BYTES:
        raise _sig_fail(path, f"is over {MAX_KEY_BYTES} bytes, not a key file; pass a PEM key")
    return data


def _load_private_key(path: str | os.PathLike[str], password: bytes | None) -> Any:
    ed25519, serialization, _ = _crypto()
    path = Path(path)
    data = _read_key_file(path)
    try:
        key = serialization.load_pem_private_key(data, password=password)
    except TypeError:
        raise _sig_fail(path, "the private key is encrypted; pass its password (or it is not encrypted and a "
                              "password was given)") from None
    except (ValueError, binascii.Error):
        # cryptography's own message is multi-line prose with a URL; ours says what to do.
        raise _sig_fail(path, "not a readable PEM private key; the file is truncated or not a key; "
                              "generate one with generate_keypair") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise _sig_fail(path, f"holds a key of type {type(key).__name__}, not an Ed25519 private key; "
                              "generate one with generate_keypair")
    return key


def _load_public_key(source: str | os.PathLike[str] | bytes) -> tuple[Any, str]:
    """(key, where) from a path to a PEM file, PEM bytes, or the raw 32 public-key bytes."""
    ed25519, serialization, _ = _crypto()
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, where = bytes(source), "public key"
        if len(data) == 32 and not data.startswith(b"-----"):
            return ed25519.Ed25519PublicKey.from_public_bytes(data), where
    else:
        where = str(source)
        data = _read_key_file(Path(source))
    if b"PRIVATE KEY" in data:
        raise _sig_fail(where, "is a private key; pass the public key (keep the private key with the publisher)")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, binascii.Error, TypeError):
        raise _sig_fail(where, "not a readable PEM public key; the file is truncated or not a key; "
                               "pass the .pub.pem written by generate_keypair") from None
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise _sig_fail(where, f"holds a key of type {type(key).__name__}, not an Ed25519 public key")
    return key, where


def public_key_fingerprint(public_key: str | os.PathLike[str] | bytes) -> str:
    """sha256 hex of the raw 32-byte Ed25519 public key (what signature.json records)."""
    key, _ = _load_public_key(public_key)
    return sha256_hex(_raw_public_bytes(key))


def generate_keypair(private_path: str | os.PathLike[str], public_path: str | os.PathLike[str],
                     *, password: bytes | None = None) -> str:
    """Write a new Ed25519 key pair as PEM and return the public key's fingerprint.

    The private key file is created with mode 0600 (never world- or group-readable, even for a
    moment: the mode is set at creation) and is never overwritten: losing a signing key silently
    would orphan every version it signed. ``password`` encrypts the private key PEM.
    """
    ed25519, serialization, _ = _crypto()
    private_path, public_path = Path(private_path), Path(public_path)
    key = ed25519.Ed25519PrivateKey.generate()
    encryption = (serialization.BestAvailableEncryption(password) if password
                  else serialization.NoEncryption())
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    for path, data, mode in ((private_path, private_pem, 0o600), (public_path, public_pem, 0o644)):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), mode)
        except FileExistsError:
            raise _sig_fail(path, "already exists; refusing to overwrite a key; choose another path") from None
        except OSError as exc:
            raise _sig_fail(path, f"cannot create the key file ({exc.strerror or exc})") from None
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)  # the umask may have cleared bits of a 0644 public key
            handle.write(data)
    return sha256_hex(_raw_public_bytes(key.public_key()))


def _version_file_names(folder: Path) -> list[str]:
    """The files to sign: every regular file of the folder except signature.json and hidden
    files (a ``.tmp-*`` left by an interrupted write must not become part of the signed set),
    sorted. Symlinks and non-regular entries are refused."""
    names = _all_names(folder)
    check_folder_entries(folder, listed=(), allowed_extra=names)
    return sorted(n for n in names if n != SIGNATURE_FILE and not n.startswith("."))


def _all_names(folder: Path) -> list[str]:
    try:
        return [entry.name for entry in os.scandir(folder)]
    except OSError as exc:
        raise _sig_fail(folder, f"cannot list the version folder ({exc.strerror or exc})") from None


def sign_version(folder: str | os.PathLike[str], private_key_path: str | os.PathLike[str],
                 *, password: bytes | None = None) -> Path:
    """Sign every file of a version folder (manifest included) and write ``signature.json``.

    Refuses a folder with symlinks or non-regular entries, one without ``manifest.json``, and one
    whose files do not match the sha256 in its manifest (signing a damaged version would bless the
    damage). An existing signature.json is replaced atomically. Returns its path.
    """
    folder = Path(folder)
    key = _load_private_key(private_key_path, password)
    names = _version_file_names(folder)
    if MANIFEST_FILE not in names:
        raise _sig_fail(folder, f"has no {MANIFEST_FILE}; only version folders written by artclf can be signed")
    files = read_version_files(folder, names)
    manifest = parse_json_bounded(files[MANIFEST_FILE], where=folder / MANIFEST_FILE, max_bytes=MAX_MANIFEST_BYTES)
    listed = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(listed, dict) or not listed:
        raise _sig_fail(folder / MANIFEST_FILE, "has no 'files' object; refusing to sign a malformed version")
    for name, entry in listed.items():
        check_file_name(name, where=folder / MANIFEST_FILE)
        expected = entry.get("sha256") if isinstance(entry, dict) else None
        if name not in files:
            raise _sig_fail(folder / name, "is listed in the manifest but missing; refusing to sign a damaged version")
        if expected != sha256_hex(files[name]):
            raise _sig_fail(folder / name, "does not match its sha256 in the manifest; refusing to sign a damaged "
                                           "or altered version; re-save it")
    digest = canonical_digest(files)
    signature = key.sign(_message(digest))
    record = {
        "format": SIGNATURE_FORMAT,
        "algorithm": "ed25519",
        "digest_algorithm": "sha256",
        "digest": digest,
        "signature": base64.b64encode(signature).decode("ascii"),
        "public_key_sha256": sha256_hex(_raw_public_bytes(key.public_key())),
        "files": {name: sha256_hex(files[name]) for name in names},
    }
    target = folder / SIGNATURE_FILE
    # Written beside the target and renamed: a reader never sees half a signature.json.
    fd, tmp = tempfile.mkstemp(prefix=".tmp-signature-", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(record, handle, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except OSError as exc:
        raise _sig_fail(target, f"cannot write the signature ({exc.strerror or exc}); check permissions") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def _parse_signature(data: bytes, where: Path) -> dict[str, Any]:
    def malformed(problem: str) -> SignatureError:
        return _sig_fail(where, f"malformed signature file: {problem}; re-sign the version with "
                                "`artclf models sign REF --key PRIVATE_KEY`")

    try:
        record = parse_json_bounded(data, where=where, max_bytes=MAX_SIGNATURE_BYTES, max_depth=4)
    except SignatureError:
        raise
    except UnsafeModelError as exc:
        # Keep the parser's problem, drop its "re-save" advice: the fix here is to re-sign.
        raise malformed(str(exc).split(": ", 1)[-1].split("; re-save")[0]) from None
    if not isinstance(record, dict):
        raise malformed("not a JSON object")
    missing = sorted(_FIELDS - set(record))
    if missing:
        raise malformed(f"missing field(s) {', '.join(missing)}")
    if record["format"] != SIGNATURE_FORMAT or isinstance(record["format"], bool):
        raise malformed(f"format {record['format']!r} is not {SIGNATURE_FORMAT}")
    if record["algorithm"] != "ed25519" or record["digest_algorithm"] != "sha256":
        raise malformed(f"algorithm {record['algorithm']!r}/{record['digest_algorithm']!r}, expected ed25519/sha256")
    for field in ("digest", "public_key_sha256"):
        if not isinstance(record[field], str) or not _HEX64.fullmatch(record[field]):
            raise malformed(f"{field} is not 64 lowercase hex digits")
    try:
        raw = base64.b64decode(record["signature"], validate=True) if isinstance(record["signature"], str) else b""
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 64:
        raise malformed("signature is not base64 of 64 bytes")
    record["signature"] = raw
    files = record["files"]
    if not isinstance(files, dict) or not files:
        raise malformed("files is not a non-empty object of name -> sha256")
    for name, value in files.items():
        try:
            check_file_name(name, where=where)
        except UnsafeModelError:
            raise malformed(f"file name {name[:80]!r} is not a plain file name") from None
        if not isinstance(value, str) or not _HEX64.fullmatch(value):
            raise malformed(f"sha256 of {name[:80]!r} is not 64 lowercase hex digits")
    if MANIFEST_FILE not in files or SIGNATURE_FILE in files:
        raise malformed(f"files must include {MANIFEST_FILE} and not {SIGNATURE_FILE}")
    return record


def verify_version(folder: str | os.PathLike[str], files: Mapping[str, bytes],
                   public_key_path_or_bytes: str | os.PathLike[str] | bytes) -> None:
    """Refuse the version unless its signature verifies under the given public key.

    ``files`` are the bytes the loader already read (manifest.json and every file it will
    deserialize; signature.json too if it read it) and are not read again. Files the signature
    covers that the loader did not read (e.g. MODEL_CARD.md) are read once here, bounded. Every
    file in ``files`` must be covered by the signature. Distinct one-line refusals: no
    signature.json; a malformed one; a signature by another key; a signature that does not verify;
    a valid signature over different content (naming the changed file); a file not covered.
    """
    folder = Path(folder)
    key, key_where = _load_public_key(public_key_path_or_bytes)
    _, _, InvalidSignature = _crypto()
    where = folder / SIGNATURE_FILE
    signature_bytes = files.get(SIGNATURE_FILE)
    if signature_bytes is None:
        if not os.path.lexists(where):
            raise _sig_fail(where, "the version is not signed but a public key is configured; refusing to load it; "
                                   "sign it with `artclf models sign REF --key PRIVATE_KEY` or load without a "
                                   "public key")
        try:
            signature_bytes = read_version_files(folder, [SIGNATURE_FILE],
                                                 max_bytes_per_file=MAX_SIGNATURE_BYTES)[SIGNATURE_FILE]
        except UnsafeModelError as exc:
            raise SignatureError(str(exc)) from None
    record = _parse_signature(signature_bytes, where)
    if MANIFEST_FILE not in files:
        raise _sig_fail(folder / MANIFEST_FILE, "was not passed to verify_version; the loader must verify the manifest "
                                                "bytes it parsed")
    fingerprint = sha256_hex(_raw_public_bytes(key))
    if record["public_key_sha256"] != fingerprint:
        raise _sig_fail(where, f"signed by another key (fingerprint {record['public_key_sha256'][:16]}..., the "
                               f"configured key {key_where} is {fingerprint[:16]}...); refusing to load it")
    signed_names = set(record["files"])
    provided = {name: data for name, data in files.items() if name != SIGNATURE_FILE}
    uncovered = sorted(set(provided) - signed_names)
    if uncovered:
        raise _sig_fail(folder / uncovered[0], "is not covered by the signature; refusing to load it; re-sign the version")
    extra = sorted(signed_names - set(provided))
    if extra:
        gone = [name for name in extra if not os.path.lexists(folder / name)]
        if gone:
            raise _sig_fail(folder / gone[0], "is covered by the signature but missing (removed since the version was "
                                              "signed); refusing to load it; restore the signed files or re-sign")
        # Covered by the signature but not used by the loader: read once, bounded, only to hash.
        try:
            provided.update(read_version_files(folder, extra))
        except UnsafeModelError as exc:
            raise SignatureError(str(exc)) from None
    digest = canonical_digest(provided)
    try:
        key.verify(record["signature"], _message(digest))
        return
    except InvalidSignature:
        pass
    # Refused. Work out which refusal to report (the diagnosis never accepts anything).
    try:
        key.verify(record["signature"], _message(record["digest"]))
        signature_valid_for_record = True
    except InvalidSignature:
        signature_valid_for_record = False
    if signature_valid_for_record:
        changed = sorted(n for n in provided if sha256_hex(provided[n]) != record["files"].get(n))
        shown = ", ".join(changed[:5]) + (", ..." if len(changed) > 5 else "") if changed else "the signed file list"
        raise _sig_fail(folder, f"{shown} changed since the version was signed (the signature is valid but over "
                                "different content); refusing to load it; restore the signed files or re-sign")
    raise _sig_fail(where, "the signature does not verify under the configured key (signature.json was altered "
                           "or forged); refusing to load it")
