"""Seed-test vs real-news dev figures for a saved model: the generalization gap, side by side.

    python -m train.evaluate.real_dev [MODEL] [--models-dir models] [--json]

The real-news dev set (tests/data/real_dev_labels.jsonl) holds ids and labels only; the texts are
read from ../shared/data (or $ARTCLF_SHARED_DATA) at run time. Exits 0 with a message when that
data is absent, since a fresh clone has no ../shared.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def compare_seed_and_real(model: str = "latest", models_dir: Path = Path("models")) -> dict[str, Any]:
    """Metrics of one model on its seed test split and on the real-news dev set."""
    from train.evaluate.evaluate import labeled_records, score_model
    from train.store.load import load_model
    from train.data.sources import real_dev_records

    loaded = load_model(model, models_dir)
    seed = score_model(loaded, labeled_records(loaded, None, "test"))
    real = score_model(loaded, real_dev_records())
    return {"model": seed["model"], "version": seed["version"], "seed_test": seed, "real_dev": real}


def format_comparison(result: dict[str, Any]) -> str:
    rows = [
        ("articles", "n", None),
        ("topic micro-F1", "topic", "micro_f1"),
        ("topic macro-F1", "topic", "macro_f1"),
        *[(f"topic F1 {label}", "topic", label) for label in result["seed_test"]["topic"]["per_label"]],
        ("tone accuracy", "tone", "accuracy"),
        ("tone macro-F1", "tone", "macro_f1"),
    ]

    def value(block: dict[str, Any], task: str, key: str | None) -> str:
        if key is None:
            return str(block[task])
        metrics = block[task]
        if key in metrics.get("per_label", {}):
            return f"{metrics['per_label'][key]['f1']:.3f}"
        return f"{metrics[key]:.3f}"

    lines = [f"model {result['version']} ({result['model']})", "", "| metric | seed test | real-news dev |", "|---|---:|---:|"]
    for name, task, key in rows:
        lines.append(f"| {name} | {value(result['seed_test'], task, key)} | {value(result['real_dev'], task, key)} |")
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
