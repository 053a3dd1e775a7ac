"""Evaluate a saved model on a dataset split or a labeled JSONL file, as a library call."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from artclf.errors import ArtclfError, LabelMismatchError
from train.config import LabelsConfig

__all__ = ["evaluate", "labeled_records", "model_labels", "score_model"]


def evaluate(
    model: str = "latest",
    data: Path | None = None,
    split: str = "test",
    models_dir: Path = Path("models"),
) -> dict[str, Any]:
    """Metrics for both tasks; ``data`` is a saved dataset folder or a JSONL file (default: the
    dataset the model was trained on)."""
    from train.store.load import load_model

    loaded = load_model(model, models_dir)
    return score_model(loaded, labeled_records(loaded, data, split))


def model_labels(loaded: Any) -> LabelsConfig:
    """The label names a loaded model was trained with."""
    names = loaded.manifest["labels"]
    return LabelsConfig(topics=tuple(names["topics"]), tone=tuple(names["tone"]))


def labeled_records(loaded: Any, data: Path | None = None, split: str = "test") -> list[Any]:
    """Records to score ``loaded`` on: a split of a dataset folder (default: the one it was trained
    on) or a labeled JSONL file, checked against the model's label names."""
    from train.data.dataset import load_splits, read_dataset_labels, read_jsonl_records

    if data is None:
        data = Path(loaded.manifest["dataset"]["path"])
    if data.is_dir():
        check_same_labels(model_labels(loaded), read_dataset_labels(data), f"model {loaded.version}", str(data))
        records = load_splits(data, [split])[split]
    elif data.is_file():
        records = read_jsonl_records(data, model_labels(loaded))
    else:
        raise ArtclfError(f"{data}: not found; pass a saved dataset folder or a .jsonl file")
    if not records:
        raise ArtclfError(f"{data}: split '{split}' is empty")
    return records


def check_same_labels(model: LabelsConfig, data: LabelsConfig, model_name: str, data_name: str) -> None:
    """A model is scored only on data with its own label names (in any order)."""
    for task, mine, theirs in (("topics", model.topics, data.topics), ("tone", model.tone, data.tone)):
        if mine and theirs and set(mine) != set(theirs):
            raise LabelMismatchError(
                f"{data_name}: {task} labels {sorted(theirs)} differ from {model_name}'s {sorted(mine)}; "
                "evaluate on data labeled with the model's label set, or retrain on this data"
            )


def score_model(loaded: Any, records: Sequence[Any]) -> dict[str, Any]:
    """Both tasks' metrics of a loaded model on labeled records."""
    from train.evaluate.metrics import evaluate_predictions

    labels = model_labels(loaded)
    result = evaluate_predictions(records, loaded.predict([r.text for r in records]), labels.topics, labels.tone,
                                  getattr(loaded, "topic_mode", "multilabel"))
    return {"model": str(loaded.path), "version": loaded.version, **result}
