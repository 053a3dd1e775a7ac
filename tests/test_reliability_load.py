"""Load: predict streams long JSONL input in flat memory, and a very long article is classified.

Figures (peak RSS, records per second, seconds per 5 MB article) are printed, not asserted: speed
depends on the machine. The 200,000-record stream is slow; the default suite streams 3,000."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from train.cli import app
from train.store.load import load_model

STREAM = """
import json, resource, sys, time
from train.cli import main
sys.argv = ["artclf", "predict", "--models-dir", sys.argv[1], "-"]
start = time.perf_counter()
try:
    main()
except SystemExit:
    pass
print(json.dumps({"peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "seconds": time.perf_counter() - start}), file=sys.stderr)
"""


def write_records(path: Path, n: int) -> None:
    with path.open("w") as handle:
        for i in range(n):
            handle.write(json.dumps({"id": i, "title": f"Report {i}",
                                     "text": f"Oil and gas talks at the border broke down, item {i}. Ministers met again."}) + "\n")


def stream(models: Path, n: int, tmp_path: Path) -> dict[str, float]:
    source, out = tmp_path / f"in-{n}.jsonl", tmp_path / f"out-{n}.jsonl"
    write_records(source, n)
    with source.open() as stdin, out.open("w") as stdout:
        done = subprocess.run([sys.executable, "-c", STREAM, str(models)], stdin=stdin, stdout=stdout,
                              stderr=subprocess.PIPE, text=True, timeout=3600)
    assert done.returncode == 0, done.stderr
    with out.open() as handle:
        ids = [json.loads(line)["id"] for line in handle]
    assert ids == list(range(n))
    return json.loads(done.stderr.strip().splitlines()[-1])


@pytest.mark.slow
def test_predict_streams_200k_records_in_flat_memory(trained, tmp_path):
    small = stream(trained["models"], 5_000, tmp_path)
    large = stream(trained["models"], 200_000, tmp_path)
    rate = (200_000 - 5_000) / (large["seconds"] - small["seconds"])
    print(f"peak RSS: 5,000 records {small['peak_rss_kb'] / 1024:.1f} MB, 200,000 records "
          f"{large['peak_rss_kb'] / 1024:.1f} MB (ratio {large['peak_rss_kb'] / small['peak_rss_kb']:.3f}); "
          f"throughput {rate:,.0f} records/s")
    # 40x the records; holding them or their results would add well over 100 MB.
    assert large["peak_rss_kb"] - small["peak_rss_kb"] < 20 * 1024


def test_predict_streams_a_small_sample_in_order(trained, tmp_path):
    source = tmp_path / "in.jsonl"
    write_records(source, 3_000)
    result = CliRunner().invoke(app, ["predict", "--models-dir", str(trained["models"]), "-"], input=source.read_text())
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["id"] for r in rows] == list(range(3_000))
    assert all(set(r) == {"id", "topics", "topic_scores", "tone", "tone_scores"} for r in rows)


def test_a_5mb_article_is_classified(trained, tmp_path):
    model = load_model("latest", trained["models"])
    sentence = "The pipeline consortium and the foreign ministry discussed the disputed border crossing. "
    text = "Very long report\n\n" + sentence * (5_000_000 // len(sentence))
    start = time.perf_counter()
    [result] = model.classify([text])
    print(f"5 MB article classified in {time.perf_counter() - start:.2f} s")
    assert set(result["topic_scores"]) == set(model.topic_labels)
    # Through the CLI as a file too: parsed, classified, one JSON line.
    path = tmp_path / "long.txt"
    path.write_text(text)
    out = CliRunner().invoke(app, ["predict", "--models-dir", str(trained["models"]), "--file", str(path)])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["topics"] == result["topics"]
