"""Reproduce the draw of the lockbox real-news test set (see LOCKBOX.md). Standard library only.

    python tests/data/draw_lockbox.py [SHARED_DATA_DIR]

SHARED_DATA_DIR defaults to $ARTCLF_SHARED_DATA, else ../shared/data beside the repository. The
script prints the drawn ids, one per line, in draw order (Reuters, then BBC, then AG News). It reads
the datasets only to list their ids; it never prints or writes any article text.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import random
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEV_LABELS = REPO / "tests" / "data" / "real_dev_labels.jsonl"
SEED = 20261203
COUNTS = (("reuters", 80), ("bbc", 70), ("agnews", 60))  # drawn in this order


def natural_key(doc_id: str) -> list:
    """Natural numeric order: digit runs compare as numbers (reuters/9 < reuters/10)."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", doc_id)]


def reuters_ids(root: Path) -> list[str]:
    """NEWIDs of the LEWISSPLIT="TEST" documents that have a <BODY> (5,458 of them)."""
    ids = []
    for path in sorted((root / "reuters21578").glob("reut2-*.sgm.gz")):
        sgm = gzip.open(path, "rb").read().decode("latin-1")
        for attrs, body in re.findall(r"<REUTERS([^>]*)>(.*?)</REUTERS>", sgm, re.S):
            if 'LEWISSPLIT="TEST"' in attrs and "<BODY>" in body:
                ids.append("reuters/" + re.search(r'NEWID="(\d+)"', attrs).group(1))
    return ids


def bbc_ids(root: Path) -> list[str]:
    """All 2,225 BBC News files in the five category folders."""
    return [f"bbc/{p.parent.name}/{p.stem}" for p in (root / "bbc").glob("*/*.txt")]


def agnews_ids(root: Path) -> list[str]:
    """1-based record numbers of the 7,600 AG News test rows."""
    with (root / "ag_news" / "test.csv").open(newline="", encoding="utf-8") as handle:
        return [f"agnews/{n}" for n, _ in enumerate(csv.reader(handle), start=1)]


def draw(root: Path, dev_labels: Path = DEV_LABELS) -> list[str]:
    dev = {json.loads(line)["id"] for line in dev_labels.read_text(encoding="utf-8").splitlines() if line.strip()}
    listers = {"reuters": reuters_ids, "bbc": bbc_ids, "agnews": agnews_ids}
    rng = random.Random(SEED)
    drawn: list[str] = []
    for source, n in COUNTS:
        candidates = sorted((i for i in listers[source](root) if i not in dev), key=natural_key)
        drawn.extend(rng.sample(candidates, n))
    return drawn


def main(argv: list[str]) -> int:
    default = os.environ.get("ARTCLF_SHARED_DATA") or str(REPO.parent / "shared" / "data")
    root = Path(argv[0] if argv else default)
    for doc_id in draw(root):
        print(doc_id)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
