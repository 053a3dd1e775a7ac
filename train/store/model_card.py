"""MODEL_CARD.md: what a saved version is for, what its labels mean, how well it does, how to load it.

Rendered from the manifest alone, so a card always matches the version it sits in.
"""

from __future__ import annotations

from typing import Any

def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _definitions(labels: list[str], definitions: dict[str, Any]) -> list[str]:
    missing = "no definition recorded (add one under [labels.definitions] in the config)"
    return [f"- **{label}**: {definitions.get(label) or missing}" for label in labels]


def _intended_use(topics: list[str], tones: list[str], card: dict[str, Any]) -> str:
    if card.get("intended_use"):
        return str(card["intended_use"])
    return ("Tagging text with "
            + " and ".join(part for part in (f"topics ({', '.join(topics)})" if topics else "",
                                              f"a tone ({', '.join(tones)})" if tones else "") if part)
            + ", for the kind of text it was trained on (see Training data). Not for decisions about "
            "individual people. Not stated by its trainer: set [card] intended_use in the config.")


def _per_label_table(metrics: dict[str, Any], task: str) -> list[str]:
    lines = ["| split | label | precision | recall | F1 | support |", "|---|---|---|---|---|---|"]
    for split in ("validation", "test"):
        per_label = metrics.get(split, {}).get(task, {}).get("per_label", {})
        for label, m in per_label.items():
            lines.append(f"| {split} | {label} | {_fmt(m.get('precision'))} | {_fmt(m.get('recall'))} | "
                         f"{_fmt(m.get('f1'))} | {_fmt(m.get('support'))} |")
    return lines if len(lines) > 2 else ["(not evaluated)"]


def _calibration_section(manifest: dict[str, Any], metrics: dict[str, Any]) -> list[str]:
    """How far the scores are from probabilities: ECE, Brier and log-loss per split and label."""
    rows = []
    for split in ("validation", "test"):
        cal = (metrics.get(split) or {}).get("calibration") or {}
        for task in ("topic", "tone"):
            block = cal.get(task)
            if not block:
                continue
            name = "all labels" if task == "topic" else "top label"
            rows.append(f"| {split} | {task} ({name}) | {_fmt(block.get('ece'))} | {_fmt(block.get('brier'))} | {_fmt(block.get('log_loss'))} |")
            for label, m in (block.get("per_label") or {}).items():
                rows.append(f"| {split} | {task} {label} | {_fmt(m.get('ece'))} | {_fmt(m.get('brier'))} | {_fmt(m.get('log_loss'))} |")
    if not rows:
        return []
    method = (manifest.get("calibration") or {}).get("method", "none")
    tone = (manifest.get("calibration") or {}).get("tone")
    kinds = ", ".join(f"{label} {m.get('kind')}" for label, m in ((manifest.get("calibration") or {}).get("topic") or {}).items())
    return [
        "## Calibration",
        "",
        f"Method `{method}`" + (f" (topics: {kinds}" + (f"; tone: temperature, scale {tone['scale']:.3f}" if tone else "") + ")" if kinds or tone else "")
        + ", fitted on out-of-fold scores of the training split. ECE is the expected calibration error over "
        "10 equal-width probability bins (0 = a probability of 0.8 is right 80% of the time); Brier is the "
        "mean squared error of the probabilities.",
        "",
        "| split | scores | ECE | Brier | log-loss |",
        "|---|---|---|---|---|",
        *rows,
        "",
    ]


def render(manifest: dict[str, Any]) -> str:
    version = manifest.get("version", "vN")
    labels = manifest.get("labels", {})
    topics, tones = list(labels.get("topics", [])), list(labels.get("tone", []))
    metrics = manifest.get("metrics", {})
    dataset = manifest.get("dataset", {})
    libs = manifest.get("library_versions", {})
    files = manifest.get("files", {})
    config = manifest.get("config") or {}
    # The user's own words from the config: label definitions and the [card] section.
    definitions = (config.get("labels") or {}).get("definitions") or {}
    card = config.get("card") or {}
    multiclass = manifest.get("topic_mode") == "multiclass"
    out = [
        f"# Model card: {version}",
        "",
        f"Created {manifest.get('created', '?')} from config `{manifest.get('config_name', '?')}` "
        f"(fingerprint `{str(manifest.get('config_fingerprint', ''))[:12]}`), git "
        f"`{(manifest.get('git') or {}).get('commit', 'unknown')[:12]}`.",
        "",
        "## Intended use",
        "",
        _intended_use(topics, tones, card),
        "",
        "## Labels",
        "",
    ]
    if topics:
        kind = "exactly one per article" if multiclass else "multi-label; an article may have none"
        out += [f"Topics ({kind}):", "", *_definitions(topics, definitions), ""]
    if tones:
        out += ["Tone (exactly one):", "", *_definitions(tones, definitions), ""]
    out += ["## Training data", "", f"Dataset fingerprint `{dataset.get('fingerprint', '?')}`.", ""]
    counts = dataset.get("counts") or {}
    if counts:
        out += ["| split | articles | topics | no topic | tone |", "|---|---|---|---|---|"]
        for split, c in counts.items():
            if isinstance(c, dict):
                topic_counts = ", ".join(f"{k} {v}" for k, v in (c.get("topics") or {}).items())
                tone_counts = ", ".join(f"{k} {v}" for k, v in (c.get("tone") or {}).items())
                out.append(f"| {split} | {_fmt(c.get('n'))} | {topic_counts or '-'} | {_fmt(c.get('no_topic'))} | {tone_counts or '-'} |")
        out.append("")
    out += ["## Metrics", ""]
    for split in ("validation", "test"):
        m = metrics.get(split)
        if not m:
            continue
        parts = [f"{m.get('n', '?')} articles"]
        if "topic" in m:
            headline = "accuracy" if multiclass else "micro-F1"
            parts.append(f"topic {headline} {_fmt(m['topic'].get('accuracy' if multiclass else 'micro_f1'))}, "
                         f"macro-F1 {_fmt(m['topic'].get('macro_f1'))}")
        if "tone" in m:
            parts.append(f"tone accuracy {_fmt(m['tone'].get('accuracy'))}, macro-F1 {_fmt(m['tone'].get('macro_f1'))}")
        out.append(f"- {split}: " + "; ".join(parts))
    out.append("")
    if topics:
        out += ["Per topic:", "", *_per_label_table(metrics, "topic"), ""]
    if tones:
        out += ["Per tone:", "", *_per_label_table(metrics, "tone"), ""]
    out += _calibration_section(manifest, metrics)
    thresholds = manifest.get("thresholds") or {}
    if thresholds:
        calibrated = any("calibration" in t for t in thresholds.values()) and (manifest.get("calibration") or {}).get("method") != "none"
        out += [
            "## Topic thresholds",
            "",
            ("Tuned per label on calibrated out-of-fold probabilities of the training split (best F1, or "
             "`topic.precision_target`), turned back into a decision value and folded into the intercepts: a "
             "topic is predicted when its probability is >= the label's threshold below, which is also the "
             "plain pipeline's own decision. "
             if calibrated else
             "Tuned per label on out-of-fold decision values of the training split and folded into the "
             "intercepts: a topic is predicted when its score is >= 0.5. ")
            + "The spread is the standard deviation of the thresholds tuned on each fold alone.",
            "",
            "| label | probability threshold | decision threshold | calibration | folds | per-fold thresholds | spread (std) |",
            "|---|---|---|---|---|---|---|",
        ]
        for label, t in thresholds.items():
            out.append(f"| {label} | {_fmt(t.get('probability'))} | {_fmt(t.get('decision'))} | {t.get('calibration', '-')} | "
                       f"{_fmt(t.get('folds'))} | {', '.join(str(x) for x in t.get('fold_thresholds', [])) or '-'} | {_fmt(t.get('fold_std'))} |")
        out.append("")
    n_train = (manifest.get("training") or {}).get("n_train")
    out += [
        "## Known limitations",
        "",
        *[f"- {text}" for text in card.get("limitations") or []],
        f"- Trained on {n_train if n_train is not None else 'few'} articles; metrics on small test splits "
        "have wide confidence intervals and a wide threshold spread means an unstable threshold.",
        "- TF-IDF n-grams see words, not meaning: a passing mention (\"oil prices rose\" in a stock report) "
        "can trigger a topic, and paraphrases unseen in training can be missed.",
        "- News drifts: names, places and events after the training data are unknown to the model.",
        *(["- Tone is the overall tone of the text, not the stance toward any party."] if tones else []),
        "",
        "## Loading it",
        "",
        "Files: " + ", ".join(f"`{name}`" for name in files) + "; each file's sha256 is in `manifest.json`. "
        f"Saved with scikit-learn {libs.get('scikit-learn', '?')}, numpy {libs.get('numpy', '?')}, "
        f"scipy {libs.get('scipy', '?')}.",
        "",
        "With the artclf runtime (`artclf`, numpy only; checks hashes, the numpy version and canary predictions; "
        "never unpickles; `public_key=` also verifies the signature; a version without portable files loads with "
        "scikit-learn through `train.store.load.load_model`):",
        "",
        "```python",
        "from artclf import load_model",
        f'model = load_model("{version}", models_dir="models")',
        'model.predict(["Your article text"])',
        'model.explain("Your article text")',
        "```",
        "",
        "With scikit-learn and joblib only (unpickling runs any code the file contains: only for a folder you "
        "trust; a matching sha256 proves nothing against whoever could write the folder, a signature does):",
        "",
        "```python",
        "import joblib",
        f'topic = joblib.load("models/{version}/topic.joblib")',
        "```",
        "",
        "With skops (no pickle; pass only types you have reviewed, see `artclf models audit`):",
        "",
        "```python",
        "import skops.io as sio",
        f'path = "models/{version}/topic.skops"',
        "print(sio.get_untrusted_types(file=path))   # review these, then list them explicitly",
        "topic = sio.load(path, trusted=[...])",
        "```",
        "",
    ]
    return "\n".join(out)
