"""`artclf compare` and `artclf runs`: identical folds, cache, significance, reports, bad input."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import write_corpus
from train.cli import app
from artclf.errors import ArtclfError

from helpers import assert_one_line_error

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]
SHIPPED = ["char_ngrams", "linear_svc", "complement_nb", "no_sublinear_tf", "fixed_thresholds", "no_class_weight"]


def variant(base: Path, name: str, section: str, lines: str) -> Path:
    """A copy of the corpus config with keys added to one section."""
    text = base.read_text(encoding="utf-8")
    header = f"[{section}]\n"
    text = text.replace(header, header + lines + "\n", 1) if header in text else text + header + lines + "\n"
    path = base.parent / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A healthy config and a crippled one (5 features, tiny topic C) on 3 folds x 2 repeats."""
    from train.experiments.compare import compare

    root = tmp_path_factory.mktemp("compare")
    paths = write_corpus(root, copies=3)
    base = paths["config"]
    bad = variant(base, "bad", "features", "max_features = 5")
    bad = variant(bad, "bad", "topic", "C = 0.001")
    bad = variant(bad, "bad", "tone", "C = 0.001")
    runs = root / "runs"
    result = compare([base, bad], folds=3, repeats=2, runs_dir=runs)
    return {**paths, "bad": bad, "runs": runs, "result": result}


def test_bad_config_is_flagged_significantly_worse(compared):
    summary = compared["result"].summary()
    for task, metric in (("topic", "micro_f1"), ("topic", "macro_f1"), ("topic", "hamming_loss"), ("tone", "macro_f1")):
        vs = summary[task]["bad"][metric]["vs_baseline"]
        assert vs["significant"] and vs["verdict"] == "worse", (task, metric, vs)
        assert vs["p"] < 0.05
        assert summary[task]["experiment"][metric]["best"] and not summary[task]["bad"][metric]["best"]
    assert "vs_baseline" not in summary["topic"]["experiment"]["micro_f1"]


def test_every_config_is_scored_on_the_same_folds(compared):
    result = compared["result"]
    assert result.computed == ["experiment", "bad"]
    layouts = [[(f["repeat"], f["fold"], f["n_train"], f["n_test"]) for f in c.folds] for c in result.configs]
    assert layouts[0] == layouts[1] and len(layouts[0]) == 6
    assert sum(f["n_test"] for f in result.configs[0].folds) == 2 * result.dataset["n_articles"]


def test_make_folds_partition_each_repeat_and_are_seeded():
    from train.experiments.folds import make_folds
    from train.data.dataset import Record

    rng = np.random.default_rng(0)
    records = [
        Record(id=str(i), text=f"article {i} " + " ".join(rng.choice(list("abcdefgh"), 30)),
               topics=tuple(t for t in ("a", "b") if rng.random() < 0.5), tone=["x", "y"][i % 2])
        for i in range(40)
    ]
    folds = make_folds(records, 4, 2, seed=7, jaccard=0.6)
    assert len(folds) == 8
    for repeat in (0, 1):
        held = sorted(i for f in folds if f.repeat == repeat for i in f.test)
        assert held == list(range(40))
        for f in folds:
            assert not set(f.train) & set(f.test)
    assert [f.test for f in folds] == [f.test for f in make_folds(records, 4, 2, seed=7, jaccard=0.6)]
    assert folds[0].test != folds[4].test  # repeats reshuffle


def test_second_run_is_served_from_cache_and_only_new_configs_are_fitted(compared, monkeypatch):
    import train.experiments.compare as compare_module

    calls = []
    real = compare_module.score_fold
    monkeypatch.setattr(compare_module, "score_fold", lambda cfg, records, fold: calls.append(cfg.name) or real(cfg, records, fold))
    again = compare_module.compare([compared["config"], compared["bad"]], folds=3, repeats=2, runs_dir=compared["runs"])
    assert calls == [] and again.computed == []
    assert again.summary()["topic"]["bad"]["micro_f1"]["folds"] == compared["result"].summary()["topic"]["bad"]["micro_f1"]["folds"]

    svm = variant(compared["config"], "svm", "topic", 'classifier = "linear_svc"')
    third = compare_module.compare([compared["config"], compared["bad"], svm], folds=3, repeats=2, runs_dir=compared["runs"])
    assert set(calls) == {"svm"} and len(calls) == 6 and third.computed == ["svm"]

    # Different folds are a different experiment: not served from the cache.
    calls.clear()
    compare_module.compare([compared["config"]], folds=2, repeats=1, runs_dir=compared["runs"])
    assert calls == ["experiment", "experiment"]


def test_cli_table_json_report_and_runs(compared, tmp_path):
    args = ["compare", compared["config"], compared["bad"], "--folds", 3, "--repeats", 2, "--runs-dir", compared["runs"]]
    result = run(*args)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Settings that differ" in out and "features.max_features" in out and "topic.C" in out
    # Keys equal in both configs are not listed.
    assert "features.ngram_range" not in out and "split.seed" not in out
    assert "worse" in out and "Nadeau & Bengio" in out and "from cache: experiment, bad" in out
    assert " ± " in out and "articles/s" in out and "model KB" in out

    result = run(*args, "--json", "--report", tmp_path / "rep" / "compare.md")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["differing_keys"]["features.max_features"] == [0, 5]
    assert set(data["results"]) == {"topic", "tone"}
    assert set(data["results"]["topic"]["bad"]) >= {"micro_f1", "f1:diplomacy", "train_s", "articles_per_s", "model_bytes"}
    report = (tmp_path / "rep" / "compare.md").read_text()
    assert "| config |" in report and "![per-label F1" in report and "compare.png" in report
    assert (tmp_path / "rep" / "compare.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in (tmp_path / "rep").iterdir() if p.name.startswith(".")]

    listed = run("runs", "list", "--runs-dir", compared["runs"], "--json")
    runs = json.loads(listed.output)
    assert runs and all(r["dataset"] == compared["result"].dataset["fingerprint"][:12] for r in runs)
    first, last = runs[0]["id"], runs[-1]["id"]
    again = run("compare", "--runs", first, last, "--runs-dir", compared["runs"], "--json")
    assert again.exit_code == 0, again.output
    stored = json.loads(again.output)
    assert stored["results"]["topic"]["bad"]["micro_f1"] == data["results"]["topic"]["bad"]["micro_f1"]


def test_corrected_t_test_is_wider_than_the_naive_paired_test():
    from scipy import stats

    from train.experiments.results import corrected_t_test

    rng = np.random.default_rng(1)
    a = rng.normal(0.8, 0.05, 10)
    b = a - 0.03 + rng.normal(0, 0.02, 10)
    delta, p_naive = corrected_t_test(a, b, test_fraction=0.0)
    assert delta == pytest.approx(float(np.mean(b - a)))
    assert p_naive == pytest.approx(stats.ttest_rel(b, a).pvalue)
    _, p_corrected = corrected_t_test(a, b, test_fraction=0.25)
    assert p_corrected > p_naive
    assert corrected_t_test(a, a, 0.25) == (0.0, 1.0)


def test_differing_keys_lists_only_changed_keys():
    from train.experiments.results import differing_keys

    a = {"features": {"min_df": 1, "ngram_range": [1, 2]}, "topic": {"C": 10.0}}
    b = {"features": {"min_df": 1, "ngram_range": [1, 3]}, "topic": {"C": 10.0}}
    assert differing_keys([a, b]) == {"features.ngram_range": [[1, 2], [1, 3]]}
    assert differing_keys([a]) == {}


# --- bad input: one line, named, before any work ------------------------------------------


def test_invalid_config_is_named_before_any_work(corpus, tmp_path):
    bad = variant(corpus["config"], "broken", "topic", "C = -1")
    result = run("compare", corpus["config"], bad, "--runs-dir", tmp_path / "runs")
    assert_one_line_error(result, "broken.toml", "topic.C")
    assert not corpus["dataset"].exists() and not (tmp_path / "runs").exists()


def test_identical_configs_are_reported(corpus, tmp_path):
    twin = tmp_path / "twin.toml"
    twin.write_text(corpus["config"].read_text())
    result = run("compare", corpus["config"], twin, "--runs-dir", tmp_path / "runs")
    assert_one_line_error(result, "identical", "twin.toml", "experiment.toml")


def test_configs_on_different_datasets_name_the_keys(corpus, tmp_path):
    other = variant(corpus["config"], "other_split", "split", "seed = 99")
    result = run("compare", corpus["config"], other, "--runs-dir", tmp_path / "runs")
    assert_one_line_error(result, "other_split.toml", "split.seed", "different dataset")


def test_too_small_for_k_folds_suggests_a_k(corpus, tmp_path):
    result = run("compare", corpus["config"], "--folds", 25, "--runs-dir", tmp_path / "runs")
    assert_one_line_error(result, "too small for 25 folds", "--folds ")
    suggested = int(result.output.split("--folds ")[1].split()[0])
    assert 2 <= suggested < 25


def test_check_enough_data_counts_each_label():
    from train.experiments.folds import check_enough_data
    from train.data.dataset import Record

    records = [Record(str(i), "t", ("a",) if i < 3 else (), ["x", "y"][i % 2]) for i in range(20)]
    tasks = {"topic": ["a"], "tone": ["x", "y"]}
    check_enough_data(records, tasks, 3, "here")
    with pytest.raises(ArtclfError, match="topic 'a' has only 3.*--folds 3"):
        check_enough_data(records, tasks, 4, "here")
    with pytest.raises(ArtclfError, match="at least 2"):
        check_enough_data(records[2:], tasks, 2, "here")


def test_unknown_run_and_bad_backend(tmp_path, corpus):
    assert_one_line_error(run("compare", "--runs", "r7", "--runs-dir", tmp_path), "run 'r7' not found")
    assert_one_line_error(
        run("compare", corpus["config"], "--folds", 2, "--backend", "dask", "--runs-dir", tmp_path / "runs"),
        "--scheduler",
    )


# --- shipped experiment configs -----------------------------------------------------------


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_configs_set_only_what_differs_and_say_why(name):
    from train.config import load_config

    path = REPO / "configs" / f"{name}.toml"
    text = path.read_text(encoding="utf-8")
    assert "# why:" in text
    default = load_config(REPO / "configs" / "default.toml").to_dict()
    raw = tomllib.loads(text)
    assert raw
    assert raw.pop("extends") == "default.toml"
    for section, table in raw.items():
        for key, value in table.items():
            assert default[section][key] != value, f"{name}.toml sets {section}.{key} to its default"
    assert load_config(path).fingerprint() != load_config(REPO / "configs" / "default.toml").fingerprint()


def test_shipped_configs_compare_together():
    from train.experiments.compare import load_experiments

    configs = load_experiments([REPO / "configs" / "default.toml"] + [REPO / "configs" / f"{n}.toml" for n in SHIPPED])
    assert [c.name for c in configs] == ["default"] + SHIPPED


# --- beyond one machine --------------------------------------------------------------------


def _dask_equals_local(processes: bool, compared: dict, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    from train.experiments.compare import compare

    # One config keeps it quick; the baseline's folds are the same code path.
    paths = [compared["bad"]]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=processes, dashboard_address=None) as cluster:
        remote = compare(paths, folds=3, repeats=2, runs_dir=tmp_path / "runs", backend="dask",
                         scheduler=cluster.scheduler_address, use_cache=False)
    local = compared["result"]
    assert remote.computed == ["bad"]
    assert [f["metrics"] for f in remote.configs[0].folds] == [f["metrics"] for f in local.configs[1].folds]


def test_dask_threads_cluster_gives_the_local_results(compared, tmp_path):
    _dask_equals_local(False, compared, tmp_path)


@pytest.mark.slow
def test_dask_process_cluster_gives_the_local_results(compared, tmp_path):
    _dask_equals_local(True, compared, tmp_path)


def test_runs_with_a_same_named_but_edited_config_stay_apart(compared, tmp_path):
    from train.experiments.runs import load_runs

    runs = tmp_path / "runs"
    runs.mkdir()
    first = json.loads(sorted(compared["runs"].glob("r*.json"))[0].read_text())
    (runs / "r1.json").write_text(json.dumps(first))
    edited = json.loads(json.dumps(first))
    edited["configs"] = [dict(edited["configs"][1], name="experiment", fingerprint="f" * 64)]
    (runs / "r2.json").write_text(json.dumps(edited))
    result = load_runs(["r1", "r2"], runs)
    assert [c.name for c in result.configs] == ["experiment", "bad", "experiment@r2"]
    assert set(result.summary()["topic"]) == {"experiment", "bad", "experiment@r2"}

    other = json.loads(json.dumps(first))
    other["folds"] = 4
    (runs / "r3.json").write_text(json.dumps(other))
    with pytest.raises(ArtclfError, match="different --folds"):
        load_runs(["r1", "r3"], runs)


def test_an_interrupted_comparison_keeps_the_configs_it_finished(corpus, tmp_path, monkeypatch):
    import train.experiments.compare as compare_module

    real = compare_module.score_fold

    def failing(cfg, records, fold):
        if cfg.name == "svm":
            raise KeyboardInterrupt
        return real(cfg, records, fold)

    svm = variant(corpus["config"], "svm", "topic", 'classifier = "linear_svc"')
    monkeypatch.setattr(compare_module, "score_fold", failing)
    with pytest.raises(KeyboardInterrupt):
        compare_module.compare([corpus["config"], svm], folds=2, runs_dir=tmp_path / "runs")
    assert not list((tmp_path / "runs").glob("r*.json"))  # no run recorded for unfinished work
    monkeypatch.setattr(compare_module, "score_fold", real)
    again = compare_module.compare([corpus["config"]], folds=2, runs_dir=tmp_path / "runs")
    assert again.computed == []
