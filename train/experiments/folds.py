"""The folds every compared config is scored on: repeated k-fold over train+validation records,
near-duplicate groups kept in one fold."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from artclf.errors import ArtclfError
from train.experiments.results import Fold

__all__ = ["check_enough_data", "make_folds"]


def make_folds(records: Sequence[Any], k: int, repeats: int, seed: int, jaccard: float) -> list[Fold]:
    """K stratified folds per repeat (over topics and tone), near-duplicates kept in one fold."""
    from train.data.dedup import duplicate_groups, near_duplicate_pairs
    from train.data.split import iterative_stratification

    groups = duplicate_groups(len(records), near_duplicate_pairs([r.text for r in records], jaccard))
    label_sets = [[f"topic:{t}" for t in r.topics] + [f"tone:{r.tone}"] for r in records]
    out = []
    for repeat in range(repeats):
        parts = np.asarray(iterative_stratification(label_sets, [1.0] * k, seed + repeat, groups))
        for fold in range(k):
            out.append(Fold(repeat, fold, np.flatnonzero(parts != fold).tolist(), np.flatnonzero(parts == fold).tolist()))
    return out


def check_enough_data(records: Sequence[Any], tasks: dict[str, list[str]], k: int, where: str) -> None:
    """Every label needs at least K examples, or some folds would hold none of it."""
    if k < 2:
        raise ArtclfError(f"--folds must be at least 2, got {k}")
    counts: dict[str, int] = {}
    for label in tasks["topic"]:
        counts[f"topic '{label}'"] = sum(label in r.topics for r in records)
    for label in tasks["tone"]:
        counts[f"tone '{label}'"] = sum(r.tone == label for r in records)
    name, have = min(counts.items(), key=lambda kv: kv[1])
    suggest = have
    if len(records) // 2 < have:
        # Each fold must also leave a training part at least as big as its test part.
        name, have, suggest = "articles", len(records), len(records) // 2
    if suggest >= k:
        return
    if suggest >= 2:
        raise ArtclfError(
            f"{where}: too small for {k} folds: {name} has only {have} example(s), so some folds would "
            f"hold none; use --folds {suggest} or fewer, or label more articles"
        )
    raise ArtclfError(
        f"{where}: too small to cross-validate: {name} has only {have} example(s); "
        "label more articles (at least 2 per label)"
    )
