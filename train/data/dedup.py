"""Duplicate detection, so that no article and no near-copy of it crosses train and test.

Exact duplicates share a normalised-text hash. Near-duplicates (a re-run wire story with a new
first line, a corrected copy) share at least ``threshold`` of their word 5-gram shingles (Jaccard).
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from typing import Callable, Sequence

import numpy as np

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


# --- Near-duplicates at scale: MinHash signatures and LSH banding -------------------------------
#
# The inverted index above pairs every two documents that share a 5-gram; its pair table grows
# with the square of how often passages recur, which in a large archive is often (measured in
# BENCHMARKS.md "Scaling"). Above ``MINHASH_ABOVE`` articles, candidates come from MinHash LSH
# instead: datasketch's MinHash hash family (``affine32``: a MurmurHash3 pre-mix, then one odd
# affine map per permutation, seeded as datasketch seeds them; tests check our batched arithmetic
# equals ``datasketch.MinHash.update_batch``) and LSH banding (``BANDS`` bands of ``ROWS``
# values). A pair at Jaccard J shares a band with probability 1 - (1 - J**ROWS)**BANDS: at the
# default 0.6 that is 0.99996 (a missed pair: 4 in 100,000), at 0.7 1 - 2e-9. Every candidate is
# then checked: first by the signatures' own estimate (a cheap filter with a wide margin), then by
# the exact Jaccard of its shingle sets, so no pair is reported that the exact method would not
# report, and groups are built from those pairs exactly as before.

MINHASH_ABOVE = 20_000
NUM_PERM = 126
BANDS, ROWS = 42, 3
MINHASH_SEED = 1
# Candidates whose signature estimate is this far below the threshold are not checked exactly:
# with 126 permutations the estimate's standard deviation is at most 0.045, so 0.2 is 4.5 sigma.
_ESTIMATE_MARGIN = 0.2
# A bucket holding more documents than this pairs each one with its next _BUCKET_CAP neighbours
# only (bucket members are in corpus order): an identical band shared by thousands of documents
# would otherwise emit millions of pairs, most of them the same group again.
_BUCKET_CAP = 64
_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _fmix64(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


_GRAM_MULT = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93, 0xFF51AFD7ED558CCD], dtype=np.uint64)


def shingle_hashes(text: str) -> np.ndarray:
    """The sorted, distinct 64-bit hashes of the text's word 5-grams (lowercased ``\\w+`` words,
    as ``_shingles``; the whole text is one shingle when it has fewer than 5 words). Deterministic
    across processes and runs (xxhash of each word, then a mixed polynomial of five), unlike
    Python's salted ``hash``, so MinHash signatures do not change from run to run."""
    import xxhash

    words = _WORD.findall(text.lower())
    if not words:
        return np.zeros(1, dtype=np.uint64)
    ids = np.fromiter((xxhash.xxh64_intdigest(w.encode()) for w in words), dtype=np.uint64, count=len(words))
    if len(ids) < _SHINGLE:
        grams = np.bitwise_xor.reduce(ids * _GRAM_MULT[: len(ids)], keepdims=True)
    else:
        span = len(ids) - _SHINGLE + 1
        grams = np.zeros(span, dtype=np.uint64)
        for k in range(_SHINGLE):
            grams ^= ids[k : k + span] * _GRAM_MULT[k]
    return np.unique(_fmix64(grams))


class MinHasher:
    """Batched MinHash signatures in datasketch's ``affine32`` scheme."""

    def __init__(self, num_perm: int = NUM_PERM, seed: int = MINHASH_SEED) -> None:
        from datasketch import MinHash

        self.num_perm, self.seed = num_perm, seed
        self.a, self.b = MinHash(num_perm=num_perm, seed=seed).permutations

    @staticmethod
    def input_hashes(shingles: np.ndarray) -> np.ndarray:
        """A shingle's 32-bit input value (what a datasketch ``hashfunc`` would return for it)."""
        return (shingles ^ (shingles >> np.uint64(32))).astype(np.uint32)

    def signatures(self, shingle_sets: Sequence[np.ndarray], chunk: int = 256) -> np.ndarray:
        """(len(shingle_sets), num_perm) uint32 signatures; an empty set gets the maximum value."""
        out = np.full((len(shingle_sets), self.num_perm), np.iinfo(np.uint32).max, dtype=np.uint32)
        for start in range(0, len(shingle_sets), chunk):
            part = shingle_sets[start : start + chunk]
            sizes = np.array([len(s) for s in part])
            if not sizes.sum():
                continue
            h = self.input_hashes(np.concatenate(part))
            # datasketch's _fmix for 32 bits, then a*h + b per permutation, wrapping in uint32.
            h = h ^ (h >> np.uint32(16))
            h = h * np.uint32(0x85EBCA6B)
            h = h ^ (h >> np.uint32(13))
            h = h * np.uint32(0xC2B2AE35)
            h = h ^ (h >> np.uint32(16))
            permuted = h[:, None] * self.a[None, :] + self.b[None, :]
            rows = np.flatnonzero(sizes)
            starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])[rows]
            out[start + rows] = np.minimum.reduceat(permuted, starts, axis=0)
        return out


def lsh_candidates(signatures: np.ndarray, bands: int = BANDS, rows: int = ROWS) -> np.ndarray:
    """Pairs (i, j), i < j, sharing at least one band of ``rows`` signature values; shape (k, 2)."""
    n = len(signatures)
    found = []
    for band in range(bands):
        block = signatures[:, band * rows : (band + 1) * rows].astype(np.uint64)
        key = np.zeros(n, dtype=np.uint64)
        for k in range(rows):
            key = _fmix64(key ^ (block[:, k] * _GRAM_MULT[k]))
        order = np.argsort(key, kind="stable")
        sorted_keys = key[order]
        cut = np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1
        starts = np.concatenate([[0], cut])
        sizes = np.diff(np.concatenate([starts, [n]]))
        for s, size in zip(starts[sizes > 1], sizes[sizes > 1]):
            members = np.sort(order[s : s + size])
            reach = min(size - 1, _BUCKET_CAP)
            for step in range(1, reach + 1):
                found.append(np.column_stack([members[:-step], members[step:]]))
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.concatenate(found).astype(np.int64)
    return np.unique(pairs, axis=0)


def exact_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    shared = len(np.intersect1d(a, b, assume_unique=True))
    return shared / (len(a) + len(b) - shared)


def verify_candidates(
    candidates: np.ndarray,
    signatures: np.ndarray,
    shingles_of: Callable[[np.ndarray], dict[int, np.ndarray]],
    threshold: float,
) -> list[tuple[int, int, float]]:
    """The candidates whose exact shingle Jaccard is >= threshold. ``shingles_of(ids)`` returns the
    shingle sets of those documents (the caller may recompute them from text read back in batches)."""
    if not len(candidates):
        return []
    estimate = np.empty(len(candidates))
    for start in range(0, len(candidates), 100_000):
        part = candidates[start : start + 100_000]
        estimate[start : start + len(part)] = (signatures[part[:, 0]] == signatures[part[:, 1]]).mean(axis=1)
    kept = candidates[estimate >= threshold - _ESTIMATE_MARGIN]
    if not len(kept):
        return []
    sets = shingles_of(np.unique(kept))
    pairs = []
    for i, j in kept.tolist():
        jaccard = exact_jaccard(sets[i], sets[j])
        if jaccard >= threshold:
            pairs.append((i, j, round(jaccard, 4)))
    return pairs


def minhash_pairs(texts: Sequence[str], threshold: float) -> list[tuple[int, int, float]]:
    """``near_duplicate_pairs`` by MinHash LSH (see above), for texts held in memory."""
    hasher = MinHasher()
    signatures = np.empty((len(texts), hasher.num_perm), dtype=np.uint32)
    for start in range(0, len(texts), 4096):
        signatures[start : start + 4096] = hasher.signatures([shingle_hashes(t) for t in texts[start : start + 4096]])
    candidates = lsh_candidates(signatures)
    return sorted(verify_candidates(candidates, signatures, lambda ids: {int(i): shingle_hashes(texts[i]) for i in ids}, threshold))


def find_near_duplicates(texts: Sequence[str], threshold: float, method: str = "auto") -> list[tuple[int, int, float]]:
    """Near-duplicate pairs by the inverted index (``exact``) or MinHash LSH (``minhash``);
    ``auto`` uses MinHash above MINHASH_ABOVE texts."""
    if method == "minhash" or (method == "auto" and len(texts) > MINHASH_ABOVE):
        return minhash_pairs(texts, threshold)
    return near_duplicate_pairs(texts, threshold)
