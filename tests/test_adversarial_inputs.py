"""Adversarial article files: every input yields a parsed article or one clear per-file error,
never a traceback or a hang. Property tests run a bounded, derandomized sample (the profile in
conftest.py); the 50 MB line and the 10,000-file folder are marked slow, with small versions here."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from train.cli import app
from train.config import load_config
from train.data.dataset import build_dataset
from artclf.errors import ArtclfError
from train.data.parse import parse_article, read_article

from helpers import assert_one_error

# Pieces that trip parsers: encodings marks, line ends, NUL, bidi controls, emoji, dates that
# cannot exist, datelines, boilerplate, and Unicode line separators that str.splitlines honours.
PIECES = [
    "\ufeff", "\r\n", "\r", "\n", "\n\n", "\x00", " ", "\t", "\x0c", "\x85", "\u2028", "\u2029",
    "Title", "Oil talks", "MOSCOW, March 3. /TASS/. ", "TOKYO (Reuters) - ", "World March 30, 2020",
    "February 30, 2020", "2021-13-45", "Read more on the site →", "Reuter", "©", "\u202e", "\u200f",
    "مرحبا بالعالم", "שלום", "😀👍🏽", "é", "e\u0301", "\ud7ff", "A" * 200,
]


def _check_bytes(data: bytes, tmp: Path) -> None:
    """The contract for one article file's bytes."""
    path = tmp / "article.txt"
    path.write_bytes(data)
    try:
        article = read_article(path)
    except ArtclfError as exc:
        message = str(exc)
        assert message.startswith(str(path)) and "\n" not in message, message
        return
    assert article.title.strip() and article.body.strip()
    assert "\x00" not in article.text and "\r" not in article.text


@given(data=st.binary(max_size=2000))
def test_random_bytes_parse_or_fail_clearly(data, tmp_path_factory):
    _check_bytes(data, tmp_path_factory.mktemp("bytes"))


@given(pieces=st.lists(st.sampled_from(PIECES), max_size=40), encoding=st.sampled_from(["utf-8", "utf-16", "latin-1", "cp1252"]))
@settings(max_examples=150)
def test_structured_noise_in_any_encoding_parses_or_fails_clearly(pieces, encoding, tmp_path_factory):
    data = "".join(pieces).encode(encoding, errors="replace")
    _check_bytes(data, tmp_path_factory.mktemp("noise"))


@given(text=st.text(max_size=3000))
@settings(max_examples=150)
def test_any_unicode_text_parses_or_fails_clearly(text, tmp_path_factory):
    _check_bytes(text.encode("utf-8", errors="surrogatepass"), tmp_path_factory.mktemp("text"))


@pytest.mark.parametrize(
    "raw, outcome",
    [
        ("", "empty article"),
        (" \n\t\r\n  \n\r", "empty article"),
        ("\ufeff\x00\x00", "empty article"),
        ("Title only", "has a title but no body"),
        ("\n\n\nBody without a title line", "has a title but no body"),
        ("Read more on the site →\n\nReuter", "holds only site boilerplate"),
        ("Title\n\nWorld February 30, 2020\n\nBody text.", None),  # impossible date: kept as text
        ("Title\r\rBody after lone CRs\r", None),
        ("\ufeffTitle\r\n\r\nBody after CRLF", None),
        ("عنوان\n\nنص المقال بالعربية 😀", None),
    ],
)
def test_edge_articles(raw, outcome):
    if outcome is None:
        article = parse_article(raw, "x")
        assert article.title and article.body and article.published is None
    else:
        with pytest.raises(ArtclfError, match=outcome):
            parse_article(raw, "x", "some.txt")


def _single_line(n_bytes: int) -> str:
    word = "pipeline "
    return "Huge\n\n" + word * (n_bytes // len(word))


def test_a_2mb_single_line_article_parses(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text(_single_line(2_000_000))
    assert len(read_article(path).body) >= 1_900_000


@pytest.mark.slow
def test_a_50mb_single_line_article_parses(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text(_single_line(50_000_000))
    assert len(read_article(path).body) >= 49_000_000


def _run(*args: object):
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result, result.output


def add_labeled(corpus: dict[str, Path], name: bytes | str, data: bytes) -> Path:
    seeds = os.fsencode(corpus["seeds"])
    raw_name = name if isinstance(name, bytes) else name.encode()
    path = Path(os.fsdecode(os.path.join(seeds, raw_name)))
    path.write_bytes(data)
    with corpus["labels"].open("a", encoding="utf-8", errors="surrogateescape") as handle:
        handle.write(json.dumps({"id": path.stem, "topics": [], "tone": "neutral"}) + "\n")
    return path


GOOD = b"Oil title\n\nThe gas pipeline reopened on Monday, officials said.\n"


@pytest.mark.parametrize(
    "name, data, fragments",
    [
        ("latin1.txt", "Caf\u00e9\n\nna\u00efve body".encode("latin-1"), ["latin1.txt: not valid UTF-8 (byte 0xe9 at offset 3)"]),
        ("utf16.txt", "Title\n\nbody".encode("utf-16"), ["utf16.txt: not valid UTF-8"]),
        ("empty.txt", b"", ["empty.txt: empty article"]),
        ("blank.txt", b" \r\n\t\n", ["blank.txt: empty article"]),
        ("notitle.txt", b"\n\n\nonly a body", ["notitle.txt: has a title but no body"]),
        # Regression: an undecodable file name crashed the dataset writer with UnicodeEncodeError.
        (b"\xff\xfe.txt", GOOD, ["\\xff\\xfe.txt: file name is not UTF-8"]),
        # Regression: a newline in a file name made a two-line message and a two-line id.
        (b"two\nlines.txt", GOOD, ["two\\nlines.txt: file name is not UTF-8 or holds control characters"]),
    ],
)
def test_bad_article_file_is_one_error_line_naming_it(corpus, name, data, fragments):
    add_labeled(corpus, name, data)
    result, _ = _run("build-dataset", corpus["config"])
    assert_one_error(result, *fragments)
    assert not corpus["dataset"].exists()


def test_rtl_emoji_and_combining_names_and_text_build(corpus):
    add_labeled(corpus, "\u202eevil_😀_e\u0301.txt", "خبر عاجل 😀\n\nThe gas pipeline reopened\u200f on Monday.\n".encode())
    result, out = _run("build-dataset", corpus["config"])
    assert result.exit_code == 0, out
    report = json.loads((corpus["dataset"] / "dataset_report.json").read_text())
    assert sum(split["n"] for split in report["counts"].values()) == 49


@pytest.mark.parametrize("target", ["outside", "etc_passwd"])
def test_symlink_outside_the_seeds_folder_is_refused_or_skipped(corpus, tmp_path, target):
    # Regression: a link leaving the folder was followed, so /etc/passwd became a training article.
    if target == "outside":
        secret = tmp_path / "secret.txt"
        secret.write_text("Secret memo\n\nNot part of the corpus.\n")
    else:
        secret = Path("/etc/passwd")
    link = corpus["seeds"] / "zz_link.txt"
    link.symlink_to(secret)
    result, _ = _run("build-dataset", corpus["config"])
    assert_one_error(result, f"{link}: symlink to {secret.resolve()}, outside {corpus['seeds']}; refusing to read it")

    result, out = _run("build-dataset", corpus["config"], "--on-error", "skip")
    assert result.exit_code == 0, out
    assert f"skipped: {link}: symlink to" in out
    report = json.loads((corpus["dataset"] / "dataset_report.json").read_text())
    ids = {r for split in ("train", "validation", "test") for r in _ids(corpus["dataset"], split)}
    assert "zz_link" not in ids and len(report["skipped_files"]) == 1


def _ids(dataset: Path, split: str) -> list[str]:
    from train.data.dataset import load_splits

    return [r.id for r in load_splits(dataset, [split])[split]]


def test_symlink_inside_the_folder_is_followed(corpus):
    (corpus["seeds"] / "sub").mkdir()
    real = corpus["seeds"] / "sub" / "real.txt"
    real.write_bytes(GOOD)
    (corpus["seeds"] / "linked.txt").symlink_to(real)
    with corpus["labels"].open("a") as handle:
        handle.write(json.dumps({"id": "linked", "topics": ["energy"], "tone": "neutral"}) + "\n")
    result, out = _run("build-dataset", corpus["config"])
    assert result.exit_code == 0, out


def test_dangling_and_looping_links_fifos_and_folders_named_txt_are_ignored(corpus):
    seeds = corpus["seeds"]
    (seeds / "dangling.txt").symlink_to(seeds / "nowhere.txt")
    (seeds / "loop.txt").symlink_to(seeds / "loop.txt")
    os.mkfifo(seeds / "pipe.txt")  # reading it would block forever
    (seeds / "folder.txt").mkdir()
    result, out = _run("build-dataset", corpus["config"])
    assert result.exit_code == 0, out


def test_skipped_article_with_a_gold_label_is_not_an_error(corpus):
    # Regression: with --on-error skip, the label of the skipped file was reported as a label
    # "for unknown article (no x.txt)" although x.txt existed, so skipping never worked.
    add_labeled(corpus, "broken.txt", b"")
    result, out = _run("build-dataset", corpus["config"], "--on-error", "skip")
    assert result.exit_code == 0, out
    assert "skipped: " in out and "broken.txt: empty article" in out


def _many_tiny_files(root: Path, n: int) -> Path:
    from conftest import write_corpus

    paths = write_corpus(root)
    for i in range(n):
        # Distinct texts, so none is removed as a duplicate; no gold label, no rules: unlabeled.
        (paths["seeds"] / f"tiny_{i:05d}.txt").write_text(f"Note {i}\n\nItem {i} of the batch, code {i * 7919}.\n")
    return paths["config"]


@pytest.mark.parametrize("n", [300, pytest.param(10_000, marks=pytest.mark.slow)])
def test_many_tiny_files_build(tmp_path, n):
    config = _many_tiny_files(tmp_path, n)
    result = build_dataset(load_config(config))
    assert len(result.report["unlabeled_articles"]) == n
    assert sum(c["n"] for c in result.counts.values()) == 48
