"""Evaluate a saved model on a dataset split or a labeled JSONL file, as a library call."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from artclf.errors import ArtclfError, LabelMismatchError
from train.config import LabelsConfig

__all__ = ["check_jsonl_labels", "check_same_labels", "evaluate", "labeled_records", "model_labels", "score_model"]


def evaluate(
    model: str = "latest",
    data: Path | None = None,
    split: str = "test",
    models_dir: Path = Path("models"),
    *,
    trust_pickle: bool = False,
    public_key: Path | bytes | None = None,
    by: Sequence[str] = (),
    errors: int = 0,
    plots: Path | None = None,
) -> dict[str, Any]:
    """Metrics for both tasks, calibration (ECE, Brier, log-loss) and the risk-coverage table;
    ``data`` is a saved dataset folder or a JSONL file (default: the dataset the model was
    trained on). ``by``: fields to slice by (``length``, ``year``, ``source``, any field of the
    data), each slice with bootstrap 95% intervals; ``errors``: that many most confident
    mistakes with their evidence n-grams; ``plots``: a folder for the reliability diagram,
    confusion matrices and precision-recall curves. ``trust_pickle`` and ``public_key`` are
    passed to :func:`train.store.load.load_model`."""
    from train.store.load import load_model

    loaded = load_model(model, models_dir, trust_pickle=trust_pickle, public_key=public_key)
    return score_model(loaded, labeled_records(loaded, data, split), by=by, errors=errors, plots=plots)


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
        check_jsonl_labels(model_labels(loaded), data, f"model {loaded.version}")
        records = read_jsonl_records(data, model_labels(loaded))
    else:
        raise ArtclfError(f"{data}: not found; pass a saved dataset folder or a .jsonl file")
    if not records:
        raise ArtclfError(f"{data}: split '{split}' is empty")
    return records


def check_same_labels(model: LabelsConfig, data: LabelsConfig, model_name: str, data_name: str) -> None:
    """A model is scored only on data with its own label names (in any order), for every task the
    model predicts; a task only the data has is not scored."""
    for task, mine, theirs in (("topics", model.topics, data.topics), ("tone", model.tone, data.tone)):
        if mine and set(mine) != set(theirs):
            found = f"{task} labels ({_names(theirs)})" if theirs else f"no {task} labels"
            raise LabelMismatchError(
                f"{data_name}: {found}, but {model_name} predicts {task} ({_names(mine)}); "
                "evaluate on data labeled with the model's label set, or retrain on this data"
            )


_SINGULAR = {"topics": "topic", "tone": "tone"}


def _names(labels: Any) -> str:
    return ", ".join(sorted(labels))


def check_jsonl_labels(model: LabelsConfig, path: Path, model_name: str) -> None:
    """A labeled JSONL file uses only the model's label names: otherwise one error naming the first
    line with a foreign label, the file's label set and the model's."""
    from train.data.labels import read_jsonl

    seen: dict[str, dict[str, int]] = {"topics": {}, "tone": {}}
    for number, obj in read_jsonl(path):
        topics, tone = obj.get("topics", []), obj.get("tone")
        for name in topics if isinstance(topics, list) else []:
            if isinstance(name, str):
                seen["topics"].setdefault(name, number)
        if isinstance(tone, str) and model.tone:
            seen["tone"].setdefault(tone, number)
    for task, mine in (("topics", model.topics), ("tone", model.tone)):
        foreign = {name: line for name, line in seen[task].items() if name not in mine}
        if mine and foreign:
            name, line = min(foreign.items(), key=lambda item: item[1])
            raise LabelMismatchError(
                f"{path}:{line}: {_SINGULAR[task]} label '{name}' is not one of {model_name}'s {task} ({_names(mine)}); "
                f"the file's {task} labels: {_names(seen[task])}; "
                "evaluate on data labeled with the model's label set, or retrain on this data"
            )


def score_model(loaded: Any, records: Sequence[Any], *, by: Sequence[str] = (), errors: int = 0,
                plots: Path | None = None) -> dict[str, Any]:
    """Both tasks' metrics of a loaded model on labeled records (see :func:`evaluate`)."""
    from train.evaluate.metrics import evaluate_predictions
    from train.evaluate.slices import by_field, confident_errors, risk_coverage

    from artclf.errors import DataError

    from train.evaluate.metrics import calibration_metrics

    labels = model_labels(loaded)
    texts = [r.text for r in records]
    predictions = loaded.classify(texts)
    empty = [r.id for r, p in zip(records, predictions) if p.get("empty")]
    if empty:
        # Readers refuse such records; a dataset saved before they did may still hold some.
        raise DataError(f"{len(empty)} record(s) with nothing to read (empty or invisible text), first id "
                        f"{empty[0]!r}; remove them and rebuild the dataset")
    mode = getattr(loaded, "topic_mode", loaded.manifest.get("topic_mode", "multilabel"))
    result = evaluate_predictions(records, predictions, labels.topics, labels.tone, mode)
    raw = loaded.raw_scores(texts)
    result["calibration"] = calibration_metrics(records, raw, labels.topics, labels.tone, mode)
    result["risk_coverage"] = risk_coverage(records, predictions, raw, labels.topics, labels.tone)
    if by:
        result["by"] = {name: by_field(records, predictions, name, labels.topics, labels.tone) for name in by}
    if errors:
        result["errors"] = confident_errors(loaded, records, predictions, raw, errors)
    if plots is not None:
        from train.evaluate.plots import write_plots

        result["plots"] = write_plots(Path(plots), records, predictions, raw, labels.topics, labels.tone, str(loaded.version))
    return {"model": str(loaded.path), "version": loaded.version, **result}
