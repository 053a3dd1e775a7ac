"""Seed-test vs real-news dev figures for a saved model: the generalization gap, side by side.

    python -m train.evaluate.real_dev [MODEL] [--models-dir models] [--json]

The real-news dev set (tests/data/real_dev_labels.jsonl) holds ids and labels only; the texts are
read from ../shared/data (or $ARTCLF_SHARED_DATA) at run time. Exits 0 with a message when that
data is absent, since a fresh clone has no ../shared.

Besides the full articles, the dev set is scored as apps often send it: headline + first
paragraph, and headline alone (``train.data.augment.input_view``). The short-text probe
(tests/data/short_probe.jsonl: two-word texts about one topic each) counts texts that get another
topic's score above 0.5.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SHORT_PROBE = REPO / "tests" / "data" / "short_probe.jsonl"


def compare_seed_and_real(model: str = "latest", models_dir: Path = Path("models"), views: bool = True,
                          probe: Path | None = SHORT_PROBE) -> dict[str, Any]:
    """Metrics of one model on its seed test split and on the real-news dev set (each input view),
    plus the short-text probe."""
    from train.data.augment import INPUT_VIEWS, input_view
    from train.data.sources import real_dev_records
    from train.evaluate.evaluate import labeled_records, score_model
    from train.store.load import load_model

    loaded = load_model(model, models_dir)
    seed = score_model(loaded, labeled_records(loaded, None, "test"))
    records = real_dev_records()
    real = score_model(loaded, records)
    out: dict[str, Any] = {"model": seed["model"], "version": seed["version"], "seed_test": seed, "real_dev": real}
    if views:
        out["real_dev_views"] = {
            view: real if view == "full" else
            score_model(loaded, [dataclasses.replace(r, text=input_view(r.text, view)) for r in records])
            for view in INPUT_VIEWS
        }
    if probe is not None and probe.is_file() and loaded.topic_labels:
        out["short_probe"] = short_probe(loaded, probe)
    return out


def short_probe(loaded: Any, path: Path = SHORT_PROBE, cut: float = 0.5) -> dict[str, Any]:
    """Two-word texts about one topic each: how many get another topic's score above ``cut``,
    and how many get their own topic predicted."""
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    results = loaded.classify([item["text"] for item in items])
    wrong = []
    own = 0
    for item, result in zip(items, results):
        scores = result.get("topic_scores", {})
        others = {label: s for label, s in scores.items() if label != item["topic"] and s > cut}
        own += item["topic"] in result.get("topics", [])
        if others:
            wrong.append({"text": item["text"], "topic": item["topic"], "other_scores": others})
    return {"n": len(items), "second_topic_over_cut": len(wrong), "cut": cut, "own_topic_predicted": own,
            "every_topic": sum(len(r.get("topics", [])) == len(loaded.topic_labels) for r in results),
            "examples": wrong[:10]}


def format_comparison(result: dict[str, Any]) -> str:
    rows = [
        ("articles", "n", None),
        ("topic micro-F1", "topic", "micro_f1"),
        ("topic macro-F1", "topic", "macro_f1"),
        *[(f"topic F1 {label}", "topic", label) for label in result["seed_test"]["topic"]["per_label"]],
        ("tone accuracy", "tone", "accuracy"),
        ("tone macro-F1", "tone", "macro_f1"),
        ("topic ECE (pooled)", "calibration.topic", "ece"),
        *[(f"topic ECE {label}", "calibration.topic", label) for label in result["seed_test"]["topic"]["per_label"]],
        ("tone ECE (top label)", "calibration.tone", "ece"),
        ("topic Brier (mean)", "calibration.topic", "brier"),
        ("tone Brier", "calibration.tone", "brier"),
    ]

    def value(block: dict[str, Any], task: str, key: str | None) -> str:
        if key is None:
            return str(block[task])
        metrics = block
        for part in task.split("."):
            metrics = metrics.get(part, {})
        if not metrics:
            return "-"
        if key in metrics.get("per_label", {}):
            entry = metrics["per_label"][key]
            return f"{entry['f1'] if 'f1' in entry else entry['ece']:.3f}"
        return f"{metrics[key]:.3f}"

    views = result.get("real_dev_views") or {"full": result["real_dev"]}
    columns = [("seed test", result["seed_test"])] + [(f"real dev {v}", block) for v, block in views.items()]
    lines = [f"model {result['version']} ({result['model']})", "",
             "| metric | " + " | ".join(name for name, _ in columns) + " |", "|---|" + "---:|" * len(columns)]
    for name, task, key in rows:
        lines.append(f"| {name} | " + " | ".join(value(block, task, key) for _, block in columns) + " |")
    probe = result.get("short_probe")
    if probe:
        lines += ["", f"short probe: {probe['second_topic_over_cut']} of {probe['n']} two-word texts get another "
                      f"topic's score > {probe['cut']}; own topic predicted for {probe['own_topic_predicted']}; "
                      f"every topic at once: {probe['every_topic']}"]
        lines += [f"  {e['text']!r} ({e['topic']}): {e['other_scores']}" for e in probe["examples"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from artclf.errors import ArtclfError
    from train.data.sources import DataUnavailable

    parser = argparse.ArgumentParser(prog="python -m train.evaluate.real_dev", description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default="latest")
    parser.add_argument("--models-dir", type=Path, default=Path("models"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    try:
        result = compare_seed_and_real(args.model, args.models_dir)
    except DataUnavailable as exc:
        print(f"skipped: {exc}", file=sys.stderr)
        return 0
    except ArtclfError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result) if args.json else format_comparison(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
