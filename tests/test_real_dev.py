"""The real-news dev set: ids and labels in the repo, texts read from ../shared/data at run time."""

import json
from collections import Counter
from pathlib import Path

import pytest

from train.config import LabelsConfig
from train.data.labels import check_label
from train.data.sources import DataUnavailable, real_dev_records

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


def test_reuters_reader_keeps_unprocessed_stories_text(tmp_path):
    import gzip

    from train.data.sources import reuters

    sgm = """<!DOCTYPE lewis SYSTEM "lewis.dtd">
<REUTERS TOPICS="YES" LEWISSPLIT="TRAIN" CGISPLIT="TRAINING-SET" OLDID="1" NEWID="1">
<TOPICS><D>crude</D><D>nat-gas</D></TOPICS>
<TEXT>&#2;
<TITLE>OIL OUTPUT UP</TITLE>
<BODY>Output rose 5 pct &lt;XYZ&gt; said.
 Reuter
&#3;</BODY></TEXT>
</REUTERS>
<REUTERS TOPICS="YES" LEWISSPLIT="TEST" CGISPLIT="TRAINING-SET" OLDID="2" NEWID="2">
<TOPICS><D>grain</D></TOPICS>
<TEXT TYPE="UNPROC">&#2;
Wheat shipments were delayed by rain.
&#3;</TEXT>
</REUTERS>
<REUTERS TOPICS="NO" LEWISSPLIT="TRAIN" CGISPLIT="TRAINING-SET" OLDID="3" NEWID="3">
<TOPICS></TOPICS><TEXT><TITLE>NOT IN MODAPTE</TITLE></TEXT>
</REUTERS>
"""
    folder = tmp_path / "reuters21578"
    folder.mkdir()
    with gzip.open(folder / "reut2-000.sgm.gz", "wb") as handle:
        handle.write(sgm.encode("latin-1"))
    docs = {d.id: d for d in reuters(root=tmp_path)}
    assert sorted(docs) == ["reuters/1", "reuters/2"]
    assert docs["reuters/1"].labels == ("crude", "nat-gas") and docs["reuters/1"].split == "train"
    assert docs["reuters/1"].text == "OIL OUTPUT UP\n\nOutput rose 5 pct <XYZ> said.\n Reuter"
    # An unprocessed story has no <BODY>; its text is the <TEXT> element itself.
    assert docs["reuters/2"].text == "Wheat shipments were delayed by rain." and docs["reuters/2"].split == "test"
