"""``evaluate --plots DIR``: a reliability diagram, the confusion matrices and per-label
precision-recall curves, as PNG files (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from train.evaluate.metrics import reliability_bins

__all__ = ["write_plots"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_plots(folder: Path, records: Sequence[Any], results: Sequence[dict[str, Any]], raw: Sequence[dict[str, Any]],
                topic_labels: Sequence[str], tone_labels: Sequence[str], title: str = "") -> list[str]:
    """Write ``reliability.png``, ``confusion.png`` and (with topics) ``precision_recall.png``
    into ``folder``; returns the paths written."""
    from artclf.errors import ArtclfError

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ArtclfError(f"{folder}: cannot create the plots folder ({exc.strerror or exc})") from None
    plt = _pyplot()
    written = []
    multilabel = bool(topic_labels) and results and "topic" not in results[0]

    # Reliability: each topic label's probability against how often the label is true, and the
    # tone's top probability against how often that tone is right.
    panels = (1 if multilabel else 0) + (1 if tone_labels else 0)
    if panels:
        fig, axes = plt.subplots(1, panels, figsize=(4.2 * panels, 4), squeeze=False)
        ax_iter = iter(axes[0])
        if multilabel:
            ax = next(ax_iter)
            for label in topic_labels:
                p = [s["topic_scores"][label] for s in raw]
                y = [label in r.topics for r in records]
                bins = reliability_bins(p, y)
                line, = ax.plot([b["confidence"] for b in bins], [b["frequency"] for b in bins], label=label, alpha=0.7)
                # Marker area grows with the bin's count: a wild point from 2 articles looks like one.
                ax.scatter([b["confidence"] for b in bins], [b["frequency"] for b in bins], s=[8 + 4 * b["n"] ** 0.5 * 3 for b in bins],
                           color=line.get_color(), zorder=3)
            _diagonal(ax, "topic probability (marker area ~ articles)", "share of articles with the label", "topics")
        if tone_labels:
            ax = next(ax_iter)
            conf = [s["tone_scores"][r["tone"]] for s, r in zip(raw, results)]
            right = [r["tone"] == rec.tone for r, rec in zip(results, records)]
            bins = reliability_bins(conf, right)
            ax.bar([b["confidence"] for b in bins], [b["frequency"] for b in bins], width=0.08, alpha=0.6, label="accuracy")
            ax.plot([b["confidence"] for b in bins], [b["frequency"] for b in bins], marker="o", color="C3")
            _diagonal(ax, "tone probability (predicted tone)", "share predicted right", "tone")
        fig.suptitle(f"Reliability {title}".strip())
        written.append(_save(plt, fig, folder / "reliability.png"))

    # Confusion: tone (rows true, columns predicted) and each topic label's yes/no counts.
    from sklearn.metrics import confusion_matrix

    mats = []
    if tone_labels:
        mats.append(("tone", list(tone_labels), confusion_matrix([r.tone for r in records], [r["tone"] for r in results], labels=list(tone_labels))))
    if multilabel:
        for label in topic_labels:
            mats.append((label, ["no", "yes"], confusion_matrix([label in r.topics for r in records],
                                                                 [label in r["topics"] for r in results], labels=[False, True])))
    if mats:
        fig, axes = plt.subplots(1, len(mats), figsize=(3.2 * len(mats), 3.2), squeeze=False)
        for ax, (name, ticks, m) in zip(axes[0], mats):
            ax.imshow(m, cmap="Blues")
            for (i, j), v in np.ndenumerate(m):
                ax.text(j, i, str(v), ha="center", va="center", color="black")
            ax.set_xticks(range(len(ticks)), ticks, rotation=30)
            ax.set_yticks(range(len(ticks)), ticks)
            ax.set_title(name)
            ax.set_xlabel("predicted")
            ax.set_ylabel("true")
        written.append(_save(plt, fig, folder / "confusion.png"))

    if multilabel:
        from sklearn.metrics import average_precision_score, precision_recall_curve

        fig, ax = plt.subplots(figsize=(4.5, 4))
        for label in topic_labels:
            y = np.array([label in r.topics for r in records])
            p = np.array([s["topic_scores"][label] for s in raw])
            if y.any():
                precision, recall, _ = precision_recall_curve(y, p)
                ax.plot(recall, precision, label=f"{label} (AP {average_precision_score(y, p):.3f})")
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        ax.set_xlim(0, 1.01)
        ax.set_ylim(0, 1.01)
        ax.legend(loc="lower left")
        ax.set_title(f"Precision-recall per topic {title}".strip())
        written.append(_save(plt, fig, folder / "precision_recall.png"))
    return written


def _save(plt: Any, fig: Any, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return str(path)


def _diagonal(ax: Any, xlabel: str, ylabel: str, title: str) -> None:
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfect")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
