"""Duplicate detection, so that no article and no near-copy of it crosses train and test.

Exact duplicates share a normalised-text hash. Near-duplicates (a re-run wire story with a new
first line, a corrected copy) share at least ``threshold`` of their word 5-gram shingles (Jaccard).
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from typing import Sequence

_WORD = re.compile(r"\w+")
_SHINGLE = 5
# Shingles found in more documents than this are boilerplate ("said in a statement on"), not
# evidence of copying; skipping them keeps the pair count near linear.
_MAX_POSTING = 50


def normalized_hash(text: str) -> str:
    words = _WORD.findall(text.lower())
    return hashlib.sha256(" ".join(words).encode()).hexdigest()


def _shingles(text: str) -> set[int]:
    words = _WORD.findall(text.lower())
    if len(words) < _SHINGLE:
        return {hash(" ".join(words))}
    return {hash(" ".join(words[i : i + _SHINGLE])) for i in range(len(words) - _SHINGLE + 1)}


def exact_duplicates(texts: Sequence[str]) -> dict[int, int]:
    """Map index of each later copy -> index of the first copy with the same normalised text."""
    first: dict[str, int] = {}
    dupes: dict[int, int] = {}
    for i, text in enumerate(texts):
        key = normalized_hash(text)
        if key in first:
            dupes[i] = first[key]
        else:
            first[key] = i
    return dupes


def near_duplicate_pairs(texts: Sequence[str], threshold: float) -> list[tuple[int, int, float]]:
    """Pairs (i, j, jaccard) with i < j whose shingle Jaccard similarity is >= threshold."""
    shingles = [_shingles(t) for t in texts]
    postings: dict[int, list[int]] = defaultdict(list)
    for i, sh in enumerate(shingles):
        for s in sh:
            postings[s].append(i)
    shared: dict[tuple[int, int], int] = defaultdict(int)
    for docs in postings.values():
        if len(docs) < 2 or len(docs) > _MAX_POSTING:
            continue
        for a in range(len(docs)):
            for b in range(a + 1, len(docs)):
                shared[(docs[a], docs[b])] += 1
    pairs = []
    for (i, j), n in shared.items():
        jaccard = n / (len(shingles[i]) + len(shingles[j]) - n)
        if jaccard >= threshold:
            pairs.append((i, j, round(jaccard, 4)))
    return sorted(pairs)


def duplicate_groups(n: int, pairs: Sequence[tuple[int, int, float]]) -> list[int]:
    """Group id for each of n items, joining every pair (union-find); a group id is its smallest member."""
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j, _ in pairs:
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    return [find(i) for i in range(n)]
