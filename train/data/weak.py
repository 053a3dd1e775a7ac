"""Weak labeling: keyword and regex rules label articles that have no gold label.

A rules file (TOML) lists rules; each votes for one label when it fires on an article:

    [[rule]]
    name = "energy_terms"            # recorded as the label's source
    label = "topics:energy"          # or "tone:negative"; "!topics:energy" votes *against* a topic
    keywords = ["crude oil", "lng"]  # whole words/phrases, case-insensitive
    patterns = ["barrels? (a|per) day"]   # regular expressions, case-insensitive
    min_hits = 2                     # fires when keyword + pattern matches reach this count

Topics: a topic is assigned when at least one positive rule for it fires and no negative rule for it
does. Tone: the tone whose firing rules have the most hits; neutral when none fires (the guidelines'
"factual" case), recorded as source ``rules:default``. The report (``rule_report``) gives, for each
rule and each label, coverage, overlap, conflicts, and precision/recall against gold labels where
both exist: Snorkel's LF analysis, extended to multi-label topics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from train.config import LabelsConfig, read_toml
from artclf.errors import ArtclfError


@dataclass(frozen=True)
class Rule:
    name: str
    task: str  # "topics" or "tone"
    label: str
    negate: bool
    matchers: tuple[re.Pattern[str], ...]
    min_hits: int

    def hits(self, text: str) -> int:
        return sum(len(m.findall(text)) for m in self.matchers)


def load_rules(path: Path, labels: LabelsConfig, ignored: list[str] | None = None) -> list[Rule]:
    """Read and validate a rules file; errors name the file and the rule.

    With ``ignored`` (a list to fill), a rule voting for a label the config does not list, or for a
    task that is off, is left out and its name added there: shipped rules written for other labels
    (the seeds' lexicons on a one-topic config) are not an error. Without it such a rule is one."""
    data = read_toml(path, "rules", 'rules file not found; fix data.rules or set it to "" to turn rules off')
    unknown = set(data) - {"rule"}
    if unknown:
        raise ArtclfError(f"{path}: unknown top-level key(s) {', '.join(sorted(unknown))}; rules go in [[rule]] tables")
    rules, names = [], set()
    for i, spec in enumerate(data.get("rule", []), start=1):
        where = f"{path}: rule {i}"
        if not isinstance(spec, dict):
            raise ArtclfError(f"{where}: must be a [[rule]] table")
        extra = set(spec) - {"name", "label", "keywords", "patterns", "min_hits"}
        if extra:
            raise ArtclfError(f"{where}: unknown key(s) {', '.join(sorted(extra))}; allowed: name, label, keywords, patterns, min_hits")
        name = spec.get("name")
        if not isinstance(name, str) or not name:
            raise ArtclfError(f"{where}: needs a name")
        if name in names:
            raise ArtclfError(f"{where}: duplicate rule name '{name}'")
        names.add(name)
        where = f"{path}: rule '{name}'"
        label_spec = spec.get("label", "")
        negate = isinstance(label_spec, str) and label_spec.startswith("!")
        task, _, label = str(label_spec).lstrip("!").partition(":")
        known = {"topics": labels.topics, "tone": labels.tone}.get(task)
        if known is not None and label not in known and ignored is not None and label:
            ignored.append(name)
            continue
        if known is None or label not in known:
            raise ArtclfError(
                f"{where}: label '{label_spec}' must be topics:<name> or tone:<name> with a configured label "
                f"(topics: {', '.join(labels.topics)}; tone: {', '.join(labels.tone)})"
            )
        if negate and task != "topics":
            raise ArtclfError(f"{where}: only topic rules can be negated ('!topics:...')")
        keywords, patterns = spec.get("keywords", []), spec.get("patterns", [])
        if not isinstance(keywords, list) or not all(isinstance(k, str) and k for k in keywords):
            raise ArtclfError(f"{where}: keywords must be a list of strings")
        if not isinstance(patterns, list) or not all(isinstance(p, str) and p for p in patterns):
            raise ArtclfError(f"{where}: patterns must be a list of regular expressions")
        if not keywords and not patterns:
            raise ArtclfError(f"{where}: needs keywords or patterns")
        min_hits = spec.get("min_hits", 1)
        if isinstance(min_hits, bool) or not isinstance(min_hits, int) or min_hits < 1:
            raise ArtclfError(f"{where}: min_hits must be an integer >= 1, got {min_hits!r}")
        matchers = []
        if keywords:
            alternatives = "|".join(re.escape(k).replace(r"\ ", r"\s+") for k in sorted(keywords, key=len, reverse=True))
            matchers.append(re.compile(rf"\b(?:{alternatives})\b", re.IGNORECASE))
        for pattern in patterns:
            try:
                matchers.append(re.compile(pattern, re.IGNORECASE))
            except re.error as exc:
                raise ArtclfError(f"{where}: bad pattern {pattern!r} ({exc})") from None
        rules.append(Rule(name, task, label, negate, tuple(matchers), min_hits))
    return rules


def fired_rules(rules: Sequence[Rule], text: str) -> dict[str, int]:
    """Rule name -> hit count, for the rules that fire on the text."""
    out = {}
    for rule in rules:
        n = rule.hits(text)
        if n >= rule.min_hits:
            out[rule.name] = n
    return out


def weak_topics(rules: Sequence[Rule], fired: dict[str, int], labels: Sequence[str]) -> tuple[tuple[str, ...], str]:
    """(topics, source) from the fired rules."""
    by_name = {r.name: r for r in rules}
    positive: dict[str, list[str]] = {}
    vetoed = set()
    for name in fired:
        rule = by_name[name]
        if rule.task != "topics":
            continue
        if rule.negate:
            vetoed.add(rule.label)
        else:
            positive.setdefault(rule.label, []).append(name)
    topics = tuple(t for t in labels if t in positive and t not in vetoed)
    names = sorted(n for t in topics for n in positive[t])
    return topics, "rules:" + ("+".join(names) if names else "none")


def weak_tone(rules: Sequence[Rule], fired: dict[str, int], default: str = "neutral") -> tuple[str, str]:
    """(tone, source) from the fired rules; ``default`` ("" = unknown) when none or a tie."""
    by_name = {r.name: r for r in rules}
    votes: dict[str, int] = {}
    names: dict[str, list[str]] = {}
    for name, hits in fired.items():
        rule = by_name[name]
        if rule.task == "tone":
            votes[rule.label] = votes.get(rule.label, 0) + hits
            names.setdefault(rule.label, []).append(name)
    if not votes:
        return default, "rules:default"
    best = max(sorted(votes), key=lambda t: votes[t])
    if list(votes.values()).count(votes[best]) > 1:
        return default, "rules:tie"
    return best, "rules:" + "+".join(sorted(names[best]))


def rule_report(
    rules: Sequence[Rule],
    fired: Sequence[dict[str, int]],
    gold: Sequence[tuple[tuple[str, ...], str] | None],
    labels: LabelsConfig,
) -> dict[str, Any]:
    """Per rule and per label: coverage, overlap, conflicts, precision/recall against gold.

    ``fired[i]`` are the rules firing on article i; ``gold[i]`` its gold (topics, tone) or None.
    A topic rule *overlaps* where another rule for the same topic fires and *conflicts* where a
    rule of the opposite polarity for that topic fires; a tone rule overlaps where any other tone
    rule fires and conflicts where a rule for a different tone fires.
    """
    n = len(fired)

    def same_label(a: Rule, b: Rule) -> bool:
        return a.task == b.task and a.label == b.label

    def conflicting(a: Rule, b: Rule) -> bool:
        if a.task != b.task:
            return False
        return (a.label == b.label and a.negate != b.negate) if a.task == "topics" else a.label != b.label

    def rate(k: int, d: int) -> float | None:
        return round(k / d, 4) if d else None

    per_rule = {}
    for rule in rules:
        on = [i for i in range(n) if rule.name in fired[i]]
        others = [r for r in rules if r.name != rule.name]
        overlap = sum(1 for i in on if any(r.name in fired[i] and (same_label(r, rule) or rule.task == "tone" == r.task) for r in others))
        conflict = sum(1 for i in on if any(r.name in fired[i] and conflicting(rule, r) for r in others))
        with_gold = [i for i in range(n) if gold[i] is not None]
        if rule.task == "topics":
            truth = [i for i in with_gold if (rule.label in gold[i][0]) != rule.negate]  # type: ignore[index]
        else:
            truth = [i for i in with_gold if gold[i][1] == rule.label]  # type: ignore[index]
        on_gold = [i for i in on if gold[i] is not None]
        correct = len(set(on_gold) & set(truth))
        per_rule[rule.name] = {
            "label": ("!" if rule.negate else "") + f"{rule.task}:{rule.label}",
            "coverage": rate(len(on), n),
            "overlap": rate(overlap, n),
            "conflict": rate(conflict, n),
            "fires": len(on),
            "precision": rate(correct, len(on_gold)),
            "recall": rate(correct, len(truth)),
        }
    per_label = {}
    for task, names in (("topics", labels.topics), ("tone", labels.tone)):
        for label in names:
            voters = [r for r in rules if r.task == task and r.label == label and not r.negate]
            on = [i for i in range(n) if any(r.name in fired[i] for r in voters)]
            per_label[f"{task}:{label}"] = {"rules": [r.name for r in voters], "coverage": rate(len(on), n)}
    return {"n": n, "rules": per_rule, "labels": per_label}
