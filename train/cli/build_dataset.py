"""`artclf build-dataset`: parse and label the seeds into a split DatasetDict on disk."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from train.cli._util import SET_HELP, cli_errors, config_path, table


def build_dataset_cli(
    config: Optional[Path] = typer.Argument(None, help="Experiment config (default: configs/default.toml)."),
    set_: Optional[list[str]] = typer.Option(None, "--set", help=SET_HELP),
    on_error: str = typer.Option("stop", help="On an unreadable article: stop, or skip it and list it."),
) -> None:
    """Read and label the articles, de-duplicate and split; save a Hugging Face DatasetDict and a report."""
    with cli_errors():
        if on_error not in ("stop", "skip"):
            raise typer.BadParameter("must be stop or skip", param_hint="--on-error")
        from train.config import load_config
        from train.data.dataset import build_dataset

        cfg = load_config(config_path(config), set_)
        result = build_dataset(cfg, on_error=on_error)
        typer.echo(format_summary(result.path, result.report))
        typer.echo(f"report: {result.path / 'dataset_report.json'}")


def format_summary(path: Path, report: dict) -> str:
    counts = report["counts"]
    splits = [s for s in counts if counts[s]["n"]]
    first = next(iter(counts.values()))
    labels = list(first["topics"]) + (["(no topic)"] if "no_topic" in first else [])
    tones = list(next(iter(counts.values()))["tone"])
    rows = [["articles"] + [counts[s]["n"] for s in splits]]
    for label in labels:
        rows.append([f"topic: {label}"] + [counts[s]["topics"].get(label, counts[s]["no_topic"]) for s in splits])
    for tone in tones:
        rows.append([f"tone: {tone}"] + [counts[s]["tone"][tone] for s in splits])
    lines = [f"saved dataset to {path}", "", table(rows, ["label"] + splits)]
    if report["duplicates_removed"]:
        lines.append(f"\nexact duplicates removed: {len(report['duplicates_removed'])}")
    if report["near_duplicate_pairs"]:
        lines.append(f"near-duplicate pairs kept in one split: {len(report['near_duplicate_pairs'])}")
    if report["unlabeled_articles"]:
        lines.append(f"articles without a label (not used): {len(report['unlabeled_articles'])}")
    lines += unlisted_lines(report)
    rules = report.get("rule_report")
    if rules:
        rows = [
            [name, r["label"], _pct(r["coverage"]), _pct(r["overlap"]), _pct(r["conflict"]), _pct(r["precision"]), _pct(r["recall"])]
            for name, r in rules["rules"].items()
        ]
        lines += ["", f"labeling rules on {rules['n']} articles (precision/recall against gold labels):",
                  table(rows, ["rule", "label", "coverage", "overlap", "conflict", "precision", "recall"])]
    sources = report.get("label_sources", {})
    if set(sources) - {"gold"}:
        lines.append("label sources: " + ", ".join(f"{k} {v}" for k, v in sorted(sources.items())))
    for problem in report["skipped_files"]:
        lines.append(f"skipped: {problem}")
    for warning in report["warnings"]:
        lines.append(f"warning: {warning}")
    return "\n".join(lines)


def unlisted_lines(report: dict) -> list[str]:
    """What the labels the config leaves out cost: dropped labels, articles, ignored rules."""
    lines = []
    for task, dropped in (report.get("unlisted_labels_dropped") or {}).items():
        listed = ", ".join(f"{name} ({n})" for name, n in dropped.items())
        lines.append(f"{task} labels not in labels.{task}, dropped (articles): {listed}")
    if report.get("articles_dropped_unlisted"):
        lines.append(f"articles left out because their only label was dropped: {report['articles_dropped_unlisted']}")
    if report.get("rules_ignored"):
        lines.append(f"labeling rules for labels not configured, ignored: {len(report['rules_ignored'])}")
    return lines


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"
