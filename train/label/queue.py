"""Which articles to label next: query strategies over an unlabeled pool.

Scores are "how much would a label here teach the model", higher first:

- ``uncertainty``: topics (multi-label): the label whose threshold-adjusted score is nearest its
  decision threshold (0.5 after the tuned threshold is folded in), ``1 - min_j |2 p_j - 1|``; tone
  (multiclass): least confidence ``(1 - max p) / (1 - 1/C)``. An article scores its less certain task.
- ``margin``: topics as above (the per-label margin to the threshold); tone: ``1 - (p1 - p2)``, the
  gap between the two likeliest tones.
- ``entropy``: topics: the mean binary entropy over labels; tone: the entropy over tones / log C.
- ``diversity``: k-center greedy on the (L2-normalised) TF-IDF space: each pick is the article
  farthest from everything labeled or already picked (Sener & Savarese's core-set).
- ``hybrid``: the ``HYBRID_POOL`` x n most uncertain articles, then k-center greedy among them: a
  batch of uncertain articles that are not near-copies of each other (uncertainty alone fills a batch
  of 20 with look-alikes).
- ``disagreement``: how many labels the model and the labeling rules disagree on (each topic, the
  tone where a tone rule fired), ties broken by uncertainty.
- ``random``: the control, seeded.

The functions take arrays, so the simulated active-learning benchmark (``bench/active_learning.py``)
runs the very strategies the ``queue`` command runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from artclf.errors import ArtclfError

STRATEGIES = ("uncertainty", "margin", "entropy", "diversity", "hybrid", "disagreement", "random")
MODEL_FREE = ("random",)
HYBRID_POOL = 10


def _task_scores(strategy: str, topic: np.ndarray | None, tone: np.ndarray | None) -> np.ndarray:
    parts = []
    eps = 1e-12
    if topic is not None and topic.shape[1]:
        if strategy == "entropy":
            p = np.clip(topic, eps, 1 - eps)
            parts.append((-(p * np.log2(p) + (1 - p) * np.log2(1 - p))).mean(axis=1))
        else:
            parts.append(1.0 - np.abs(2 * topic - 1).min(axis=1))
    if tone is not None and tone.shape[1] > 1:
        c = tone.shape[1]
        if strategy == "entropy":
            p = np.clip(tone, eps, 1)
            parts.append(-(p * np.log(p)).sum(axis=1) / np.log(c))
        elif strategy == "margin":
            top2 = -np.sort(-tone, axis=1)[:, :2]
            parts.append(1.0 - (top2[:, 0] - top2[:, 1]))
        else:
            parts.append((1.0 - tone.max(axis=1)) / (1.0 - 1.0 / c))
    if not parts:
        raise ArtclfError("the model has neither a topic nor a tone head to score the pool with")
    return np.max(np.column_stack(parts), axis=1)


def uncertainty_scores(strategy: str, topic: np.ndarray | None, tone: np.ndarray | None) -> np.ndarray:
    """Per-article scores of ``uncertainty``, ``margin`` or ``entropy`` (see the module doc)."""
    if strategy not in ("uncertainty", "margin", "entropy"):
        raise ValueError(strategy)
    return _task_scores(strategy, topic, tone)


def _normalised(X: Any) -> Any:
    from sklearn.preprocessing import normalize

    return normalize(X, norm="l2", axis=1)


def k_center_greedy(X: Any, n: int, labeled: Any | None = None, seed: int = 0) -> tuple[list[int], np.ndarray]:
    """Greedy k-center picks from rows of ``X`` (sparse or dense): each pick is the row farthest (in
    cosine distance) from the labeled rows and the earlier picks. Returns the picks and, for each,
    its distance when picked (its score)."""
    X = _normalised(X)
    m = X.shape[0]
    n = min(n, m)
    nearest = np.full(m, np.inf)
    if labeled is not None and labeled.shape[0]:
        L = _normalised(labeled)
        for start in range(0, L.shape[0], 512):
            sims = X @ L[start:start + 512].T
            sims = sims.toarray() if hasattr(sims, "toarray") else np.asarray(sims)
            nearest = np.minimum(nearest, 1.0 - sims.max(axis=1))
    picks: list[int] = []
    scores = []
    rng = np.random.default_rng(seed)
    for _ in range(n):
        if np.isinf(nearest).all():
            i = int(rng.integers(m))
            score = 1.0
        else:
            masked = np.where(np.isin(np.arange(m), picks), -np.inf, nearest)
            i = int(np.argmax(masked))
            score = float(nearest[i])
        picks.append(i)
        scores.append(score)
        row = X[i]
        sims = X @ row.T
        sims = np.asarray(sims.toarray() if hasattr(sims, "toarray") else sims).ravel()
        nearest = np.minimum(nearest, 1.0 - sims)
    return picks, np.asarray(scores)


def rule_disagreement(rules: Sequence[Any], texts: Sequence[str], topic_pred: Sequence[Sequence[str]] | None,
                      tone_pred: Sequence[str] | None, topic_labels: Sequence[str]) -> np.ndarray:
    """Per text: the topic labels the model and the labeling rules disagree on, plus 1 when a tone
    rule fired and names another tone than the model's."""
    from train.data.weak import fired_rules, weak_tone, weak_topics

    out = np.zeros(len(texts))
    for i, text in enumerate(texts):
        fired = fired_rules(rules, text)
        if topic_pred is not None:
            rule_topics, _ = weak_topics(rules, fired, topic_labels)
            out[i] += len(set(rule_topics) ^ set(topic_pred[i]))
        if tone_pred is not None:
            rule_tone, source = weak_tone(rules, fired)
            if source not in ("rules:default", "rules:tie") and rule_tone != tone_pred[i]:
                out[i] += 1
    return out


def select(strategy: str, n: int, *, topic: np.ndarray | None = None, tone: np.ndarray | None = None,
           X: Any = None, labeled_X: Any = None, disagreement: np.ndarray | None = None,
           seed: int = 13, size: int | None = None) -> tuple[list[int], np.ndarray]:
    """The ``n`` pool rows to label next by ``strategy`` and their scores (higher = picked first).

    ``topic`` (rows, labels) are threshold-adjusted topic scores (label predicted at >= 0.5),
    ``tone`` (rows, tones) tone probabilities, ``X`` the pool's features and ``labeled_X`` the
    labeled articles' (diversity), ``disagreement`` per-row counts from :func:`rule_disagreement`.
    """
    if size is None:
        size = len(topic) if topic is not None else len(tone) if tone is not None else X.shape[0]
    n = min(n, size)
    if strategy == "random":
        order = np.random.default_rng(seed).permutation(size)[:n]
        return [int(i) for i in order], np.zeros(n)
    if strategy in ("diversity", "hybrid") and X is None:
        raise ArtclfError(f"the {strategy} strategy needs the model's features")
    if strategy == "diversity":
        return k_center_greedy(X, n, labeled_X, seed)
    if strategy == "hybrid":
        uncertain = np.argsort(-_task_scores("uncertainty", topic, tone), kind="stable")[: HYBRID_POOL * n]
        picks, scores = k_center_greedy(X[uncertain], n, labeled_X, seed)
        return [int(uncertain[i]) for i in picks], scores
    if strategy == "disagreement":
        if disagreement is None:
            raise ArtclfError("the disagreement strategy needs labeling rules (data.rules in the config)")
        scores = disagreement + 0.5 * _task_scores("uncertainty", topic, tone)
    elif strategy in ("uncertainty", "margin", "entropy"):
        scores = _task_scores(strategy, topic, tone)
    else:
        raise ArtclfError(f"unknown strategy '{strategy}'; use one of {', '.join(STRATEGIES)}")
    order = np.argsort(-scores, kind="stable")[:n]
    return [int(i) for i in order], scores[order]


@dataclass
class QueueResult:
    items: list[dict[str, Any]]
    strategy: str
    model_version: str | None
    pool_size: int
    already_labeled: int
    topic_labels: list[str] = field(default_factory=list)
    tone_labels: list[str] = field(default_factory=list)


def labeled_ids(labels_path: Path | None) -> set[str]:
    """Ids that already have a line in a labels file (missing file: none)."""
    from train.data.labels import read_jsonl

    if labels_path is None or not labels_path.exists():
        return set()
    return {str(record.get("id")) for _, record in read_jsonl(labels_path) if record.get("id")}


def build_queue(pool: Path, n: int = 20, strategy: str = "uncertainty", model_ref: str | None = "latest",
                models_dir: Path = Path("models"), labels_path: Path | None = None, config_path: Path | None = None,
                pool_format: str | None = None, seed: int = 13, evidence_top: int = 5) -> QueueResult:
    """Read the pool, drop the ids ``labels_path`` already labels, and rank the rest by ``strategy``."""
    from train.config import load_config
    from train.label.pool import read_pool

    if strategy not in STRATEGIES:
        raise ArtclfError(f"unknown strategy '{strategy}'; use one of {', '.join(STRATEGIES)}")
    config = load_config(config_path)
    items = read_pool(pool, pool_format, config)
    done = labeled_ids(labels_path)
    todo = [item for item in items if item.id not in done]
    if not todo:
        raise ArtclfError(f"{pool}: every article of the pool is already labeled in {labels_path}; nothing to queue")
    # The random control needs no model, but shows the latest one's predictions when there is one.
    model = _load(model_ref or "latest", models_dir, required=strategy not in MODEL_FREE or bool(model_ref))
    texts = [item.text for item in todo]
    topic = tone = X = None
    predictions: list[dict[str, Any]] = [{} for _ in todo]
    if model is not None:
        topic, tone = model.scores(texts)
        predictions = model.classify(texts)
    disagreement = None
    if strategy in ("diversity", "hybrid"):
        X = _features(model, texts)
    if strategy == "disagreement":
        from train.data.weak import load_rules

        if not config.data.rules:
            raise ArtclfError("the disagreement strategy needs labeling rules; set data.rules in the config")
        rules = load_rules(Path(config.data.rules), config.labels)
        disagreement = rule_disagreement(rules, texts, [p.get("topics", []) for p in predictions] if topic is not None else None,
                                         [p["tone"] for p in predictions] if tone is not None else None, model.topic_labels)
    picks, scores = select(strategy, n, topic=topic, tone=tone, X=X, disagreement=disagreement, seed=seed, size=len(todo))
    out = []
    for rank, (i, score) in enumerate(zip(picks, scores), start=1):
        item = todo[i]
        row: dict[str, Any] = {"rank": rank, "id": item.id, "title": item.title, "text": item.text,
                               "strategy": strategy, "score": round(float(score), 4)}
        if model is not None:
            row["predictions"] = predictions[i]
            row["evidence"] = evidence_ngrams(model, item.text, predictions[i], evidence_top)
        out.append(row)
    return QueueResult(out, strategy, model.version if model is not None else None, len(items), len(items) - len(todo),
                       model.topic_labels if model is not None else list(config.labels.topics),
                       model.tone_labels if model is not None else list(config.labels.tone))


def _load(ref: str, models_dir: Path, required: bool) -> Any:
    from artclf.errors import ModelNotFoundError
    from train.store.load import load_model

    try:
        return load_model(ref, models_dir)
    except ModelNotFoundError as exc:
        if not required:
            return None
        raise ArtclfError(f"{exc}; this strategy needs a trained model: run `artclf train` first, "
                          "or use --strategy random") from None


def _features(model: Any, texts: Sequence[str]) -> Any:
    pipeline = model.topic_pipeline if model.topic_pipeline is not None else model.tone_pipeline
    return pipeline[:-1].transform(list(texts))


def evidence_ngrams(model: Any, text: str, prediction: dict[str, Any], top: int = 5) -> dict[str, list[str]]:
    """For each predicted topic and the predicted tone, the n-grams that pushed it most."""
    out: dict[str, list[str]] = {}
    for label in prediction.get("topics", []):
        out[label] = [e["ngram"] for e in model.evidence(text, "topic", label, top)]
    if "tone" in prediction:
        out[prediction["tone"]] = [e["ngram"] for e in model.evidence(text, "tone", prediction["tone"], top)]
    return out


def label_studio_config(topic_labels: Sequence[str], tone_labels: Sequence[str]) -> str:
    """The Label Studio labeling interface our tasks and imports expect (paste it under Settings ->
    Labeling Interface -> Code)."""
    topics = "\n".join(f'    <Choice value="{t}"/>' for t in topic_labels)
    tones = "\n".join(f'    <Choice value="{t}"/>' for t in tone_labels)
    return (
        "<View>\n"
        '  <Header value="$title"/>\n'
        '  <Text name="text" value="$text"/>\n'
        '  <Header value="Topics (leave all unticked for no topic)"/>\n'
        f'  <Choices name="topics" toName="text" choice="multiple" showInline="true">\n{topics}\n  </Choices>\n'
        '  <Header value="Tone"/>\n'
        f'  <Choices name="tone" toName="text" choice="single-radio" showInline="true" required="true">\n{tones}\n  </Choices>\n'
        "</View>\n"
    )


def label_studio_tasks(result: QueueResult) -> list[dict[str, Any]]:
    """Label Studio tasks: ``data`` holds our id, title and text; ``predictions`` the model's
    labels as pre-annotations (shown to the annotator, who corrects and submits them)."""
    tasks = []
    for row in result.items:
        task: dict[str, Any] = {"data": {"id": row["id"], "title": row["title"], "text": row["text"],
                                         "strategy": row["strategy"], "queue_score": row["score"]}}
        prediction = row.get("predictions")
        if prediction:
            results = []
            if prediction.get("topics"):
                results.append({"from_name": "topics", "to_name": "text", "type": "choices",
                                "value": {"choices": list(prediction["topics"])}})
            if "tone" in prediction:
                results.append({"from_name": "tone", "to_name": "text", "type": "choices",
                                "value": {"choices": [prediction["tone"]]}})
            confidence = max(prediction.get("tone_scores", {}).values(), default=None)
            task["predictions"] = [{"model_version": result.model_version or "", "result": results,
                                    **({"score": confidence} if confidence is not None else {})}]
        tasks.append(task)
    return tasks


def write_queue(pool: Path, out: Path | None, fmt: str = "jsonl", **kwargs: Any) -> tuple[QueueResult, str]:
    """Build the queue and render it as ``jsonl`` or ``label-studio`` (a JSON task list); write it to
    ``out`` atomically (with the labeling config beside a Label Studio file), or return the text."""
    import json

    from train.fsutil import write_bytes_atomic

    if fmt not in ("jsonl", "label-studio"):
        raise ArtclfError(f"unknown format '{fmt}'; use jsonl or label-studio")
    result = build_queue(pool, **kwargs)
    if fmt == "jsonl":
        text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in result.items)
    else:
        text = json.dumps(label_studio_tasks(result), ensure_ascii=False, indent=1) + "\n"
    if out is not None:
        write_bytes_atomic(out, text)
        if fmt == "label-studio":
            write_bytes_atomic(out.with_name(out.stem + ".label_config.xml"),
                               label_studio_config(result.topic_labels, result.tone_labels))
    return result, text
