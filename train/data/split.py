"""Split stage: deterministic train/validation/test splits that keep duplicate groups together.

``stratified`` is iterative stratification (Sechidis, Tsoumakas & Vlahavas 2011) over the topic
labels and the tone, applied to groups of near-duplicate articles so that copies land in one split.
``time`` puts the oldest articles in train and the newest in test, since news drifts.
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Sequence

import numpy as np

SPLITS = ("train", "validation", "test")


def iterative_stratification(
    label_sets: Sequence[Sequence[str]],
    fractions: Sequence[float],
    seed: int,
    groups: Sequence[int] | None = None,
) -> list[int]:
    """Assign each item to a part (index into ``fractions``) keeping every label's share per part.

    Items in the same group are assigned together. Deterministic for a given seed.
    """
    n = len(label_sets)
    groups = list(groups) if groups is not None else list(range(n))
    members: dict[int, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        members[g].append(i)
    units = sorted(members)
    rng = random.Random(seed)
    rng.shuffle(units)
    unit_labels = {u: [lab for i in members[u] for lab in label_sets[i]] for u in units}

    fractions = np.asarray(fractions, dtype=float) / sum(fractions)
    desired_total = fractions * n
    all_labels = sorted({lab for labs in label_sets for lab in labs})
    desired = {lab: fractions * sum(labs.count(lab) for labs in label_sets) for lab in all_labels}
    assignment = [-1] * n
    remaining = set(units)

    def place(unit: int, part: int) -> None:
        for i in members[unit]:
            assignment[i] = part
        desired_total[part] -= len(members[unit])
        for lab in unit_labels[unit]:
            desired[lab][part] -= 1
        remaining.discard(unit)

    def best_part(scores: np.ndarray) -> int:
        # Ties go to the part that still wants the most items overall, then at random.
        top = np.flatnonzero(scores == scores.max())
        if len(top) > 1:
            totals = desired_total[top]
            top = top[totals == totals.max()]
        return int(top[rng.randrange(len(top))]) if len(top) > 1 else int(top[0])

    while remaining:
        counts: dict[str, int] = defaultdict(int)
        for u in remaining:
            for lab in set(unit_labels[u]):
                counts[lab] += 1
        if not counts:
            break
        # The rarest label goes first: it is the hardest to spread evenly.
        rarest = min(counts, key=lambda lab: (counts[lab], lab))
        for u in [u for u in units if u in remaining and rarest in unit_labels[u]]:
            place(u, best_part(desired[rarest]))
    for u in [u for u in units if u in remaining]:
        place(u, best_part(desired_total))
    return assignment


def time_split(dates: Sequence[str | None], fractions: Sequence[float], groups: Sequence[int]) -> list[int]:
    """Oldest items to part 0, newest to the last part; undated items count as oldest.

    A whole duplicate group goes where its newest member falls, so no copy crosses parts.
    """
    n = len(dates)
    newest: dict[int, str] = {}
    for d, g in zip(dates, groups):
        newest[g] = max(newest.get(g, ""), d or "")
    order = sorted(range(n), key=lambda i: (newest[groups[i]], groups[i], i))
    bounds = np.cumsum(np.asarray(fractions, dtype=float) / sum(fractions)) * n
    assignment = [0] * n
    group_part: dict[int, int] = {}
    for rank, i in enumerate(order):
        g = groups[i]
        if g not in group_part:
            group_part[g] = int(np.searchsorted(bounds, rank, side="right"))
        assignment[i] = min(group_part[g], len(fractions) - 1)
    return assignment
