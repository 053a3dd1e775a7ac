"""`artclf evaluate`: score a saved model on a dataset split or a labeled JSONL file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from train.cli._util import cli_errors, table


def evaluate(
    model: str = "latest",
    data: Path | None = None,
    split: str = "test",
    models_dir: Path = Path("models"),
) -> dict[str, Any]:
    """Metrics for both tasks; ``data`` is a saved dataset folder or a JSONL file (default: the
    dataset the model was trained on)."""
    from train.store.registry import load_model

    loaded = load_model(model, models_dir)
    return score_model(loaded, labeled_records(loaded, data, split))


def labeled_records(loaded: Any, data: Path | None = None, split: str = "test") -> list[Any]:
    """Records to score ``loaded`` on: a split of a dataset folder (default: the one it was trained
    on) or a labeled JSONL file, checked against the model's label names."""
    from train.data.dataset import load_splits, read_jsonl_records
    from artclf.errors import ArtclfError

    if data is None:
        data = Path(loaded.manifest["dataset"]["path"])
    if data.is_dir():
        records = load_splits(data, [split])[split]
    elif data.is_file():
        records = read_jsonl_records(data, _labels_of(loaded))
    else:
        raise ArtclfError(f"{data}: not found; pass a saved dataset folder or a .jsonl file")
    if not records:
        raise ArtclfError(f"{data}: split '{split}' is empty")
    return records


def score_model(loaded: Any, records: list[Any]) -> dict[str, Any]:
    """Both tasks' metrics of a loaded model on labeled records."""
    from train.evaluate.metrics import evaluate_predictions

    labels = _labels_of(loaded)
    result = evaluate_predictions(records, loaded.predict([r.text for r in records]), labels.topics, labels.tone)
    return {"model": str(loaded.path), "version": loaded.version, **result}


def _labels_of(loaded: Any) -> Any:
    from train.config import LabelsConfig

    names = loaded.manifest["labels"]
    return LabelsConfig(topics=tuple(names["topics"]), tone=tuple(names["tone"]))


def format_metrics(result: dict[str, Any]) -> str:
    lines = [f"articles: {result['n']}"]
    if "topic" in result:
        topic = result["topic"]
        lines.append(
            f"\ntopic  micro-F1 {topic['micro_f1']:.3f}  macro-F1 {topic['macro_f1']:.3f}  samples-F1 {topic['samples_f1']:.3f}"
            f"  hamming {topic['hamming_loss']:.3f}  subset-acc {topic['subset_accuracy']:.3f}"
        )
        lines.append(_per_label_table("topic", topic["per_label"]))
    if "tone" in result:
        tone = result["tone"]
        lines.append(f"\ntone   accuracy {tone['accuracy']:.3f}  macro-F1 {tone['macro_f1']:.3f}")
        lines.append(_per_label_table("tone", tone["per_label"]))
        cm = tone["confusion_matrix"]
        rows = [[f"true {label}"] + row for label, row in zip(cm["labels"], cm["matrix"])]
        lines.append("\n" + table(rows, [""] + [f"pred {label}" for label in cm["labels"]]))
    return "\n".join(lines)


def _per_label_table(task: str, per_label: dict[str, dict[str, Any]]) -> str:
    rows = [[k, f"{v['precision']:.3f}", f"{v['recall']:.3f}", f"{v['f1']:.3f}", v["support"]] for k, v in per_label.items()]
    return table(rows, [task, "precision", "recall", "f1", "support"])


def evaluate_cli(
    model: str = typer.Argument("latest", help="latest, a version like v3, or a model folder."),
    data: Optional[Path] = typer.Option(None, help="A saved dataset folder or a labeled .jsonl file."),
    split: str = typer.Option("test", help="Split of a dataset folder to score."),
    json_: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    models_dir: Path = typer.Option(Path("models"), help="Where model versions live."),
) -> None:
    """Evaluate a saved model (default: the latest) and print its metrics."""
    with cli_errors():
        result = evaluate(model, data, split, models_dir)
        if json_:
            typer.echo(json.dumps(result))
        else:
            typer.echo(f"model {result['version']} ({result['model']})")
            typer.echo(format_metrics(result))
