"""The real-news dev set: ids and labels in the repo, texts read from ../shared/data at run time."""

import json
from collections import Counter
from pathlib import Path

import pytest

from train.config import LabelsConfig
from train.labels import check_label
from train.sources import DataUnavailable, real_dev_records

LABELS_FILE = Path(__file__).parent / "data" / "real_dev_labels.jsonl"


def test_labels_file_is_valid_and_covers_every_label():
    rows = [json.loads(line) for line in LABELS_FILE.read_text().splitlines() if line.strip()]
    assert len(rows) >= 100
    assert len({r["id"] for r in rows}) == len(rows)
    for r in rows:
        check_label(r, LabelsConfig(), r["id"])
        assert set(r) <= {"id", "topics", "tone", "source", "selection"}  # ids and labels only, no text
    topics = Counter(t for r in rows for t in r["topics"])
    tones = Counter(r["tone"] for r in rows)
    assert min(topics.values()) >= 25 and min(tones.values()) >= 25


def test_loader_reads_texts_from_shared_data_or_skips():
    try:
        records = real_dev_records(LABELS_FILE)
    except DataUnavailable as exc:
        pytest.skip(f"real-news dev set needs ../shared/data: {exc}")
    assert len(records) >= 100
    assert all(r.text.strip() for r in records)


def test_loader_skips_cleanly_when_data_is_absent(tmp_path):
    with pytest.raises(DataUnavailable, match="set ARTCLF_SHARED_DATA"):
        real_dev_records(LABELS_FILE, root=tmp_path)
