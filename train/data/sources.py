"""Readers for the public labeled datasets in ``../shared/data`` and the real-news dev set.

These datasets are research-only: they are read at run time and never copied into the repository.
Each reader raises :class:`DataUnavailable` (with a message saying what is missing) when the data
is absent, so tests and benchmarks can skip cleanly on a fresh clone.
"""

from __future__ import annotations

import csv
import gzip
import html
import os
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from artclf.errors import ArtclfError
from artclf.text import article_text

REPO = Path(__file__).resolve().parents[2]


class DataUnavailable(ArtclfError):
    """The shared dataset is not on this machine (a fresh clone has no ../shared)."""


def shared_data_dir() -> Path:
    """``$ARTCLF_SHARED_DATA``, else ``../shared/data`` beside the repository."""
    env = os.environ.get("ARTCLF_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def _need(path: Path, what: str) -> Path:
    if not path.exists():
        raise DataUnavailable(f"{path}: {what} not found; set ARTCLF_SHARED_DATA to the folder holding the shared datasets")
    return path


@dataclass(frozen=True)
class Doc:
    id: str
    title: str
    text: str  # title + body, as the models read it
    labels: tuple[str, ...]
    split: str = ""


def bbc(root: Path | None = None) -> list[Doc]:
    """BBC News full text: one folder per class; id ``bbc/<class>/<NNN>``."""
    root = _need((root or shared_data_dir()) / "bbc", "BBC News")
    docs = []
    for path in sorted(root.glob("*/*.txt")):
        raw = path.read_bytes().decode("utf-8", errors="replace")
        title, _, body = raw.strip().partition("\n")
        docs.append(Doc(f"bbc/{path.parent.name}/{path.stem}", title.strip(), article_text(title.strip(), body.strip()), (path.parent.name,)))
    return docs


_REUTERS = re.compile(r"<REUTERS([^>]*)>(.*?)</REUTERS>", re.S)


def reuters(root: Path | None = None, modapte: bool = True) -> list[Doc]:
    """Reuters-21578 ModApte documents (train and test, TOPICS="YES"); id ``reuters/<NEWID>``.

    ``modapte=False`` also keeps the train/test documents without TOPICS="YES" (the real-news dev
    set samples all test stories, whatever their Reuters categories)."""
    root = _need((root or shared_data_dir()) / "reuters21578", "Reuters-21578")
    docs = []
    for path in sorted(root.glob("reut2-*.sgm.gz")):
        sgm = gzip.open(path, "rb").read().decode("latin-1")
        for attrs_text, body in _REUTERS.findall(sgm):
            attrs = dict(re.findall(r'(\w+)="([^"]*)"', attrs_text))
            if (modapte and attrs.get("TOPICS") != "YES") or attrs.get("LEWISSPLIT") not in ("TRAIN", "TEST"):
                continue
            topics_block = re.search(r"<TOPICS>(.*?)</TOPICS>", body, re.S)
            topics = tuple(re.findall(r"<D>(.*?)</D>", topics_block.group(1))) if topics_block else ()
            title = _tag(body, "TITLE")
            # TYPE="UNPROC" stories have no <BODY>: their text sits directly in <TEXT> (61 of the
            # ModApte 90-category documents would otherwise be title-only).
            text_body = _tag(body, "BODY") or _tag(body, 'TEXT TYPE="UNPROC"', "TEXT")
            docs.append(
                Doc(
                    f"reuters/{attrs['NEWID']}",
                    title,
                    article_text(title, text_body).strip(),
                    topics,
                    "train" if attrs["LEWISSPLIT"] == "TRAIN" else "test",
                )
            )
    return docs


def _tag(body: str, name: str, end: str = "") -> str:
    match = re.search(rf"<{name}>(.*?)</{end or name}>", body, re.S)
    return html.unescape(match.group(1)).replace("\x03", "").replace("\x02", "").strip() if match else ""


def ag_news(root: Path | None = None) -> list[Doc]:
    """AG News test set (the only part available); id ``agnews/<1-based row>``."""
    path = _need((root or shared_data_dir()) / "ag_news" / "test.csv", "AG News test.csv")
    classes = {"1": "World", "2": "Sports", "3": "Business", "4": "Sci/Tech"}
    docs = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row_number, (label, title, description) in enumerate(csv.reader(handle), start=1):
            description = description.replace("\\n", "\n").replace("\\$", "$").replace("\\\\", "\\")
            docs.append(Doc(f"agnews/{row_number}", title, article_text(title, description), (classes[label],), "test"))
    return docs


def newsgroups(root: Path | None = None) -> list[Doc]:
    """20 Newsgroups bydate (headers kept, as in the classic benchmark); id ``20ng/<split>/<group>/<n>``."""
    path = _need((root or shared_data_dir()) / "20newsgroups" / "20news-bydate.tar.gz", "20 Newsgroups archive")
    docs = []
    with tarfile.open(path) as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            split_dir, group, name = member.name.split("/")[-3:]
            split = "train" if split_dir.endswith("train") else "test"
            text = tar.extractfile(member).read().decode("latin-1")  # type: ignore[union-attr]
            docs.append(Doc(f"20ng/{split}/{group}/{name}", "", text, (group,), split))
    return sorted(docs, key=lambda d: d.id)


def phrasebank(agreement: str = "50Agree", root: Path | None = None) -> list[Doc]:
    """Financial PhraseBank sentences at one agreement level (50Agree, 66Agree, 75Agree, AllAgree)."""
    path = _need((root or shared_data_dir()) / "financial_phrasebank" / f"Sentences_{agreement}.txt", "Financial PhraseBank")
    text = path.read_bytes().decode("iso-8859-1")
    docs = []
    for i, line in enumerate(l for l in text.split("\r\n") if l):
        sentence, _, label = line.rpartition("@")
        docs.append(Doc(f"fpb/{agreement}/{i + 1}", "", sentence, (label.strip(),)))
    return docs


def iter_real_dev(labels_path: Path | None = None, root: Path | None = None) -> Iterator[tuple[dict, Doc]]:
    """(label record, document) for each line of the real-news dev set, text read from shared data."""
    import json

    labels_path = labels_path or REPO / "tests" / "data" / "real_dev_labels.jsonl"
    records = [json.loads(line) for line in labels_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    wanted = {r["id"].split("/")[0] for r in records}
    index: dict[str, Doc] = {}
    loaders = {"bbc": bbc, "reuters": lambda r: reuters(r, modapte=False), "agnews": ag_news}
    for source in sorted(wanted):
        index.update((d.id, d) for d in loaders[source](root))
    for record in records:
        doc = index.get(record["id"])
        if doc is None:
            raise ArtclfError(f"{labels_path}: id {record['id']} not found in the shared data")
        yield record, doc


def real_dev_records(labels_path: Path | None = None, root: Path | None = None) -> list:
    """The real-news dev set as labeled Records (see tests/data/README.md)."""
    from train.config import LabelsConfig
    from train.data.dataset import Record
    from train.data.labels import check_label

    labels = LabelsConfig()
    out = []
    for record, doc in iter_real_dev(labels_path, root):
        label = check_label(record, labels, f"real_dev_labels.jsonl:{record['id']}")
        out.append(Record(id=doc.id, text=doc.text, topics=label.topics, tone=label.tone, title=doc.title,
                          fields={"source": doc.id.split("/")[0], "selection": record.get("selection", "")}))
    return out
