"""Issue 18: calibrated probabilities, abstention, short inputs, and the evaluation that measures
them (calibration metrics, risk-coverage, --by, --errors, --plots)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from helpers import invoke
from train.data.augment import headline_view, input_view, lead_view
from train.evaluate.metrics import binary_calibration, expected_calibration_error
from train.fit.calibrate import choose_map, decision_at, fit_map, fit_temperature, folded, probability_cut


# -- fitting the maps ----------------------------------------------------------------------------

def _scores(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decision values whose true probability is sigmoid(3 d - 1): overconfident by nothing, but
    off-centre and too flat for the raw sigmoid."""
    rng = np.random.default_rng(seed)
    d = rng.normal(0, 1.5, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(3 * d - 1)))).astype(float)
    return d, y, np.arange(n) % 5


def test_platt_recovers_the_true_curve_and_lowers_the_ece():
    d, y, folds = _scores()
    spec = fit_map(d, y, "platt")
    assert spec["a"] == pytest.approx(3, rel=0.15) and spec["b"] == pytest.approx(-1, abs=0.25)
    from artclf.calibration import binary_probability

    raw = 1 / (1 + np.exp(-d))
    assert expected_calibration_error(binary_probability(d, spec), y) < 0.03 < expected_calibration_error(raw, y)


def test_auto_picks_by_cross_validated_log_loss_and_isotonic_is_monotone():
    d, y, folds = _scores()
    spec, losses = choose_map(d, y, folds, "auto")
    assert set(losses) == {"platt", "isotonic"} and spec["kind"] == min(losses, key=losses.get)
    iso = fit_map(d, y, "isotonic")
    assert np.all(np.diff(iso["x"]) > 0) and np.all(np.diff(iso["y"]) >= 0)
    assert min(iso["y"]) >= 1e-3 and max(iso["y"]) <= 1 - 1e-3


@pytest.mark.parametrize("kind", ["platt", "isotonic"])
def test_the_probability_threshold_folds_back_to_the_same_decision(kind):
    """Predicted iff probability >= threshold, which is the folded pipeline's decision > 0."""
    from artclf.calibration import binary_probability

    d, y, _ = _scores()
    raw = fit_map(d, y, kind)
    p = binary_probability(d, raw)
    cut, f1 = probability_cut(p, y)[:2]
    decision = decision_at(raw, cut)
    mapped = folded(raw, decision)
    shifted = d - decision
    by_probability = binary_probability(shifted, mapped) >= mapped["threshold"]
    by_decision = shifted > 0
    assert (by_probability == by_decision).mean() >= 0.999  # only exact ties at 0 may differ
    assert 0 < f1 <= 1


def test_an_isotonic_plateau_across_zero_does_not_predict_what_the_pipeline_rejects():
    """A rare label keeping the classifier's own cut: its isotonic map is flat around 0."""
    from artclf.calibration import binary_probability

    raw = {"kind": "isotonic", "x": [-1.2, -1.07, -1.0724, -0.4], "y": [0.001, 0.001, 0.0018, 0.0018]}
    raw["x"] = sorted(raw["x"])
    mapped = folded(raw, 0.0)
    d = np.linspace(-3, 3, 6001)
    on = binary_probability(d, mapped) >= mapped["threshold"]
    assert np.array_equal(on[d != 0], d[d != 0] > 0)
    assert mapped["threshold"] == pytest.approx(0.0018) and np.all(np.diff(mapped["x"]) > 0) and np.all(np.diff(mapped["y"]) >= 0)
    whole = folded({"kind": "isotonic", "x": [3.0, 4.0], "y": [0.2, 0.6]}, 0.0)  # every knot right of 0
    from artclf.calibration import check_binary

    check_binary(whole, "test")
    assert binary_probability(np.array([-5.0]), whole)[0] < whole["threshold"] <= binary_probability(np.array([0.5]), whole)[0]


def test_precision_target_trades_recall_for_precision():
    d, y, _ = _scores()
    p = 1 / (1 + np.exp(-(3 * d - 1)))
    best = probability_cut(p, y)[0]
    cut, _, details = probability_cut(p, y, precision_target=0.95)
    assert cut > best and details["precision_target_met"] and details["oof_precision"] >= 0.95


def test_temperature_scaling_keeps_the_argmax_and_fixes_overconfidence():
    from artclf.calibration import temper

    rng = np.random.default_rng(1)
    logits = rng.normal(0, 1, (3000, 3))
    y = np.array([rng.choice(3, p=np.exp(row) / np.exp(row).sum()) for row in logits])
    overconfident = np.exp(4 * logits) / np.exp(4 * logits).sum(axis=1, keepdims=True)
    s = fit_temperature(overconfident, y)
    assert s == pytest.approx(0.25, rel=0.2)
    fixed = temper(overconfident, {"kind": "temperature", "scale": s})
    assert np.array_equal(fixed.argmax(axis=1), overconfident.argmax(axis=1))
    assert np.allclose(fixed.sum(axis=1), 1)


def test_calibration_metrics_of_perfect_and_useless_scores():
    assert binary_calibration([1.0, 0.0], [1, 0]) == {"ece": 0.0, "brier": 0.0, "log_loss": 0.0}
    assert binary_calibration([0.9] * 10, [0] * 10)["ece"] == pytest.approx(0.9)
    assert binary_calibration([], [])["ece"] == 0.0


# -- views ---------------------------------------------------------------------------------------

def test_input_views_cut_titles_and_first_paragraphs_including_reuters_indents():
    bbc = "Title here\n\nFirst paragraph.\n\nSecond paragraph."
    reuters = "OIL PRICES RISE\n\nCrude rose today\nin London.\n    Traders said more.\n    And more."
    assert input_view(bbc, "headline") == "Title here" == headline_view(bbc)
    assert lead_view(bbc) == "Title here\n\nFirst paragraph."
    assert lead_view(reuters) == "OIL PRICES RISE\n\nCrude rose today\nin London."
    assert input_view(bbc, "full") == bbc and headline_view("Only a title") is None


# -- the trained model ---------------------------------------------------------------------------

def test_a_trained_model_is_calibrated_and_its_plain_pipelines_agree(trained):
    import joblib

    from train.store.load import load_model

    model = load_model(str(trained["version"]))
    cal = model.manifest["calibration"]
    assert cal["method"] == "auto" and set(cal["topic"]) == set(model.topic_labels) and cal["tone"]["scale"] > 0
    texts = [p.read_text(encoding="utf-8") for p in sorted(trained["seeds"].glob("*.txt"))[:30]]
    topic = joblib.load(trained["version"] / "topic.joblib")
    tone = joblib.load(trained["version"] / "tone.joblib")
    for row, plain_topics, plain_tone in zip(model.classify(texts), topic.predict(texts), tone.predict(texts)):
        assert row["topics"] == [l for l, on in zip(model.topic_labels, plain_topics) if on]
        assert row["tone"] == plain_tone
        assert math.isclose(sum(row["tone_scores"].values()), 1, abs_tol=1e-3)
    assert "Calibration" in (trained["version"] / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "calibration" in model.manifest["metrics"]["test"]


def test_too_little_evidence_gets_low_scores_and_never_every_topic(trained):
    from artclf.loading import load_model as load_portable
    from train.store.load import load_model

    texts = ["oil", "oil talks", "the of and", "!!! ???", "gas border talks treaty"]
    for model in (load_model(str(trained["version"])), load_portable(str(trained["version"]))):
        results = model.classify(texts)
        for text, row in zip(texts[:4], results[:4]):
            assert row.get("low_evidence") is True, text
            assert len(row["topics"]) < len(model.topic_labels), (text, row)
        assert "low_evidence" not in results[4]
        # Empty stays empty (no scores at all), not low evidence.
        assert model.classify([""])[0] == {**model.empty_result()}


# -- abstention ----------------------------------------------------------------------------------

def test_min_confidence_turns_unsure_decisions_into_uncertain(trained):
    from artclf.loading import load_model as load_portable
    from train.store.load import load_model

    texts = [p.read_text(encoding="utf-8") for p in sorted(trained["seeds"].glob("*.txt"))[:20]] + ["oil talks", ""]
    for model in (load_model(str(trained["version"])), load_portable(str(trained["version"]))):
        plain = model.classify(texts)
        assert all("uncertain" not in r for r in plain)
        everything = model.classify(texts, min_confidence=1.0)
        nothing = model.classify(texts, min_confidence=0.0)
        for p, e, z in zip(plain, everything, nothing):
            if p.get("empty"):
                assert e == p == z
                continue
            assert e["topics"] == [] and sorted(e["uncertain"]) == sorted(model.topic_labels) and e["tone"] == "uncertain"
            assert z["topics"] == p["topics"] and z["uncertain"] == [] and z["tone"] == p["tone"]
        half = model.predict(texts, min_confidence=0.8)
        for p, h in zip(plain, half):
            if p.get("empty"):
                continue
            for label, score in p["topic_scores"].items():
                confident = (score if label in p["topics"] else 1 - score) >= 0.8
                assert (label in h["uncertain"]) == (not confident)
            assert (h["tone"] == "uncertain") == (p["tone_scores"][p["tone"]] < 0.8)
        with pytest.raises(Exception, match="min_confidence"):
            model.classify(texts, min_confidence=1.5)


def test_predict_cli_min_confidence(trained):
    ok = invoke("predict", "--models-dir", trained["models"], "--min-confidence", "0.999", "Gas pipeline talks at the border")
    assert ok.exit_code == 0, ok.output
    row = json.loads(ok.stdout.splitlines()[0])
    assert "uncertain" in row and row["tone"] == "uncertain"
    bad = invoke("predict", "--models-dir", trained["models"], "--min-confidence", "2", "text")
    assert bad.exit_code != 0


# -- evaluate ------------------------------------------------------------------------------------

def test_evaluate_reports_calibration_risk_coverage_slices_errors_and_plots(trained, tmp_path):
    from train.evaluate.evaluate import evaluate

    data = tmp_path / "labeled.jsonl"
    seeds = sorted(trained["seeds"].glob("*.txt"))
    labels = {json.loads(l)["id"]: json.loads(l) for l in trained["labels"].read_text().splitlines()}
    rows = []
    for i, path in enumerate(seeds[:40]):
        label = labels[path.stem]
        text = path.read_text(encoding="utf-8")
        rows.append({"id": path.stem, "text": text if i % 2 else text.split("\n\n")[0], "topics": label["topics"],
                     "tone": label["tone"], "desk": "world" if i < 35 else "sport", "year": 2000 + i % 3})
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = evaluate(str(trained["version"]), data, models_dir=trained["models"], by=["length", "desk", "year"],
                      errors=3, plots=tmp_path / "plots")
    cal = result["calibration"]
    assert set(cal["topic"]["per_label"]) == {"diplomacy", "energy", "territory"} and 0 <= cal["topic"]["ece"] <= 1
    assert {"ece", "brier", "log_loss"} <= set(cal["tone"])
    assert [r["coverage"] for r in result["risk_coverage"]["topic"]] == [1.0, 0.9, 0.8, 0.7]
    cuts = [r["min_confidence"] for r in result["risk_coverage"]["tone"]]
    assert cuts == sorted(cuts)
    desk = result["by"]["desk"]["slices"]
    assert desk["world"]["n"] == 35 and "warning" in desk["sport"] and "warning" not in desk["world"]
    lo, hi = desk["world"]["topic_micro_f1"]["ci95"]
    assert lo <= desk["world"]["topic_micro_f1"]["value"] <= hi
    assert set(result["by"]["length"]["slices"]) <= {"1-2 words", "3-15 words", "16-60 words", "61-400 words", "401+ words"}
    assert set(result["by"]["year"]["slices"]) == {"2000", "2001", "2002"}
    assert len(result["errors"]) <= 3
    for e in result["errors"]:
        assert {"id", "task", "label", "confidence", "evidence"} <= set(e)
    assert [e["confidence"] for e in result["errors"]] == sorted([e["confidence"] for e in result["errors"]], reverse=True)
    assert sorted(p.rsplit("/", 1)[-1] for p in result["plots"]) == ["confusion.png", "precision_recall.png", "reliability.png"]
    assert all((tmp_path / "plots" / name).read_bytes()[:4] == b"\x89PNG" for name in ("reliability.png", "confusion.png"))

    cli = invoke("evaluate", "--models-dir", trained["models"], "--data", data, "--by", "desk", "--errors", "2")
    assert cli.exit_code == 0, cli.output
    assert "risk-coverage" in cli.stdout and "calibration" in cli.stdout and "most confident mistakes" in cli.stdout
    assert "warning: desk=sport" in cli.stdout
    unknown = invoke("evaluate", "--models-dir", trained["models"], "--data", data, "--by", "section")
    assert unknown.exit_code == 1 and "fields in this data: " in unknown.output and "desk" in unknown.output
