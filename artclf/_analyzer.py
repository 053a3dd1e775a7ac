"""scikit-learn's text analysis (TfidfVectorizer / HashingVectorizer ``build_analyzer``),
reproduced in pure Python so the runtime needs neither scikit-learn nor scipy.

Each function mirrors the function of the same role in sklearn/feature_extraction/text.py
(scikit-learn 1.9); FORMAT.md states the algorithm, and the parity tests hold the two together.
Speed: the per-token work is left to C-level builtins (``str.translate``, ``str.split``,
``re.findall``, ``map`` over ``str.join`` and the hash), so a text costs a few Python calls, not
a few per token.
"""

from __future__ import annotations

import functools
import re
import struct
from typing import Callable

__all__ = ["Analyzer", "murmurhash3_32", "hashed_index", "strip_accents_unicode", "term_hasher"]


class _CombiningMarks(dict):  # type: ignore[type-arg]
    """A ``str.translate`` table that deletes code points with a non-zero canonical combining
    class, filled on first sight of each code point (at most one entry per code point seen):
    translating is then one C call per text instead of a Python test per character."""

    def __missing__(self, code: int) -> int | None:
        import unicodedata

        # Every code point with a non-zero combining class is >= U+0300.
        value = None if code >= 0x300 and unicodedata.combining(chr(code)) else code
        self[code] = value
        return value


_COMBINING = _CombiningMarks()


def strip_accents_unicode(text: str) -> str:
    """NFKD, then drop every code point whose canonical combining class is not 0.

    ASCII text is returned untouched (sklearn's fast path): NFKD would not change it anyway.
    """
    if text.isascii():
        return text
    import unicodedata

    normalized = unicodedata.normalize("NFKD", text)
    return normalized if normalized.isascii() else normalized.translate(_COMBINING)


# scikit-learn's default token pattern: on a str, the maximal runs of 2+ word characters, which
# `\w\w+` finds without the two \b tests (a match can only start where a run starts). On ASCII
# text the word characters are [A-Za-z0-9_]: every other ASCII character becomes a space and
# str.split() finds the same runs, about twice as fast as the regex.
_RUNS_OF_TWO = frozenset({r"(?u)\b\w\w+\b", r"\b\w\w+\b"})
_ASCII_NON_WORD = {c: " " for c in range(128) if not (chr(c).isalnum() or chr(c) == "_")}


def _runs_of_two(text: str, _pattern: re.Pattern[str] = re.compile(r"\w\w+"), _table: dict[int, str] = _ASCII_NON_WORD) -> list[str]:
    if text.isascii():
        return [w for w in text.translate(_table).split() if len(w) > 1]
    return _pattern.findall(text)


def word_ngrams(tokens: list[str], ngram_range: tuple[int, int], stop_words: frozenset[str] | None) -> list[str]:
    """Stop words are removed first, then n-grams are joined with one space (sklearn's order:
    all unigrams, then all bigrams, ...)."""
    if stop_words is not None:
        tokens = [w for w in tokens if w not in stop_words]
    min_n, max_n = ngram_range
    if max_n == 1:
        return tokens
    out: list[str] = list(tokens) if min_n == 1 else []
    for n in range(min_n + 1 if min_n == 1 else min_n, min(max_n, len(tokens)) + 1):
        if n == 0:  # sklearn's loop gives one empty string per position
            out.extend([""] * (len(tokens) + 1))
        else:
            # zip of n shifted views gives the windows in order; " ".join runs in C.
            out.extend(map(" ".join, zip(*[tokens[i:] for i in range(n)])))
    return out


def char_wb_ngrams(text: str, ngram_range: tuple[int, int]) -> list[str]:
    """Character n-grams inside words padded with one space; a word shorter than n gives itself
    once. sklearn first collapses runs of 2+ whitespace to one space, then calls ``str.split()``:
    the same words as ``str.split()`` alone, so that is what is done here."""
    min_n, max_n = ngram_range
    out: list[str] = []
    append = out.append
    for w in text.split():
        w = " " + w + " "
        w_len = len(w)
        for n in range(min_n, max_n + 1):
            offset = 0
            append(w[offset:offset + n])
            while offset + n < w_len:
                offset += 1
                append(w[offset:offset + n])
            if offset == 0:  # a short word (w_len < n) counts only once
                break
    return out


class Analyzer:
    """text -> list of terms, from one branch's analyzer spec in portable.json."""

    def __init__(self, spec: dict) -> None:
        self.kind: str = spec["kind"]
        self.lowercase: bool = bool(spec["lowercase"])
        self.strip_accents: bool = spec["strip_accents"] == "unicode"
        self.ngram_range: tuple[int, int] = (int(spec["ngram_range"][0]), int(spec["ngram_range"][1]))
        if self.kind == "word":
            self.pattern = re.compile(spec["token_pattern"])
            if self.pattern.groups > 1:
                raise ValueError("token_pattern has more than one capturing group")
            self._tokens: Callable[[str], list[str]] = (_runs_of_two if spec["token_pattern"] in _RUNS_OF_TWO
                                                          else self.pattern.findall)
            stop = spec.get("stop_words")
            self.stop_words: frozenset[str] | None = frozenset(stop) if stop is not None else None
        elif self.kind != "char_wb":
            raise ValueError(f"unknown analyzer kind {self.kind!r}")
        self._run: Callable[[str], list[str]] = self._word if self.kind == "word" else self._chars

    def preprocess(self, text: str) -> str:
        # lower() first, then accents: sklearn's _preprocess order.
        if self.lowercase:
            text = text.lower()
        if self.strip_accents:
            text = strip_accents_unicode(text)
        return text

    def _word(self, text: str) -> list[str]:
        return word_ngrams(self._tokens(self.preprocess(text)), self.ngram_range, self.stop_words)

    def _chars(self, text: str) -> list[str]:
        return char_wb_ngrams(self.preprocess(text), self.ngram_range)

    def __call__(self, text: str) -> list[str]:
        return self._run(text)


_C1, _C2, _M32 = 0xCC9E2D51, 0x1B873593, 0xFFFFFFFF
_U32 = struct.Struct("<I")


def murmurhash3_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 x86_32 of ``data``, as a signed 32-bit int (sklearn's murmurhash3_32(positive=False))."""
    h = seed & _M32
    n = len(data)
    nblocks = n // 4
    for (k,) in _U32.iter_unpack(data[:nblocks * 4]) if nblocks else ():
        k = (k * _C1) & _M32
        k = ((k << 15) | (k >> 17)) & _M32
        k = (k * _C2) & _M32
        h ^= k
        h = ((h << 13) | (h >> 19)) & _M32
        h = (h * 5 + 0xE6546B64) & _M32
    tail = data[nblocks * 4:]
    k = 0
    if len(tail) == 3:
        k ^= tail[2] << 16
    if len(tail) >= 2:
        k ^= tail[1] << 8
    if len(tail) >= 1:
        k ^= tail[0]
        k = (k * _C1) & _M32
        k = ((k << 15) | (k >> 17)) & _M32
        k = (k * _C2) & _M32
        h ^= k
    h ^= n
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _M32
    h ^= h >> 16
    return h - 0x100000000 if h & 0x80000000 else h


@functools.cache
def term_hasher() -> Callable[[str], int]:
    """str -> signed MurmurHash3 x86_32 (seed 0) of its UTF-8: ``mmh3.hash`` (C) when installed,
    else the pure-Python :func:`murmurhash3_32`; the two agree on every string (tested)."""
    try:
        from mmh3 import hash as mmh3_hash  # defaults: seed 0, signed, str encoded as UTF-8
    except ImportError:
        return _python_term_hash
    return mmh3_hash


# Natural text repeats its words: hashing each distinct term once is most of the pure-Python cost.
@functools.lru_cache(maxsize=1 << 16)
def _python_term_hash(term: str) -> int:
    return murmurhash3_32(term.encode("utf-8"), 0)


def hashed_index(term: str, n_features: int) -> int:
    """The column HashingVectorizer gives ``term``: abs(signed hash of its UTF-8) mod n_features.
    abs(-2**31) overflows in sklearn's C code, which defines it as below."""
    h = term_hasher()(term)
    if h == -2147483648:
        return (2147483647 - (n_features - 1)) % n_features
    return abs(h) % n_features
