"""Attack suite (issue 17): crafted version folders, each built from a real trained version.

For each attack: through the Python API, the exception type and a one-line message naming the
file; through the real CLI in a subprocess (`artclf predict --model FOLDER "Gas talks"`), one
`error:` line on stderr, nothing on stdout, a non-zero exit, no traceback. And the marker file that
the exploit would create never exists.

The CLI runs of all attacks start together (one module fixture) so the suite stays fast.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import shutil
import subprocess
import sys
import threading
import zipfile
from pathlib import Path
from typing import Any, Callable

import pytest

from helpers import CLI, edit_manifest, rehash
from artclf._safe_io import MAX_MANIFEST_BYTES
from artclf.errors import ArtclfError, ModelIntegrityError, UnsafeModelError
from artclf.signing import SignatureError, generate_keypair, sign_version
from train.store.load import load_model

TEXT = "Gas talks"


class Exploit:
    """A pickle that creates ``marker`` when unpickled (what `os.system` would do, harmlessly)."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (self.marker, "w"))


def evil_pickle(marker: Path) -> bytes:
    return pickle.dumps(Exploit(marker))


def copy_version(trained: dict[str, Path], dest: Path) -> Path:
    shutil.copytree(trained["version"], dest)
    return dest


def drop_skops_entries(m: dict[str, Any]) -> None:
    m["files"] = {k: v for k, v in m["files"].items() if not k.endswith(".skops")}


def to_format_1(m: dict[str, Any]) -> None:
    """What the format-1 writer wrote: two joblib files and a manifest without canaries."""
    m["format_version"] = 1
    m.pop("canaries", None)
    m.pop("integrity", None)
    drop_skops_entries(m)


def joblib_only(folder: Path) -> Path:
    """A genuine format-1 folder (what `trust_pickle` exists for)."""
    for name in ("topic.skops", "tone.skops", "MODEL_CARD.md"):
        (folder / name).unlink()
    edit_manifest(folder, to_format_1)
    return folder


# --- the crafted folders --------------------------------------------------------------------------
# Each builder gets (version copy, marker, keys) and returns the options the load is given:
# {"public_key": path, "trust_pickle": bool}.

def downgrade(folder: Path, marker: Path, keys: dict[str, Path]) -> dict[str, Any]:
    """(a) Issue 17's exploit: evil topic.joblib, .skops entries deleted, hashes and integrity resealed."""
    (folder / "topic.joblib").write_bytes(evil_pickle(marker))
    for name in ("topic.skops", "tone.skops"):
        (folder / name).unlink()
    edit_manifest(folder, drop_skops_entries)
    rehash(folder)
    return {}


def downgrade_skops_left(folder: Path, marker: Path, keys: dict[str, Path]) -> dict[str, Any]:
    """(a') The same, but the .skops files stay in the folder, unlisted."""
    (folder / "topic.joblib").write_bytes(evil_pickle(marker))
    edit_manifest(folder, drop_skops_entries)
    rehash(folder)
    return {}


def format_1(folder: Path, marker: Path, keys: dict[str, Path]) -> dict[str, Any]:
    """(b) Downgrade by format: "format_version": 1 and only joblib files."""
    joblib_only(folder)
    (folder / "topic.joblib").write_bytes(evil_pickle(marker))
    rehash(folder)
    return {}


def symlink_out(folder: Path, marker: Path, keys: dict[str, Path]) -> dict[str, Any]:
    """(d) A listed file replaced by a symlink to a file outside the folder (same bytes, so the
    hash matches: only the symlink check stands in the way)."""
    outside = folder.parent / f"{folder.name}-outside.skops"
    shutil.copyfile(folder / "topic.skops", outside)
    (folder / "topic.skops").unlink()
    (folder / "topic.skops").symlink_to(outside)
    return {}


def traversal(folder: Path, marker: Path, keys: dict[str, Path]) -> dict[str, Any]:
    """(e) A manifest entry that leaves the folder, pointing at an evil pickle next to it."""
    outside = folder.parent / f"{folder.name}-evil.joblib"
    outside.write_bytes(evil_pickle(marker))
    import hashlib

    digest = hashlib.sha256(outside.read_bytes()).hexdigest()

    def change(m: dict[str, Any]) -> None:
        drop_skops_entries(m)
        m["files"].pop("topic.joblib")
        m["files"][f"../{outside.name}"] = {"sha256": digest, "bytes": outside.stat().st_size}
    for name in ("topic.skops", "tone.skops", "topic.joblib"):
        (folder / name).unlink()
    edit_manifest(folder, change)
    return {"trust_pickle": True}  # even with the opt-in: a name that leaves the folder is never read


def zip_bomb(folder: Path, marker: Path, keys: dict[str, Path]) -> dict[str, Any]:
    """(f) topic.skops replaced by an archive whose schema.json inflates ~1000:1 (rehashed)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("schema.json", b" " * (4 * 1024 * 1024))
    (folder / "topic.skops").write_bytes(buffer.getvalue())
    rehash(folder)
    return {}


def huge_manifest(folder: Path, marker: Path, keys: dict[str, Path]) -> dict[str, Any]:
    """(g) A manifest one byte over the cap (a valid JSON object, resealed)."""
    edit_manifest(folder, lambda m: m["training"].update(padding="x" * MAX_MANIFEST_BYTES))
    return {}


def deep_manifest(folder: Path, marker: Path, keys: dict[str, Path]) -> dict[str, Any]:
    """(h) A manifest nested 100,000 levels deep (json.loads would hit RecursionError)."""
    (folder / "manifest.json").write_text('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}")
    return {}


def mistyped(change: Callable[[dict[str, Any]], None]) -> Callable[..., dict[str, Any]]:
    """(i) A manifest field of the wrong type, resealed so only the schema check can catch it."""
    def build(folder: Path, marker: Path, keys: dict[str, Path]) -> dict[str, Any]:
        edit_manifest(folder, change)
        return {}
    return build


def labels_mismatch(change: Callable[[dict[str, Any]], None]) -> Callable[..., dict[str, Any]]:
    """(j) Label names that do not describe the estimators (canaries off: the label check alone)."""
    def build(folder: Path, marker: Path, keys: dict[str, Path]) -> dict[str, Any]:
        edit_manifest(folder, change)
        return {"check_canaries": False}
    return build


def signed_other_content(folder: Path, marker: Path, keys: dict[str, Path]) -> dict[str, Any]:
    """(k) A valid signature, then issue 17's downgrade: even with --trust-pickle, the signature
    check (before any deserializing) refuses it."""
    sign_version(folder, keys["private"])
    downgrade(folder, marker, keys)
    return {"public_key": keys["public"], "trust_pickle": True}


def signed_then_edited(folder: Path, marker: Path, keys: dict[str, Path]) -> dict[str, Any]:
    """(k') A valid signature, then a threshold edited in the manifest (integrity record resealed)."""
    sign_version(folder, keys["private"])
    edit_manifest(folder, lambda m: m.update(topic_scores=m.get("topic_scores", "") + " (edited)"))
    return {"public_key": keys["public"]}


def signed_by_other_key(folder: Path, marker: Path, keys: dict[str, Path]) -> dict[str, Any]:
    """(l) Signed, correctly, by a key that is not the configured one."""
    sign_version(folder, keys["other_private"])
    return {"public_key": keys["public"]}


def unsigned_with_key(folder: Path, marker: Path, keys: dict[str, Path]) -> dict[str, Any]:
    """(m) No signature.json while a public key is configured."""
    return {"public_key": keys["public"]}


def _labels_drop_topic(m: dict[str, Any]) -> None:
    m["labels"]["topics"] = m["labels"]["topics"][:-1]


def _labels_rename_tone(m: dict[str, Any]) -> None:
    m["labels"]["tone"] = ["good" if t == "positive" else t for t in m["labels"]["tone"]]


def _labels_duplicate(m: dict[str, Any]) -> None:
    m["labels"]["topics"] = [m["labels"]["topics"][0]] * len(m["labels"]["topics"])


# name -> (builder, exception type, fragments of the message)
ATTACKS: dict[str, tuple[Callable[..., dict[str, Any]], type[Exception], tuple[str, ...]]] = {
    "a downgrade by omission": (downgrade, UnsafeModelError, ("offers only pickle for tone.joblib, topic.joblib (its manifest lists no .skops",
                                                              "--trust-pickle",
                                                              "trust_pickle=True")),
    "a downgrade, skops files left": (downgrade_skops_left, UnsafeModelError,
                                      ("topic.skops: is a model file the manifest does not list",)),
    "b format 1": (format_1, UnsafeModelError, ("offers only pickle for tone.joblib, topic.joblib (format 1",
                                                "--trust-pickle")),
    "d symlink out of the folder": (symlink_out, UnsafeModelError, ("topic.skops: is a symbolic link",)),
    "e traversal in a file name": (traversal, UnsafeModelError, ("contains a path separator",)),
    "f zip bomb": (zip_bomb, UnsafeModelError, ("topic.skops: archive entry 'schema.json' compresses", "zip bomb")),
    "g huge manifest": (huge_manifest, UnsafeModelError, ("manifest.json: is over the", "cap")),
    "h deeply nested manifest": (deep_manifest, UnsafeModelError, ("manifest.json: nests", "levels deep")),
    "i labels not lists": (mistyped(lambda m: m.update(labels={"topics": "energy", "tone": []})), ModelIntegrityError,
                           ("manifest.json: 'labels' must be",)),
    "i sha256 a number": (mistyped(lambda m: m["files"]["topic.skops"].update(sha256=7)), ModelIntegrityError,
                          ("manifest.json: 'files' must be",)),
    "i format a string": (mistyped(lambda m: m.update(format_version="3")), ModelIntegrityError,
                          ('manifest.json: model format "3" is not readable',)),
    "i files a list": (mistyped(lambda m: m.update(files=["topic.skops"])), ModelIntegrityError,
                       ("manifest.json: 'files' must be",)),
    "j one topic label short": (labels_mismatch(_labels_drop_topic), ModelIntegrityError,
                                ("topic labels but topic.skops has 3 outputs", "do not match the estimators")),
    "j tone label renamed": (labels_mismatch(_labels_rename_tone), ModelIntegrityError,
                             ("tone.skops predicts tone positive", "do not match the estimators")),
    "j topic labels repeated": (labels_mismatch(_labels_duplicate), ModelIntegrityError,
                                ("the topic labels repeat a name",)),
    "k signature, then the downgrade": (signed_other_content, SignatureError,
                                        ("is covered by the signature but missing", "since the version was signed")),
    "k signature, then manifest edited": (signed_then_edited, SignatureError,
                                          ("manifest.json changed since the version was signed",)),
    "l signature from another key": (signed_by_other_key, SignatureError, ("signed by another key",)),
    "m no signature, key configured": (unsigned_with_key, SignatureError, ("the version is not signed",)),
}


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("keys")
    generate_keypair(root / "ours.pem", root / "ours.pub.pem")
    generate_keypair(root / "theirs.pem", root / "theirs.pub.pem")
    return {"private": root / "ours.pem", "public": root / "ours.pub.pem", "other_private": root / "theirs.pem"}


def build(name: str, trained: dict[str, Path], root: Path, keys: dict[str, Path]) -> tuple[Path, Path, dict[str, Any]]:
    slug = name.replace(" ", "-").replace(",", "")
    folder = copy_version(trained, root / slug / "v1")
    marker = root / slug / "MARKER"
    options = ATTACKS[name][0](folder, marker, keys)
    return folder, marker, options


def cli_args(folder: Path, options: dict[str, Any]) -> list[str]:
    args = ["predict", "--model", str(folder), TEXT]
    if options.get("trust_pickle"):
        args.append("--trust-pickle")
    if options.get("public_key"):
        args += ["--public-key", str(options["public_key"])]
    return args


@pytest.fixture(scope="module")
def cli_results(trained, keys, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every attack through the real CLI, all subprocesses started at once."""
    root = tmp_path_factory.mktemp("attacks-cli")
    started = {}
    for name in ATTACKS:
        folder, marker, options = build(name, trained, root, keys)
        proc = subprocess.Popen([sys.executable, "-c", CLI, *cli_args(folder, options)], cwd=root,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        started[name] = (proc, folder, marker)
    results = {}
    for name, (proc, folder, marker) in started.items():
        out, err = proc.communicate(timeout=300)
        results[name] = (proc.returncode, out, err, folder, marker)
    return results


def assert_cli_refused(returncode: int, out: str, err: str, *fragments: str) -> str:
    assert returncode != 0, (out, err)
    assert out == "", out
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("name", list(ATTACKS))
def test_attack_is_refused_by_the_api(name, trained, keys, tmp_path):
    _, kind, fragments = ATTACKS[name]
    folder, marker, options = build(name, trained, tmp_path, keys)
    with pytest.raises(ArtclfError) as info:
        load_model(str(folder), **options)
    message = str(info.value)
    assert isinstance(info.value, kind), (type(info.value), message)
    assert "\n" not in message and str(folder.parent) in message, message
    for fragment in fragments:
        assert fragment in message, message
    assert not marker.exists()


@pytest.mark.parametrize("name", list(ATTACKS))
def test_attack_is_refused_by_the_runtime(name, trained, keys, tmp_path):
    """The same folders through the numpy runtime apps import (``artclf.load_model``), which has
    no pickle opt-in at all: even with --trust-pickle given to the CLI it never unpickles."""
    import artclf

    folder, marker, options = build(name, trained, tmp_path, keys)
    with pytest.raises(ArtclfError) as info:
        artclf.load_model(str(folder), public_key=options.get("public_key"))
    message = str(info.value)
    assert "\n" not in message and str(folder.parent) in message, message
    assert not marker.exists()


@pytest.mark.parametrize("name", list(ATTACKS))
def test_attack_is_refused_by_the_cli(name, cli_results):
    returncode, out, err, folder, marker = cli_results[name]
    # The CLI answers through the numpy runtime, which checks labels against its own files and
    # words that refusal its own way; every other refusal is the same line as the API's.
    fragments = ("labels", "do not match the model files") if name.startswith("j ") else ATTACKS[name][2]
    line = assert_cli_refused(returncode, out, err, *fragments)
    assert str(folder.parent) in line
    assert not marker.exists()


def test_the_downgrade_runs_code_when_pickle_is_trusted(trained, tmp_path, capfd):
    """The control experiment: the crafted folder really is an exploit, so the refusals above
    are what protects us; `trust_pickle` is exactly as dangerous as documented."""
    folder = copy_version(trained, tmp_path / "v1")
    marker = tmp_path / "MARKER"
    downgrade(folder, marker, {})
    with pytest.raises(ArtclfError, match="cannot load the model"):
        load_model(str(folder), trust_pickle=True)
    assert marker.exists()
    assert "warning: " in capfd.readouterr().err


# --- (c) TOCTOU: a file swapped while the load runs ----------------------------------------------

def swap_in(source: Path, target: Path) -> None:
    """Atomically put a copy of ``source`` at ``target`` (a hard link renamed over it)."""
    staging = source.parent / f".{source.name}.{threading.get_ident()}"
    os.link(source, staging)
    os.replace(staging, target)


@pytest.fixture
def racing(trained, tmp_path):
    """A genuine joblib-only folder (loaded with trust_pickle) plus the evil and genuine versions of
    topic.joblib kept outside it, for a swapper to alternate."""
    folder = joblib_only(copy_version(trained, tmp_path / "v1"))
    marker = tmp_path / "MARKER"
    spare = tmp_path / "spare"
    spare.mkdir()
    shutil.copyfile(folder / "topic.joblib", spare / "genuine.joblib")
    (spare / "evil.joblib").write_bytes(evil_pickle(marker))
    return folder, marker, spare


def test_toctou_swap_after_reading_is_never_seen(racing, monkeypatch):
    """The file is swapped for the exploit right after it was read (where the old loader hashed by
    path and then unpickled by path): the load uses the bytes it hashed."""
    import train.store.load as loader

    folder, marker, spare = racing
    real = loader.read_version_files

    def read_then_swap(*args: Any, **kwargs: Any) -> dict[str, bytes]:
        data = real(*args, **kwargs)
        swap_in(spare / "evil.joblib", folder / "topic.joblib")
        return data

    monkeypatch.setattr(loader, "read_version_files", read_then_swap)
    model = load_model(str(folder), trust_pickle=True)
    assert model.classify([TEXT])
    assert not marker.exists()
    monkeypatch.undo()
    with pytest.raises(UnsafeModelError, match=r"topic.joblib: sha256 is [0-9a-f]{12}\.\.\., the manifest says"):
        load_model(str(folder), trust_pickle=True)
    assert not marker.exists()


def _swapper(spare: Path, target: Path, stop: threading.Event) -> None:
    while not stop.is_set():
        swap_in(spare / "evil.joblib", target)
        swap_in(spare / "genuine.joblib", target)


def test_toctou_racing_thread_api(racing):
    """A thread swaps topic.joblib between the genuine file and the exploit as fast as it can
    while loads run: each load either uses the genuine bytes or is refused by their hash."""
    folder, marker, spare = racing
    stop = threading.Event()
    thread = threading.Thread(target=_swapper, args=(spare, folder / "topic.joblib", stop))
    thread.start()
    outcomes = set()
    try:
        for _ in range(15):
            try:
                load_model(str(folder), trust_pickle=True, check_canaries=False)
                outcomes.add("loaded genuine")
            except UnsafeModelError as exc:
                assert "sha256 is" in str(exc) and "\n" not in str(exc), exc
                outcomes.add("refused")
    finally:
        stop.set()
        thread.join()
    assert outcomes and not marker.exists()


def test_toctou_racing_thread_cli(racing):
    folder, marker, spare = racing
    stop = threading.Event()
    thread = threading.Thread(target=_swapper, args=(spare, folder / "topic.joblib", stop))
    thread.start()
    try:
        proc = subprocess.run([sys.executable, "-c", CLI, "predict", "--model", str(folder), "--trust-pickle", TEXT],
                              capture_output=True, text=True, timeout=300, cwd=folder.parent)
    finally:
        stop.set()
        thread.join()
    assert "Traceback" not in proc.stderr and not marker.exists()
    if proc.returncode:
        assert_cli_refused(proc.returncode, proc.stdout, proc.stderr, "topic.joblib: sha256 is")
    else:
        assert json.loads(proc.stdout)["topics"] is not None


# --- what the opt-ins allow -------------------------------------------------------------------------

def test_trust_pickle_loads_a_genuine_joblib_only_folder_with_one_warning(trained, tmp_path):
    folder = joblib_only(copy_version(trained, tmp_path / "v1"))
    refused = subprocess.run([sys.executable, "-c", CLI, "predict", "--model", str(folder), TEXT],
                             capture_output=True, text=True, timeout=300)
    assert_cli_refused(refused.returncode, refused.stdout, refused.stderr, "offers only pickle", "--trust-pickle")
    proc = subprocess.run([sys.executable, "-c", CLI, "predict", "--model", str(folder), "--trust-pickle", TEXT],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["topics"] == load_model(str(trained["version"])).classify([TEXT])[0]["topics"]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("warning: "), proc.stderr
    assert "topic.joblib, tone.joblib" in lines[0] and "pickle runs any code" in lines[0]


def test_prefer_joblib_needs_trust_pickle(trained, capfd):
    with pytest.raises(ArtclfError, match=r"prefer='joblib' unpickles .*pass trust_pickle=True"):
        load_model(str(trained["version"]), prefer="joblib")
    assert load_model(str(trained["version"]), prefer="joblib", trust_pickle=True).classify([TEXT])
    assert capfd.readouterr().err.count("warning: ") == 1
    # With skops files present, trust_pickle alone unpickles nothing and says nothing.
    load_model(str(trained["version"]), trust_pickle=True)
    assert "warning" not in capfd.readouterr().err


def test_a_signed_version_loads_with_its_key_through_api_and_cli(trained, keys, tmp_path):
    folder = copy_version(trained, tmp_path / "v1")
    result = subprocess.run([sys.executable, "-c", CLI, "models", "sign", str(folder), "--key", str(keys["private"])],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "signature.json" in result.stdout, result.stderr
    assert load_model(str(folder), public_key=keys["public"]).classify([TEXT])
    proc = subprocess.run([sys.executable, "-c", CLI, "predict", "--model", str(folder), "--public-key",
                           str(keys["public"]), TEXT], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and json.loads(proc.stdout), proc.stderr


def test_missing_cryptography_is_one_line(trained, keys, monkeypatch):
    for module in [m for m in sys.modules if m == "cryptography" or m.startswith("cryptography.")]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setitem(sys.modules, "cryptography", None)
    with pytest.raises(SignatureError) as info:
        load_model(str(trained["version"]), public_key=keys["public"])
    assert "pip install 'artclf[signing]'" in str(info.value) and "\n" not in str(info.value)


def test_keygen_sign_and_evaluate_options_in_process(trained, tmp_path):
    from helpers import assert_one_error, invoke

    private, public = tmp_path / "k.pem", tmp_path / "k.pub.pem"
    result = invoke("models", "keygen", private, public)
    assert result.exit_code == 0 and "public key sha256" in result.output, result.output
    assert private.stat().st_mode & 0o077 == 0
    assert_one_error(invoke("models", "keygen", private, public), "already exists; refusing to overwrite a key")
    folder = joblib_only(copy_version(trained, tmp_path / "v1"))
    assert_one_error(invoke("evaluate", folder, "--json"), "offers only pickle", "--trust-pickle")
    assert_one_error(invoke("evaluate", folder, "--json", "--trust-pickle", "--public-key", public),
                     "the version is not signed")
    assert invoke("models", "sign", folder, "--key", private).exit_code == 0
    result = invoke("evaluate", folder, "--json", "--trust-pickle", "--public-key", public)
    assert result.exit_code == 0 and json.loads(result.output.splitlines()[-1])["n"] > 0, result.output
