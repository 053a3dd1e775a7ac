"""A synthetic news corpus of any size, built from the real texts in ``../shared/data``.

    python -m bench.corpus --n 1000000 --seed 13 --out /tmp/corpus   # part-00000.jsonl, ...

Each article is made of real paragraphs: the title and lead of a base document (BBC News,
Reuters-21578, 20 Newsgroups or AG News), followed by paragraphs drawn from other documents of the
same source and class, as many as the base document had, so lengths follow the sources' own
distribution. A small share of articles (``near_duplicate_rate``) are near-copies of an earlier
one (a new headline, a paragraph dropped or added), the way wire stories are re-run, so the
near-duplicate grouping has real work at every size. Labels are the project's labeling rules
(``configs/rules/lexicons.toml`` by default, ``train/data/weak.py``): rule hits are counted once
per paragraph and title, and an article's hits are the sum over its parts (a phrase split across
two paragraphs is the only thing that could differ from running the rules on the whole text;
``tests/test_corpus.py`` checks a sample both ways).

Article ``i`` depends only on ``(seed, i)`` and the shared data, so the corpus is the same whatever
the number of worker processes, and any slice of it can be regenerated alone. The output is a
folder of JSONL files (``{"id", "title", "text", "topics", "tone"}``), read with
``[data] format = "jsonl"`` and ``source = <folder>``; the labels are in the rows, so such a
config sets ``rules = ""`` (the rules already ran here). The text is research-only data: it is
written where ``--out`` says, never into the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

REPO = Path(__file__).resolve().parents[1]
# Share of generated articles per source: mostly news (BBC, Reuters), some newsgroup posts and
# short AG News items, as a real archive mixes long reports, wire copy and briefs.
SOURCE_WEIGHTS = {"bbc": 0.30, "reuters": 0.35, "20ng": 0.25, "agnews": 0.10}
PART_ROWS = 100_000  # rows per JSONL file
# Bump when build_pool changes what it reads or counts (the cached pools are keyed by it).
POOL_VERSION = 1
_REUTERS_PARA = re.compile(r"\n\s*\n|\n(?= {3,}\S)")
_NG_SUBJECT = re.compile(r"^Subject:\s*(?:re:\s*)*(.*)$", re.I | re.M)


@dataclass
class Pool:
    """Paragraphs of the real documents, grouped by (source, class), with rule hits per part."""

    rule_names: list[str]
    titles: list[str]
    title_hits: np.ndarray  # (documents, rules) int32
    paragraphs: list[str]
    paragraph_hits: np.ndarray  # (paragraphs, rules) int32
    # document -> its paragraph ids (into ``paragraphs``) as an int32 array
    doc_paragraphs: list[np.ndarray]
    # source -> class -> document ids
    classes: dict[str, dict[str, np.ndarray]]


def _split_paragraphs(source: str, body: str) -> list[str]:
    splitter = _REUTERS_PARA if source == "reuters" else re.compile(r"\n\s*\n")
    return [p.strip() for p in splitter.split(body) if p.strip() and len(p.split()) >= 3]


def _documents(limit: int | None = None, seed: int = 0) -> list[tuple[str, str, str, list[str]]]:
    """(source, class, title, paragraphs) of every usable document (``limit`` per source: a sample)."""
    from train.data import sources

    out: list[tuple[str, str, str, list[str]]] = []
    loaders: dict[str, Callable[[], list[Any]]] = {
        "bbc": sources.bbc, "reuters": sources.reuters, "20ng": sources.newsgroups, "agnews": sources.ag_news,
    }
    for name, load in loaders.items():
        docs = load()
        if limit is not None and len(docs) > limit:
            keep = np.random.default_rng(seed).choice(len(docs), limit, replace=False)
            docs = [docs[i] for i in sorted(keep)]
        for d in docs:
            if name == "20ng":
                # Headers are mail furniture, not article text: the subject becomes the title.
                header, _, body = d.text.partition("\n\n")
                match = _NG_SUBJECT.search(header)
                title = match.group(1).strip() if match else ""
            else:
                title = d.title
                body = d.text[len(title):] if title and d.text.startswith(title) else d.text
            paragraphs = _split_paragraphs(name, body)
            if title and paragraphs:
                out.append((name, d.labels[0] if d.labels else "none", title, paragraphs))
    return out


def _hits(texts: Sequence[str], rules: Sequence[Any]) -> np.ndarray:
    out = np.zeros((len(texts), len(rules)), dtype=np.int32)
    for i, text in enumerate(texts):
        for j, rule in enumerate(rules):
            out[i, j] = rule.hits(text)
    return out


_WORKER_RULES: list[Any] = []


def _hits_chunk(texts: list[str]) -> np.ndarray:
    return _hits(texts, _WORKER_RULES)


def build_pool(rules_path: Path, limit: int | None = None, workers: int = 1, log: Callable[[str], None] = lambda m: None) -> Pool:
    """Read the shared data (``DataUnavailable`` when absent) and count rule hits per part."""
    from train.config import LabelsConfig
    from train.data.weak import load_rules

    rules = load_rules(rules_path, LabelsConfig())
    cached = _cache_path(rules_path, limit)
    if cached is not None and cached.is_file():
        import pickle

        log(f"pool: read from {cached}")
        with cached.open("rb") as handle:
            return pickle.load(handle)
    docs = _documents(limit)
    titles = [d[2] for d in docs]
    paragraphs: list[str] = []
    doc_paragraphs = []
    classes: dict[str, dict[str, list[int]]] = {}
    for k, (source, label, _title, paras) in enumerate(docs):
        doc_paragraphs.append(np.arange(len(paragraphs), len(paragraphs) + len(paras), dtype=np.int32))
        paragraphs.extend(paras)
        classes.setdefault(source, {}).setdefault(label, []).append(k)
    log(f"pool: {len(docs):,} documents, {len(paragraphs):,} paragraphs; counting rule hits")
    texts = titles + paragraphs
    if workers > 1:
        global _WORKER_RULES
        _WORKER_RULES = rules
        chunks = [texts[i : i + 2000] for i in range(0, len(texts), 2000)]
        with get_context("fork").Pool(workers) as pool:
            hits = np.vstack(pool.map(_hits_chunk, chunks))
    else:
        hits = _hits(texts, rules)
    pool = Pool(
        rule_names=[r.name for r in rules], titles=titles, title_hits=hits[: len(titles)],
        paragraphs=paragraphs, paragraph_hits=hits[len(titles):], doc_paragraphs=doc_paragraphs,
        classes={s: {c: np.asarray(ids, dtype=np.int64) for c, ids in sorted(cs.items())} for s, cs in sorted(classes.items())},
    )
    if cached is not None:
        import pickle

        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_name(f".{cached.name}.tmp-{os.getpid()}")
        with tmp.open("wb") as handle:
            pickle.dump(pool, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, cached)
    return pool


def _cache_path(rules_path: Path, limit: int | None) -> Path | None:
    """Where the pool of a full (unlimited) read is cached: outside the repository, keyed by the
    rules file, this module and the shared data's file sizes and times (the counting takes a
    minute and a half on 2 cores). ``ARTCLF_CORPUS_CACHE=""`` turns the cache off."""
    import hashlib

    from train.data.sources import shared_data_dir

    root = os.environ.get("ARTCLF_CORPUS_CACHE", str(Path.home() / ".cache" / "artclf"))
    if not root or limit is not None:
        return None
    digest = hashlib.sha256(rules_path.read_bytes() + f"pool-v{POOL_VERSION}".encode())
    data = shared_data_dir()
    for path in sorted(data.rglob("*")):
        if path.is_file():
            stat = path.stat()
            digest.update(f"{path.relative_to(data)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return Path(root) / f"corpus-pool-{digest.hexdigest()[:16]}.pkl"


@dataclass
class Generator:
    pool: Pool
    seed: int
    near_duplicate_rate: float = 0.02
    rules: Any = None  # the Rule objects, in pool.rule_names order

    def __post_init__(self) -> None:
        sources = [s for s in SOURCE_WEIGHTS if s in self.pool.classes]
        weights = np.array([SOURCE_WEIGHTS[s] for s in sources])
        self._sources = sources
        self._weights = weights / weights.sum()
        self._members = {s: np.sort(np.concatenate(list(cs.values()))) for s, cs in self.pool.classes.items()}
        self._class_of = {int(d): c for cs in self.pool.classes.values() for c, ids in cs.items() for d in ids}

    def _parts(self, i: int) -> tuple[int, list[int]]:
        """(title document id, paragraph ids) of article ``i``."""
        rng = np.random.default_rng([self.seed, i])
        if i > 0 and rng.random() < self.near_duplicate_rate:
            # A near-copy of one of the previous 1,000 articles: re-run with one edit.
            j = i - 1 - int(rng.integers(0, min(i, 1000)))
            title, paras = self._parts(j)
            edit = rng.integers(0, 3)
            source = self._sources[int(rng.choice(len(self._sources), p=self._weights))]
            other = self._random_doc(rng, source)
            if edit == 0:  # a new headline
                title = other
            elif edit == 1 and len(paras) > 3:  # the last paragraph cut
                paras = paras[:-1]
            else:  # one paragraph appended
                paras = paras + [int(rng.choice(self.pool.doc_paragraphs[other]))]
            return title, paras
        source = self._sources[int(rng.choice(len(self._sources), p=self._weights))]
        # The base document uniformly among the source's documents (so classes keep their
        # sources' proportions, and a rare class is not re-drawn into copies of its few members).
        base = self._random_doc(rng, source)
        members = self.pool.classes[source][self._class_of[base]]
        own = self.pool.doc_paragraphs[base]
        paras = [int(own[0])]
        # As long as the base document (at least two paragraphs: a one-paragraph AG News item gets
        # a second), body paragraphs from others of the same source and class.
        if len(members) > 1:
            for position in range(1, max(2, min(len(own), 12))):
                donor = self.pool.doc_paragraphs[int(members[rng.integers(0, len(members))])]
                paras.append(int(donor[min(position, len(donor) - 1)]))
        elif len(own) > 1:
            paras += [int(p) for p in own[1:12]]
        return base, paras

    def _random_doc(self, rng: np.random.Generator, source: str) -> int:
        members = self._members[source]
        return int(members[rng.integers(0, len(members))])

    def article(self, i: int) -> dict[str, Any]:
        from train.data.weak import weak_tone, weak_topics
        from train.config import LabelsConfig

        title_doc, paras = self._parts(i)
        hits = self.pool.title_hits[title_doc] + self.pool.paragraph_hits[paras].sum(axis=0)
        fired = {name: int(h) for name, h, rule in zip(self.pool.rule_names, hits, self.rules) if h >= rule.min_hits}
        topics, _ = weak_topics(self.rules, fired, LabelsConfig().topics)
        tone, _ = weak_tone(self.rules, fired)
        text = "\n\n".join(self.pool.paragraphs[p] for p in paras)
        return {"id": f"gen-{i:07d}", "title": self.pool.titles[title_doc], "text": text, "topics": list(topics), "tone": tone}


_WORKER: Generator | None = None


def _write_part(args: tuple[Path, int, int]) -> tuple[Path, int]:
    path, start, stop = args
    assert _WORKER is not None
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with tmp.open("w", encoding="utf-8") as out:
        for i in range(start, stop):
            out.write(json.dumps(_WORKER.article(i), ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    return path, stop - start


def generate(
    n: int,
    out: Path,
    seed: int = 13,
    *,
    rules_path: Path | None = None,
    near_duplicate_rate: float = 0.02,
    pool_limit: int | None = None,
    workers: int = 1,
    part_rows: int = PART_ROWS,
    log: Callable[[str], None] = lambda m: None,
) -> list[Path]:
    """Write ``n`` articles as JSONL files under ``out`` (emptied of earlier parts); returns them."""
    global _WORKER
    from train.config import LabelsConfig
    from train.data.weak import load_rules

    rules_path = rules_path or REPO / "configs" / "rules" / "lexicons.toml"
    pool = build_pool(rules_path, pool_limit, workers, log)
    _WORKER = Generator(pool, seed, near_duplicate_rate, load_rules(rules_path, LabelsConfig()))
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("part-*.jsonl"):
        old.unlink()
    jobs = [(out / f"part-{k:05d}.jsonl", start, min(n, start + part_rows)) for k, start in enumerate(range(0, n, part_rows))]
    if workers > 1 and len(jobs) > 1:
        with get_context("fork").Pool(workers) as procs:
            done = [procs.apply_async(_write_part, (job,)) for job in jobs]
            paths = []
            for result in done:
                path, rows = result.get()
                paths.append(path)
                log(f"wrote {path.name} ({rows:,} articles)")
    else:
        paths = [_write_part(job)[0] for job in jobs]
    return paths


def main(argv: list[str] | None = None) -> int:
    from train.data.sources import DataUnavailable

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, required=True, help="number of articles")
    parser.add_argument("--out", type=Path, required=True, help="output folder (JSONL parts)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--near-duplicate-rate", type=float, default=0.02)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    args = parser.parse_args(argv)
    started = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s] {message}", file=sys.stderr, flush=True)

    try:
        generate(args.n, args.out, args.seed, near_duplicate_rate=args.near_duplicate_rate, workers=args.workers, log=log)
    except DataUnavailable as exc:
        print(f"skipped: {exc}", file=sys.stderr)
        return 0
    log(f"done: {args.n:,} articles in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
