"""Experiment configs: one schema with its defaults, TOML files that set only what differs.

A config file is an experiment. Every key has a default in the dataclasses below (the one place
defaults live); a file sets only the keys it changes, and ``--set section.key=value`` overrides
come last. Unknown sections or keys, wrong types and out-of-range values are errors that name the
key and the file (or the override) they came from.
"""

from __future__ import annotations

import codecs
import dataclasses
import hashlib
import os
import json
import math
import re
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from artclf.errors import ConfigError as ArtclfError


def param(
    default: Any,
    *,
    choices: tuple[str, ...] = (),
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    finite: bool = False,
    hint: str = "",
    check: typing.Callable[[Any], str | None] | None = None,
    path: bool = False,
    default_factory: typing.Callable[[], Any] | None = None,
) -> Any:
    """A config field with its constraint declared beside it (as scikit-learn declares
    ``_parameter_constraints`` beside ``__init__``): allowed choices for a string, an interval
    for a number (``low_open``/``high_open`` exclude the bound), or a ``check`` returning a
    problem. :func:`load_config` validates every field from these declarations, once.
    ``path=True`` marks a file or folder: set in a config file, a relative value is relative to
    that file's folder."""
    metadata = {
        "choices": choices, "low": low, "high": high, "low_open": low_open, "high_open": high_open,
        "finite": finite, "hint": hint, "check": check, "path": path,
    }
    if default_factory is not None:
        return field(default_factory=default_factory, metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class DataConfig:
    # "seeds": a folder of wire-format .txt articles; "jsonl", "csv", "parquet": a file (or a
    # folder of them) read with datasets.load_dataset and the [columns] mapping; "folders": one
    # sub-folder of .txt articles per label (as in BBC News); "hub": a Hugging Face Hub dataset name.
    format: str = param("seeds", choices=("seeds", "jsonl", "csv", "parquet", "folders", "hub"))
    # Paths (source, labels, rules, dataset_dir) set in a config file are relative to that file's
    # folder; the built-in defaults and --set values are relative to the current directory.
    source: str = param("seeds", path=True)
    # Gold labels by article id; "" when the source carries its own labels (or has none).
    labels: str = param("seeds/labels.jsonl", path=True)
    # Keyword/regex labeling rules for articles without a gold label; "" turns them off.
    rules: str = param("configs/rules/lexicons.toml", path=True)
    # Where build-dataset saves the Hugging Face DatasetDict; train rebuilds it when stale.
    dataset_dir: str = param("data/dataset", path=True)
    # "folders" format: which task a folder name labels ("topics" or "tone"); a folder named
    # "none" means no topic.
    folder_task: str = param("topics", choices=("topics", "tone"))
    # "hub" format: which split of the Hub dataset to read.
    hub_split: str = "train"
    # The text encoding of every text source (article files, label files, JSONL and CSV tables),
    # any name Python knows ("latin-1", "cp1252", "utf-16"). "utf-8" also accepts a leading BOM.
    encoding: str = param("utf-8", check=lambda v: _encoding_problem(v))


@dataclass(frozen=True)
class ColumnsConfig:
    """Column mapping for jsonl, csv, parquet and hub sources; "" means the column is absent."""

    id: str = "id"
    title: str = "title"
    text: str = "text"
    topics: str = "topics"
    tone: str = "tone"
    published: str = ""
    # A topics cell may be a list or a string of names joined by this separator.
    topics_separator: str = ";"


# One line per seed label, condensed from the labeling guidelines in seeds/README.md; the model
# card shows the definition of each configured label.
SEED_DEFINITIONS = {
    "diplomacy": "relations between states or international bodies: talks, summits, visits, treaties, "
    "ambassadors, sanctions or recognition as foreign-policy tools (not domestic politics, not company deals)",
    "energy": "production, supply, trade, prices, infrastructure or policy of oil, gas, coal, nuclear, "
    "hydrogen, electricity or renewables (not a passing mention)",
    "territory": "sovereignty or control over land or sea: borders, disputed islands or regions, claims, "
    "annexation, occupation, secession, maritime boundaries (not a passing mention)",
    "positive": "agreement, progress, cooperation, growth, success",
    "neutral": "factual, or positive and negative roughly balanced",
    "negative": "conflict, dispute, failure, loss, threat, criticism",
}


@dataclass(frozen=True)
class LabelsConfig:
    # The topic head (multi-label, or one topic per article with topic.mode = "multiclass") and the
    # tone head (multiclass). An empty list switches that task off everywhere: its labels in the
    # data are ignored, its rules skipped, and the model has no such head.
    topics: tuple[str, ...] = ("diplomacy", "energy", "territory")
    tone: tuple[str, ...] = ("positive", "neutral", "negative")
    # Labels in the data that are not in the lists above, for a task that is on:
    # "drop": removed, with a count per label in the dataset report (train a subset of the labels);
    # "error": the first one is an error naming its file and line;
    # "auto": drop, except that a name close to a configured one (a likely typo) is an error.
    unlisted: str = param("auto", choices=("auto", "drop", "error"))
    # label -> one-line definition, shown in the model card ([labels.definitions] in TOML).
    # Definitions of labels that are not configured are ignored.
    definitions: dict[str, str] = param(None, default_factory=lambda: dict(SEED_DEFINITIONS))


@dataclass(frozen=True)
class SplitConfig:
    seed: int = param(13, low=0, high=2**32 - 1)
    validation: float = param(0.1, low=0.0, high=1.0, high_open=True)
    test: float = param(0.2, low=0.0, high=1.0, low_open=True, high_open=True)
    # "stratified": iterative multi-label stratification over topics and tone;
    # "time": oldest articles train, newest test (news drifts).
    method: str = param("stratified", choices=("stratified", "time"))
    # Articles whose word 5-gram shingles overlap at least this much (Jaccard) are near-duplicates
    # and are kept in the same split.
    near_duplicate_jaccard: float = param(0.6, low=0.0, high=1.0, low_open=True)
    # How near-duplicate pairs are found: "exact" (an inverted index of 5-gram shingles), "minhash"
    # (MinHash LSH, then each candidate checked exactly), or "auto": minhash above 20,000 articles,
    # where the inverted index's pair table grows with the square of recurring passages.
    near_duplicates: str = param("auto", choices=("auto", "exact", "minhash"))


@dataclass(frozen=True)
class FeaturesConfig:
    # Unigrams in at least two training articles: on the real-news dev set they beat (1, 2) and
    # min_df = 1 (topic micro-F1 0.879 vs 0.857 with 781 seeds), and the model is smaller.
    ngram_range: tuple[int, int] = param((1, 1), check=lambda v: _range_problem(v))
    sublinear_tf: bool = True
    min_df: int = param(2, low=1, hint="a document count")
    max_df: float = param(1.0, low=0.0, high=1.0, low_open=True, hint="a document fraction")
    # 0 keeps every term.
    max_features: int = param(0, low=0, hint="0 = no limit")
    lowercase: bool = True
    strip_accents: bool = True
    # "none" or "english" (scikit-learn's list).
    stop_words: str = param("none", choices=("none", "english"))
    # scikit-learn's token_pattern (at most one group). The default keeps words of two or more
    # letters or digits ("5G", "G7", "EU"); r"(?u)\w+|[^\w\s]" keeps single characters, digits
    # and punctuation such as "%" too (PhraseBank's tone turns on "up 5 %" vs "down 5 %").
    token_pattern: str = param(r"(?u)\b\w\w+\b", check=lambda v: _token_pattern_problem(v))
    # > 0: add a second word vectorizer over the first lead_chars characters (title and opening
    # sentence), so the lead's words count twice. It is a stock TfidfVectorizer whose token_pattern
    # swallows everything past that point as one empty token, which stop_words drops.
    lead_chars: int = param(0, low=0, hint="0 = off")
    char_ngrams: bool = False
    char_ngram_range: tuple[int, int] = param((2, 5), check=lambda v: _range_problem(v))
    char_max_features: int = param(0, low=0)
    # 0: a vocabulary (TfidfVectorizer). 10-24: hash terms into 2**hash_bits columns
    # (HashingVectorizer + TfidfTransformer): no vocabulary to store or load, which is most of a
    # large model's size and load time; min_df, max_df and max_features do not apply.
    hash_bits: int = param(0, check=lambda v: None if v == 0 or 10 <= v <= 24 else
                           f"must be 0 (vocabulary) or 10..24 (2**bits hashed columns), got {v}")


@dataclass(frozen=True)
class TopicConfig:
    # "logreg" (LogisticRegression) or "linear_svc" (LinearSVC).
    classifier: str = param("logreg", choices=("logreg", "linear_svc"))
    C: float = param(10.0, low=0.0, low_open=True, finite=True)
    # "balanced" or "none".
    class_weight: str = param("balanced", choices=("balanced", "none"))
    # "tuned": one threshold per label from cross-validated training predictions; "fixed": 0.5.
    thresholds: str = param("tuned", choices=("tuned", "fixed"))
    threshold_folds: int = param(5, low=2)
    # A label keeps the classifier's own cut (decision 0) when its tuned threshold reached less than
    # this out-of-fold F1, or when it has under two training positives: such a threshold is noise,
    # and on rare labels it is usually far below 0 and floods the output with false positives
    # (Yang 2001's SCut.FBR). On Reuters-21578 (90 categories) it took micro-F1 from 0.850 to 0.886.
    threshold_min_f1: float = param(0.3, low=0.0, high=1.0, hint="an F1")
    # "multilabel": one binary model per topic, an article may have any number of topics (or none);
    # "multiclass": exactly one topic per article (BBC-style categories), one softmax model over the
    # configured topics; every article needs exactly one topic, and no threshold is tuned.
    mode: str = param("multilabel", choices=("multilabel", "multiclass"))
    # > 0: tune each label's threshold for this out-of-fold precision (the lowest probability cut
    # that reaches it, so as much recall as that precision allows) instead of for the best F1.
    precision_target: float = param(0.0, low=0.0, high=1.0, high_open=True, hint="0 = best F1")


@dataclass(frozen=True)
class CalibrationConfig:
    """Scores as probabilities: maps fitted on the out-of-fold scores of the threshold folds."""

    # "auto": per topic label Platt or isotonic, whichever has the lower cross-validated log-loss;
    # "platt" or "isotonic": that one for every label; "none": the uncalibrated sigmoid of the
    # threshold-adjusted decision value (cut 0.5), as before calibration existed. Tone is always
    # calibrated by temperature scaling (one scale for all tones, which never changes the
    # predicted tone) unless "none".
    method: str = param("auto", choices=("auto", "platt", "isotonic", "none"))
    # A text with fewer distinct known non-stop words than this (one or two words, only stop
    # words) has too little evidence for the full-text maps: it is scored with maps fitted on one-
    # and two-word views of held-out training titles, and never gets every topic. 0 = off.
    min_evidence: int = param(3, low=0, high=100, hint="0 = off")


@dataclass(frozen=True)
class ToneConfig:
    # "logreg", "linear_svc", "complement_nb", or "nb_svm" / "nb_logreg" (train/fit/nbsvm.py:
    # one-vs-rest LinearSVCs / logistic regressions on naive-Bayes-scaled features, optionally
    # blended with naive Bayes, saved as one stock LinearSVC / LogisticRegression).
    classifier: str = param("logreg", choices=("logreg", "linear_svc", "complement_nb", "nb_svm", "nb_logreg"))
    C: float = param(10.0, low=0.0, low_open=True, finite=True)
    class_weight: str = param("balanced", choices=("balanced", "none"))
    # Smoothing for complement_nb only.
    alpha: float = param(0.3, low=0.0, low_open=True)
    # nb_svm and nb_logreg only: the power of |NB log-count ratio| each feature is scaled by (0 = no scaling),
    # and the weight of the naive-Bayes blend (0 = SVMs alone).
    nb_scale: float = param(0.5, low=0.0, high=4.0)
    nb_blend: float = param(0.3, low=0.0, high=10.0)


@dataclass(frozen=True)
class TrainConfig:
    seed: int = param(13, low=0, high=2**32 - 1)
    # Where versions are saved; `predict`, `evaluate` and `models` read it with --config.
    models_dir: str = param("models", path=True)
    # "float32" halves the stored coefficients at no measurable accuracy cost (see BENCHMARKS.md).
    coef_dtype: str = param("float64", choices=("float64", "float32"))
    # Fraction of each linear model's non-zero weights kept, largest magnitude first; below 1 the
    # rest are zeroed, which shrinks the compressed saved model.
    keep_weights: float = param(1.0, low=0.0, high=1.0, low_open=True, hint="fraction of weights kept")
    # "memory": the whole training split in memory, vocabulary TF-IDF and exact solvers, thresholds
    # from k refits (train/fit/fit.py). "stream": batches read from the dataset on disk, hashed
    # features, SGD over several epochs, thresholds from a held-out slice (train/fit/stream.py):
    # flat memory at any size. "auto": stream when the training split holds more than stream_above
    # articles (see README "Which training mode").
    mode: str = param("auto", choices=("auto", "memory", "stream"))
    stream_above: int = param(100_000, low=1, hint="training articles")
    # Stream mode only: passes over the training data, articles per batch, the SGD L2 strength,
    # and the share of the training split held out to tune the topic thresholds.
    stream_epochs: int = param(5, low=1, high=1000)
    stream_batch: int = param(8192, low=64, hint="articles per batch")
    stream_alpha: float = param(2e-6, low=0.0, low_open=True, finite=True)
    stream_holdout: float = param(0.05, low=0.0, high=0.5, low_open=True, hint="a fraction of the training split")


@dataclass(frozen=True)
class AugmentConfig:
    """Training-data augmentation: extra views of each training article, same labels. Views of
    one article share a fold wherever folds are drawn, so no article is scored by a model that
    saw a copy of it."""

    # Also train on a short view of each training article (its first two paragraphs: title and
    # lead). Real news often arrives as a headline and a sentence or two; on the real-news dev set
    # this lifted topic micro-F1 from 0.847 to 0.905 (territory F1 0.62 to 0.85).
    short_views: bool = True
    # Also train on each article's title alone (headline-only inputs: apps that have only a
    # headline). Grouped with its article in every fold, like the short views.
    headline_views: bool = True


@dataclass(frozen=True)
class CardConfig:
    """What the model card says the model is for; "" or [] leave the generic text."""

    # e.g. "Routing BBC-style news into five desks"; "" = a sentence generated from the labels.
    intended_use: str = ""
    # Known limitations of this model and its data, one per entry, listed before the generic ones.
    limitations: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    columns: ColumnsConfig = field(default_factory=ColumnsConfig)
    labels: LabelsConfig = field(default_factory=LabelsConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    topic: TopicConfig = field(default_factory=TopicConfig)
    tone: ToneConfig = field(default_factory=ToneConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    card: CardConfig = field(default_factory=CardConfig)
    # Not a key: where the config came from, for messages and the saved manifest.
    name: str = field(default="default", compare=False)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """The resolved config as plain JSON-able data (tuples become lists)."""
        out: dict[str, dict[str, Any]] = {}
        for section in _SECTIONS:
            values = dataclasses.asdict(getattr(self, section))
            out[section] = {k: list(v) if isinstance(v, tuple) else dict(v) if isinstance(v, dict) else v
                            for k, v in values.items()}
        return out

    def fingerprint(self) -> str:
        """sha256 of the resolved config, so identical experiments are recognised."""
        blob = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()


_SECTIONS: tuple[str, ...] = ("data", "columns", "labels", "split", "augment", "features", "topic", "tone", "calibration", "train", "card")
# Keys that moved: named in the error, so an old config is fixed in one edit.
_MOVED: dict[tuple[str, str], str] = {("train", "short_views"): "augment.short_views"}

def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Read a TOML experiment file (or none, for the defaults) and apply ``--set`` overrides.

    A file may start with ``extends = "other.toml"`` (relative to the file): the other file's
    settings come first and this file's replace them, key by key (chains are allowed; a cycle is
    an error naming the files). Paths set in a file are relative to that file's folder.
    """
    values: dict[str, dict[str, tuple[Any, str]]] = {}
    name = "default"
    if path is not None:
        path = Path(path)
        name = path.stem
        values = _read_chain(path, [])
    for text in overrides or []:
        (section, key), value = parse_override(text)
        checked = _check_value(section, key, value, f"--set {text}")
        values.setdefault(section, {})[key] = (_merged(values, section, key, checked), f"--set {text}")
    return _build(values, name)


def _merged(values: dict[str, dict[str, tuple[Any, str]]], section: str, key: str, value: Any) -> Any:
    """A table value ([labels.definitions]) adds to the one it overrides; anything else replaces it."""
    before = values.get(section, {}).get(key, (None, ""))[0]
    return {**before, **value} if isinstance(value, dict) and isinstance(before, dict) else value


def _read_chain(path: Path, chain: list[Path]) -> dict[str, dict[str, tuple[Any, str]]]:
    """The settings of ``path`` on top of those of the file it extends (recursively)."""
    key = Path(os.path.normpath(os.path.abspath(path)))
    if key in chain:
        cycle = " -> ".join(str(p) for p in [*chain[chain.index(key):], key])
        raise ArtclfError(f"{path}: extends itself through {cycle}; remove one of the extends lines")
    raw = read_toml(path, "config", "config file not found; pass an existing .toml file")
    base = raw.pop("extends", None)
    values: dict[str, dict[str, tuple[Any, str]]] = {}
    if base is not None:
        if not isinstance(base, str) or not base:
            raise ArtclfError(f'{path}: extends must be a file name such as "default.toml", got {base!r}')
        parent = path.parent / base
        if not parent.is_file():
            raise ArtclfError(f"{path}: extends {base!r}, but {parent} does not exist; "
                              "the name is relative to this file's folder")
        values = _read_chain(parent, [*chain, key])
    for section, table in _collect(raw, str(path), path.parent).items():
        for name, (value, origin) in table.items():
            values.setdefault(section, {})[name] = (_merged(values, section, name, value), origin)
    return values


def read_toml(path: Path, what: str, missing_hint: str) -> dict[str, Any]:
    """Parse a TOML file (``what``: "config", "rules"); every failure is one ArtclfError naming it."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtclfError(f"{path}: {missing_hint}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ArtclfError(f"{path}: cannot read {what} ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ArtclfError(f"{path}: invalid TOML: {exc}") from None


def parse_override(text: str) -> tuple[tuple[str, str], Any]:
    """Parse ``section.key=value``; the value is read as a TOML value, else kept as a string.

    >>> parse_override("features.ngram_range=[1, 3]")
    (('features', 'ngram_range'), [1, 3])
    """
    path, sep, value_text = text.partition("=")
    parts = path.strip().split(".")
    if not sep or len(parts) != 2 or not all(parts):
        raise ArtclfError(f"--set {text}: expected section.key=value, e.g. --set features.min_df=2")
    section, key = parts
    value_text = value_text.strip()
    try:
        value = tomllib.loads(f"v = {value_text}")["v"]
    except tomllib.TOMLDecodeError:
        # Bare words such as `linear_svc` are strings; quoting them on a shell line is a chore.
        value = value_text
    _check_key(section, key, f"--set {text}")
    return (section, key), value


def _collect(raw: dict[str, Any], origin: str, folder: Path) -> dict[str, dict[str, tuple[Any, str]]]:
    values: dict[str, dict[str, tuple[Any, str]]] = {}
    for section, table in raw.items():
        if section not in _SECTIONS:
            hint = "; extends must come before any [section]" if section == "extends" else ""
            raise ArtclfError(
                f"{origin}: unknown section [{section}]; known sections: {', '.join(_SECTIONS)}{hint}"
            )
        if not isinstance(table, dict):
            raise ArtclfError(f"{origin}: '{section}' must be a table ([{section}]), not a value")
        for key, value in table.items():
            _check_key(section, key, origin)
            checked = _check_value(section, key, value, origin)
            if _section_fields(section)[key].metadata.get("path") and checked and not os.path.isabs(checked) \
                    and not (section == "data" and key == "source" and table.get("format") == "hub"):
                checked = os.path.normpath(os.path.join(folder, checked))
            values.setdefault(section, {})[key] = (checked, origin)
    return values


def _section_fields(section: str) -> dict[str, dataclasses.Field[Any]]:
    cls = typing.get_type_hints(Config)[section]
    return {f.name: f for f in dataclasses.fields(cls)}


def _check_key(section: str, key: str, origin: str) -> None:
    if section not in _SECTIONS:
        raise ArtclfError(f"{origin}: unknown section '{section}'; known sections: {', '.join(_SECTIONS)}")
    known = _section_fields(section)
    if (section, key) in _MOVED:
        raise ArtclfError(f"{origin}: {section}.{key} moved to {_MOVED[(section, key)]}; rename it there")
    if key not in known:
        raise ArtclfError(
            f"{origin}: unknown key '{section}.{key}'; known keys in [{section}]: {', '.join(known)}"
        )


def _type_name(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "float", str: "string", list: "array"}.get(
        type(value), type(value).__name__
    )


def _check_value(section: str, key: str, value: Any, origin: str) -> Any:
    """Coerce a TOML value to the field's type or raise an error naming the key and origin."""
    hints = typing.get_type_hints(typing.get_type_hints(Config)[section])
    expected = hints[key]
    where = f"{origin}: {section}.{key}"
    got = f"got {value!r} ({_type_name(value)})"
    if expected is bool:
        if not isinstance(value, bool):
            raise ArtclfError(f"{where} must be true or false, {got}")
        return value
    if expected is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ArtclfError(f"{where} must be an integer, {got}")
        return value
    if expected is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ArtclfError(f"{where} must be a number, {got}")
        return float(value)
    if expected is str:
        if not isinstance(value, str):
            raise ArtclfError(f"{where} must be a string, {got}")
        choices = _section_fields(section)[key].metadata.get("choices")
        if choices and value not in choices:
            raise ArtclfError(f"{where} must be one of {', '.join(choices)}, {got}")
        return value
    if expected == tuple[int, int]:
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        ):
            raise ArtclfError(f"{where} must be two integers like [1, 2], {got}")
        return tuple(value)
    if expected == dict[str, str]:
        if not isinstance(value, dict) or not all(isinstance(v, str) and v.strip() for v in value.values()):
            raise ArtclfError(f'{where} must be a table of label = "definition" strings, {got}')
        return dict(value)
    if expected == tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            what = "label names" if section == "labels" else "non-empty strings"
            raise ArtclfError(f"{where} must be an array of {what}, {got}")
        if len(set(value)) != len(value):
            raise ArtclfError(f"{where} lists a name twice: {value!r}")
        return tuple(value)
    raise AssertionError(f"no type check for {section}.{key}: {expected}")  # a schema bug, not input


def _encoding_problem(name: str) -> str | None:
    try:
        codecs.lookup(name)
    except LookupError:
        return f"is not a text encoding Python knows, got {name!r}; e.g. utf-8, latin-1, cp1252"
    return None


def _token_pattern_problem(pattern: str) -> str | None:
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        return f"is not a valid regular expression ({exc})"
    if compiled.groups > 1:
        return f"has {compiled.groups} capturing groups; scikit-learn allows at most one"
    if compiled.match(""):
        return "matches the empty string, so it would yield empty tokens"
    return None


def _build(values: dict[str, dict[str, tuple[Any, str]]], name: str) -> Config:
    sections = {}
    for section in _SECTIONS:
        cls = typing.get_type_hints(Config)[section]
        given = values.get(section, {})
        sections[section] = cls(**{k: v for k, (v, _) in given.items()})
    config = Config(**sections, name=name)

    def origin_of(section: str, key: str) -> str:
        return values.get(section, {}).get(key, (None, "built-in defaults"))[1]

    _check_ranges(config, origin_of)
    return config


def _range_problem(value: tuple[int, int]) -> str | None:
    if 1 <= value[0] <= value[1]:
        return None
    return f"must be [low, high] with 1 <= low <= high, got {list(value)}"


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _interval_text(meta: typing.Mapping[str, Any]) -> str:
    low = None if meta["low"] is None else _number(meta["low"])
    high = None if meta["high"] is None else _number(meta["high"])
    if low is not None and high is not None:
        return f"in {'(' if meta['low_open'] else '['}{low}, {high}{')' if meta['high_open'] else ']'}"
    if low is not None:
        return f"{'>' if meta['low_open'] else '>='} {low}" + (" and finite" if meta["finite"] else "")
    return f"{'<' if meta['high_open'] else '<='} {high}"


def field_problem(value: Any, meta: typing.Mapping[str, Any]) -> str | None:
    """What is wrong with ``value`` under a field's declared constraint (see :func:`param`)."""
    if meta.get("check") is not None:
        return meta["check"](value)
    low, high = meta.get("low"), meta.get("high")
    if low is None and high is None or isinstance(value, (str, tuple, bool)):
        return None
    ok = (low is None or (value > low if meta["low_open"] else value >= low)) and \
         (high is None or (value < high if meta["high_open"] else value <= high)) and \
         (not meta["finite"] or math.isfinite(value))
    if ok:
        return None
    hint = f" ({meta['hint']})" if meta.get("hint") else ""
    return f"must be {_interval_text(meta)}{hint}, got {value}"


# Constraints that tie two keys together: (section, key the message names, check).
def _relations(config: Config) -> list[tuple[str, str, str | None]]:
    f, s = config.features, config.split
    lead_problem = None
    if f.lead_chars and _token_pattern_problem(f.token_pattern) is None and re.compile(f.token_pattern).groups:
        # The lead branch wraps token_pattern in a capturing group of its own (features.lead_settings).
        lead_problem = "needs a features.token_pattern without capturing groups (use (?:...) groups)"
    return [
        ("split", "test", None if s.validation + s.test < 1.0 else
         f"validation + test must leave some training data, got {s.validation} + {s.test}"),
        ("features", "lead_chars", lead_problem),
        ("labels", "tone", None if len(config.labels.tone) != 1 else
         "needs at least two labels (or none, to train no tone model)"),
        ("labels", "topics", None if config.labels.topics or config.labels.tone else
         "and labels.tone are both empty; at least one task needs labels"),
        ("topic", "mode", None if config.topic.mode == "multilabel" or len(config.labels.topics) != 1 else
         "multiclass needs at least two labels.topics (one topic alone is a yes/no question: use multilabel)"),
    ]


def _check_ranges(config: Config, origin_of: typing.Callable[[str, str], str]) -> None:
    problems: list[tuple[str, str, str]] = []
    for section in _SECTIONS:
        values = getattr(config, section)
        for f in dataclasses.fields(values):
            problem = field_problem(getattr(values, f.name), f.metadata)
            if problem:
                problems.append((section, f.name, problem))
    problems += [(section, key, problem) for section, key, problem in _relations(config) if problem]
    if problems:
        section, key, message = problems[0]
        raise ArtclfError(f"{origin_of(section, key)}: {section}.{key} {message}")
