"""Issue 12, items 6-11: a new user's own label sets, files, configs and encodings, through the
real CLI (subprocess or Typer's runner) and the Python API."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from artclf.errors import ArtclfError
from helpers import assert_one_line_error, cli_run, invoke

REPO = Path(__file__).resolve().parents[1]

WORDS = {
    "business": "shares profits market bank company sales investors dividend",
    "sport": "match team goal coach league cup striker tournament",
    "politics": "election party parliament minister vote campaign budget opposition",
}
TONE_WORDS = {"positive": "success growth praised record strong", "negative": "failure losses crisis bitter collapse"}


def rows(n_per: int = 6, tone: bool = True) -> list[dict]:
    out = []
    for topic, words in WORDS.items():
        w = words.split()
        for i in range(n_per):
            t = "positive" if i % 2 else "negative"
            text = " ".join(w[(i + k) % len(w)] for k in range(6)) + " " + TONE_WORDS[t]
            row = {"id": f"{topic}{i}", "title": f"{topic} {i}", "text": text, "category": topic}
            if tone:
                row["tone"] = t
            out.append(row)
    return out


def write_csv(path: Path, records: list[dict], encoding: str = "utf-8") -> None:
    import csv
    import io

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(records[0]))
    writer.writeheader()
    writer.writerows(records)
    path.write_bytes(buf.getvalue().encode(encoding))


def config(folder: Path, body: str, name: str = "exp.toml") -> Path:
    base = (
        "[data]\nlabels = \"\"\nrules = \"\"\ndataset_dir = \"dataset\"\n"
        "[features]\nmin_df = 1\n[split]\nvalidation = 0.0\ntest = 0.34\n[topic]\nthreshold_folds = 2\n"
        "[train]\nmodels_dir = \"models\"\n"
    )
    path = folder / name
    path.write_text(_merge(base, body), encoding="utf-8")
    return path


def _merge(base: str, extra: str) -> str:
    """TOML text with ``extra``'s keys added to (or replacing) ``base``'s, section by section."""
    import tomllib

    data = tomllib.loads(base)
    for section, table in tomllib.loads(extra).items():
        if isinstance(table, dict):
            data.setdefault(section, {}).update(table)
        else:
            data[section] = table
    lines = [f"extends = {json.dumps(data.pop('extends'))}"] if "extends" in data else []
    for section, table in data.items():
        plain = {k: v for k, v in table.items() if not isinstance(v, dict)}
        lines.append(f"[{section}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in plain.items()]
        for k, v in table.items():
            if isinstance(v, dict):
                lines.append(f"[{section}.{k}]")
                lines += [f"{kk} = {json.dumps(vv)}" for kk, vv in v.items()]
    return "\n".join(lines) + "\n"


CSV_MULTICLASS = (
    '[data]\nformat = "csv"\nsource = "news.csv"\n[columns]\ntopics = "category"\n'
    '[labels]\ntopics = ["business", "sport", "politics"]\ntone = []\n[topic]\nmode = "multiclass"\n'
)


# --- item 6: any label set, any subset of tasks ---------------------------------------------


@pytest.mark.slow  # subprocesses: over 10 s on a busy 2-core machine
def test_tone_only_jsonl_through_the_cli(tmp_path):
    src = tmp_path / "data.jsonl"
    src.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "category"}) + "\n" for r in rows()))
    cfg = config(tmp_path, '[data]\nformat = "jsonl"\nsource = "data.jsonl"\n[labels]\ntopics = []\ntone = ["positive", "negative"]\n')
    result = cli_run("train", "--quiet", cfg, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    version = tmp_path / "models" / "v1"
    assert sorted(p.name for p in version.glob("*.joblib")) == ["tone.joblib"]
    card = (version / "MODEL_CARD.md").read_text()
    assert "Topics" not in card and "Tone (exactly one)" in card
    out = cli_run("predict", "--config", cfg, "a record success and strong growth", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert set(json.loads(out.stdout)) == {"tone", "tone_scores"}


@pytest.mark.parametrize("tone_cells", ["absent", "empty"])
def test_topic_only_csv_keeps_rows_without_tone(tmp_path, tone_cells):
    from train.workflow import train

    records = rows(tone=(tone_cells == "empty"))
    if tone_cells == "empty":
        for r in records:
            r["tone"] = ""
    write_csv(tmp_path / "news.csv", records)
    cfg = config(tmp_path, '[data]\nformat = "csv"\nsource = "news.csv"\n[columns]\ntopics = "category"\n'
                           '[labels]\ntopics = ["business", "sport", "politics"]\ntone = []\n')
    result = train(cfg)
    assert set(result.metrics["test"]) == {"n", "topic", "calibration"}
    assert result.manifest["dataset"]["counts"]["train"]["tone"] == {}
    assert result.manifest["dataset"]["counts"]["train"]["n"] + result.metrics["test"]["n"] == 18


def test_subset_of_the_seed_topics_works_end_to_end_and_counts_what_it_dropped(corpus):
    from train.config import load_config
    from train.data.dataset import build_dataset

    cfg = load_config(corpus["config"], ['labels.topics=["energy"]', f'data.rules="{REPO / "configs/rules/lexicons.toml"}"'])
    report = build_dataset(cfg).report
    assert set(report["unlisted_labels_dropped"]["topics"]) == {"diplomacy", "territory"}
    # The shipped rules for diplomacy and territory are ignored, not an error.
    assert {"diplomacy_actors", "territory_claims"} <= set(report["rules_ignored"])
    result = invoke("train", corpus["config"], "--quiet", "--set", 'labels.topics=["energy"]')
    assert result.exit_code == 0, result.output
    shown = json.loads(invoke("models", "show", "latest", "--config", corpus["config"]).output)
    assert shown["labels"]["topics"] == ["energy"] and list(shown["metrics"]["test"]["topic"]["per_label"]) == ["energy"]
    # A one-topic model scores the topic itself, not its absence.
    assert shown["metrics"]["test"]["topic"]["per_label"]["energy"]["support"] == report["counts"]["test"]["topics"]["energy"]


@pytest.mark.parametrize(
    "overrides, fragment",
    [
        (['labels.topics=["enrgy", "diplomacy"]'], "did you mean 'enrgy'"),   # the data holds energy: a typo in the config
        (['labels.tone=["positive", "negative"]', "labels.unlisted=error"], "unknown tone 'neutral'"),
        (['labels.topics=["sport", "tech"]'], "none of labels.topics (sport, tech) occurs in the data"),
    ],
)
def test_label_sets_that_do_not_fit_the_data_name_the_problem(corpus, overrides, fragment):
    args = [a for o in overrides for a in ("--set", o)]
    assert_one_line_error(invoke("build-dataset", corpus["config"], *args), fragment)


def test_tone_subset_drops_articles_whose_tone_is_left_out(corpus):
    from train.config import load_config
    from train.data.dataset import build_dataset

    report = build_dataset(load_config(corpus["config"], ['labels.tone=["positive", "negative"]'])).report
    assert report["unlisted_labels_dropped"] == {"tone": {"neutral": 16}}
    assert report["articles_dropped_unlisted"] == 16
    assert all("neutral" not in c["tone"] for c in report["counts"].values())


def test_rules_for_a_task_that_is_off_are_ignored_not_an_error(corpus, tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\nname = "pos"\nlabel = "tone:positive"\nkeywords = ["success"]\n'
                     '[[rule]]\nname = "oil"\nlabel = "topics:energy"\nkeywords = ["oil"]\n')
    result = invoke("build-dataset", corpus["config"], "--set", f'data.rules="{rules}"', "--set", "labels.tone=[]")
    assert result.exit_code == 0, result.output
    assert "labeling rules for labels not configured, ignored: 1" in result.output


# --- item 7: multiclass topics --------------------------------------------------------------


@pytest.mark.slow  # subprocesses: over 10 s on a busy 2-core machine
def test_multiclass_csv_train_predict_evaluate_card_through_subprocesses(tmp_path):
    write_csv(tmp_path / "news.csv", rows(tone=False))
    cfg = config(tmp_path, CSV_MULTICLASS)
    assert cli_run("train", "-q", cfg, cwd=tmp_path).returncode == 0
    out = cli_run("predict", "--config", cfg, "the team scored a late goal in the cup match", cwd=tmp_path)
    result = json.loads(out.stdout)
    assert result["topic"] == "sport" and result["topics"] == ["sport"]
    assert abs(sum(result["topic_scores"].values()) - 1) < 0.01
    metrics = json.loads(cli_run("evaluate", "--config", cfg, "--json", cwd=tmp_path).stdout)["topic"]
    assert {"accuracy", "macro_f1", "confusion_matrix"} <= set(metrics)
    assert metrics["confusion_matrix"]["labels"] == ["business", "sport", "politics"]
    manifest = json.loads((tmp_path / "models" / "v1" / "manifest.json").read_text())
    assert manifest["topic_mode"] == "multiclass" and manifest["thresholds"] == {}
    assert "exactly one per article" in (tmp_path / "models" / "v1" / "MODEL_CARD.md").read_text()


def test_multiclass_model_loads_and_explains_through_the_api(tmp_path):
    from train.store.load import load_model
    from train.workflow import train

    write_csv(tmp_path / "news.csv", rows(tone=True))
    cfg = config(tmp_path, CSV_MULTICLASS.replace("tone = []", 'tone = ["positive", "negative"]'))
    train(cfg)
    model = load_model("latest", tmp_path / "models")
    [prediction] = model.predict(["parliament voted on the budget after the election"])
    assert prediction["topic"] == "politics" and prediction["topics"] == ["politics"] and "tone" in prediction
    explained = model.explain("parliament voted on the budget after the election", top=2)
    assert list(explained["explanation"]["topics"]) == ["politics"]


@pytest.mark.parametrize(
    "category, fragment",
    [
        ("sport;politics", "row 1: 2 topics (sport, politics)"),
        ("", "row 1: 0 topics (none)"),
    ],
)
def test_multiclass_needs_exactly_one_topic_per_article(tmp_path, category, fragment):
    records = rows(tone=False)
    records[0]["category"] = category
    write_csv(tmp_path / "news.csv", records)
    assert_one_line_error(invoke("build-dataset", config(tmp_path, CSV_MULTICLASS)), fragment, 'topic.mode = "multiclass"')


def test_multiclass_needs_two_topics_and_a_known_mode():
    assert_one_line_error(invoke("train", "--set", "topic.mode=multiclass", "--set", 'labels.topics=["energy"]'),
                          "topic.mode multiclass needs at least two labels.topics")
    assert_one_line_error(invoke("train", "--set", "topic.mode=single"), "topic.mode must be one of multilabel, multiclass")


def test_multiclass_folders_with_a_subset_drop_the_other_folders(tmp_path):
    from train.config import load_config
    from train.data.dataset import build_dataset

    for topic, words in WORDS.items():
        (tmp_path / "bbc" / topic).mkdir(parents=True)
        for i in range(4):
            (tmp_path / "bbc" / topic / f"{i}.txt").write_text(f"{topic} {i}\n\n{words} {i}\n")
    cfg = config(tmp_path, '[data]\nformat = "folders"\nsource = "bbc"\n[labels]\ntopics = ["sport", "politics"]\ntone = []\n'
                           '[topic]\nmode = "multiclass"\n')
    report = build_dataset(load_config(cfg)).report
    assert report["articles_dropped_unlisted"] == 4 and report["unlisted_labels_dropped"] == {"topics": {"business": 4}}


# --- item 8: configs that inherit, config-relative paths, --config, compare overrides --------


def test_extends_chains_and_paths_are_relative_to_each_file(tmp_path, monkeypatch):
    from train.config import load_config

    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "base.toml").write_text('[data]\nsource = "corpus"\n[features]\nmin_df = 3\n[labels.definitions]\nx = "ex"\n')
    (tmp_path / "a" / "b" / "mid.toml").write_text('extends = "../base.toml"\n[features]\nmin_df = 4\n[train]\nmodels_dir = "m"\n')
    (tmp_path / "a" / "b" / "top.toml").write_text('extends = "mid.toml"\n[topic]\nC = 2.0\n[labels.definitions]\ny = "why"\n')
    monkeypatch.chdir(tmp_path)
    cfg = load_config(Path("a/b/top.toml"), ["features.max_df=0.9"])
    assert cfg.data.source == "a/corpus" and cfg.train.models_dir == "a/b/m"
    assert cfg.features.min_df == 4 and cfg.topic.C == 2.0 and cfg.features.max_df == 0.9
    assert cfg.labels.definitions["x"] == "ex" and cfg.labels.definitions["y"] == "why"
    assert cfg.data.rules == "configs/rules/lexicons.toml"  # built-in default: the current directory


@pytest.mark.parametrize(
    "files, fragment",
    [
        ({"a.toml": 'extends = "b.toml"\n', "b.toml": 'extends = "a.toml"\n'}, "extends itself through"),
        ({"a.toml": 'extends = "a.toml"\n'}, "extends itself through"),
        ({"a.toml": 'extends = "missing.toml"\n'}, "extends 'missing.toml', but"),
        ({"a.toml": "extends = 3\n"}, "extends must be a file name"),
        ({"a.toml": '[features]\nmin_df = 2\nextends = "b.toml"\n'}, "unknown key 'features.extends'"),
    ],
)
def test_bad_extends_is_one_line(tmp_path, files, fragment):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert_one_line_error(invoke("build-dataset", tmp_path / "a.toml"), fragment)


def test_a_config_in_another_folder_works_from_any_directory(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    write_csv(project / "news.csv", rows(tone=False))
    cfg = config(project, CSV_MULTICLASS)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = cli_run("train", "-q", cfg, cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert (project / "models" / "v1").is_dir() and not (elsewhere / "models").exists()
    listed = cli_run("models", "list", "--config", cfg, cwd=elsewhere)
    assert "v1" in listed.stdout
    missing = cli_run("predict", "text", cwd=elsewhere)
    assert "models: no saved model versions" in missing.stderr and "--models-dir" in missing.stderr


def test_compare_overrides_for_all_and_for_one(corpus):
    from train.experiments.compare import load_experiments

    other = corpus["config"].with_name("other.toml")
    other.write_text(corpus["config"].read_text() + "[tone]\nC = 2.0\n")
    configs = load_experiments([corpus["config"], other], ["features.min_df=1"], [("other", "tone.C=3.0"), ("1", "topic.C=5.0")])
    assert [c.features.min_df for c in configs] == [1, 1]
    assert configs[1].tone.C == 3.0 and configs[0].topic.C == 5.0
    assert configs[1].name == "other[tone.C=3.0]"
    # The same file twice, told apart by position.
    twice = load_experiments([corpus["config"], corpus["config"]], [], [("2", "topic.C=1.0")])
    assert twice[1].topic.C == 1.0 and twice[0].name != twice[1].name
    with pytest.raises(ArtclfError, match="no config named 'nope'"):
        load_experiments([corpus["config"]], [], [("nope", "topic.C=1.0")])
    assert_one_line_error(invoke("compare", corpus["config"], "--set-for", "bad"), "expected NAME::section.key=value")


# --- item 9: encodings ----------------------------------------------------------------------


@pytest.mark.slow  # subprocesses: over 10 s on a busy 2-core machine
def test_latin1_article_fails_by_default_and_reads_with_the_encoding(corpus):
    bad = corpus["seeds"] / "latin.txt"
    bad.write_bytes("Caf\u00e9 talks\n\nThe gas pipeline deal cost \u00a35m, officials said.\n".encode("latin-1"))
    result = cli_run("train", corpus["config"], cwd=corpus["seeds"].parent)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert "latin.txt: not valid UTF-8" in line and "--set data.encoding=latin-1" in line and "--on-error skip" in line
    skipped = cli_run("train", "-q", corpus["config"], "--on-error", "skip", cwd=corpus["seeds"].parent)
    assert skipped.returncode == 0, skipped.stderr
    from train.config import load_config
    from train.data.dataset import label_articles

    records, summary = label_articles(load_config(corpus["config"], ["data.encoding=latin-1"]))
    assert not summary["skipped"] and "latin" in summary["unlabeled"]  # read fine; it has no label


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1", "utf-16"])
def test_csv_and_jsonl_in_other_encodings(tmp_path, encoding):
    from train.config import load_config
    from train.data.dataset import label_articles

    records = rows(tone=False)
    records[0]["text"] += " caf\u00e9"
    write_csv(tmp_path / "news.csv", records, encoding)
    cfg = config(tmp_path, CSV_MULTICLASS.replace("[data]\n", f'[data]\nencoding = "{encoding}"\n'))
    got, _ = label_articles(load_config(cfg))
    assert "caf\u00e9" in got[0].text
    (tmp_path / "news.jsonl").write_bytes("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode(encoding))
    got, _ = label_articles(load_config(cfg, ["data.format=jsonl", f'data.source="{tmp_path / "news.jsonl"}"']))
    assert "caf\u00e9" in got[0].text


def test_unknown_encoding_and_predict_file_encoding(trained, tmp_path):
    assert_one_line_error(invoke("build-dataset", "--set", "data.encoding=klingon"), "data.encoding is not a text encoding")
    path = tmp_path / "a.txt"
    path.write_bytes("Gas talks\n\nThe \u00a3 fell as gas talks stalled.\n".encode("cp1252"))
    assert_one_line_error(invoke("predict", "--models-dir", trained["models"], "--file", path), "a.txt: not valid UTF-8")
    ok = invoke("predict", "--models-dir", trained["models"], "--encoding", "cp1252", "--file", path)
    assert ok.exit_code == 0 and json.loads(ok.output)["id"] == "a"
    assert_one_line_error(invoke("predict", "--models-dir", trained["models"], "--encoding", "nope", "--file", path), "--encoding nope")


def test_bbc_folders_have_one_non_utf8_file():
    from train.data.sources import shared_data_dir

    bbc = shared_data_dir() / "bbc"
    if not bbc.is_dir():
        pytest.skip(f"{bbc} not present")
    from train.config import load_config
    from train.data.inputs import read_source

    cfg = load_config(None, ["data.format=folders", f'data.source="{bbc}"', 'labels.topics=["business", "entertainment", "politics", "sport", "tech"]',
                             "labels.tone=[]", 'data.rules=""', 'data.labels=""'])
    with pytest.raises(ArtclfError, match=r"sport/199.txt: not valid UTF-8 \(byte 0xa3.*--set data.encoding=latin-1.*--on-error skip"):
        read_source(cfg)
    assert len(read_source(load_config(None, [*_sets(cfg), "data.encoding=latin-1"])).articles) == 2225


def _sets(cfg) -> list[str]:
    return ["data.format=folders", f'data.source="{cfg.data.source}"', f"labels.topics={json.dumps(list(cfg.labels.topics))}",
            "labels.tone=[]", 'data.rules=""', 'data.labels=""']


# --- item 10: say what is happening -----------------------------------------------------------


@pytest.mark.slow  # subprocesses: over 10 s on a busy 2-core machine
def test_train_prints_its_stages_on_stderr_and_quiet_prints_none(corpus):
    result = cli_run("train", corpus["config"], cwd=corpus["seeds"].parent)
    assert result.returncode == 0, result.stderr
    stages = [line.split(":")[0] for line in result.stderr.splitlines()]
    for stage in ("dataset", "featurize", "thresholds", "fit", "evaluate", "save"):
        assert stage in stages, result.stderr
    assert "rebuilt" in result.stderr and "no dataset built yet" in result.stderr
    again = cli_run("train", corpus["config"], cwd=corpus["seeds"].parent)
    assert "dataset: reused" in again.stderr and "unchanged" in again.stderr
    quiet = cli_run("train", "--quiet", corpus["config"], cwd=corpus["seeds"].parent)
    assert quiet.returncode == 0 and quiet.stderr == "" and "saved v3" in quiet.stdout


def test_api_reports_progress_through_a_callback_and_never_prints(corpus, capsys):
    from train.workflow import train

    seen = []
    train(corpus["config"], progress=lambda event: seen.append((event.stage, event.done, event.total)))
    assert capsys.readouterr().out == ""
    assert [s for s, _, _ in seen][:2] == ["dataset", "dataset"] and seen[-1][0] == "save"
    assert ("thresholds", 3, 3) in seen


def test_read_only_models_folder_fails_before_fitting(corpus):
    import os
    import time

    models = corpus["models"]
    models.mkdir()
    os.chmod(models, 0o500)
    try:
        if os.access(models, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        start = time.perf_counter()
        result = cli_run("train", corpus["config"], cwd=corpus["seeds"].parent)
        assert result.returncode == 1 and "cannot create a model version here" in result.stderr
        assert "featurize" not in result.stderr and time.perf_counter() - start < 10
    finally:
        os.chmod(models, 0o700)


def test_version_mismatch_is_one_warning_line(trained, tmp_path):
    from helpers import edit_manifest

    copy = tmp_path / "models"
    shutil.copytree(trained["models"], copy)
    # numpy: the one library both runtimes compute with (the CLI answers through the numpy runtime).
    edit_manifest(copy / "v1", lambda m: m["library_versions"].update({"numpy": "0.0.1"}))
    result = cli_run("predict", "--models-dir", copy, "--version-policy", "warn", "oil talks", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: model v1: ") and "numpy 0.0.1" in lines[0], result.stderr


# --- item 11: the model card speaks of the user's labels -------------------------------------


def test_model_card_uses_the_configs_definitions_and_card_section(tmp_path):
    from train.workflow import train

    write_csv(tmp_path / "news.csv", rows(tone=False))
    cfg = config(tmp_path, CSV_MULTICLASS + '[labels.definitions]\nsport = "games and athletes"\n'
                 '[card]\nintended_use = "Routing items to desks."\nlimitations = ["Toy data only."]\n')
    card = (train(cfg).path / "MODEL_CARD.md").read_text()
    assert "Routing items to desks." in card and "- Toy data only." in card
    assert "**sport**: games and athletes" in card
    assert "**business**: no definition recorded" in card
    assert "diplomacy" not in card and "Moscow" not in card and "Tone" not in card


def test_card_defaults_are_generic_and_bad_card_values_are_one_line():
    assert_one_line_error(invoke("train", "--set", "card.limitations=[1]"), "card.limitations must be an array of non-empty strings")
    assert_one_line_error(invoke("train", "--set", 'labels.definitions=["x"]'), "labels.definitions must be a table")
    from train.store.model_card import render

    text = render({"labels": {"topics": ["a"], "tone": []}, "config": {}})
    assert "Not stated by its trainer: set [card] intended_use" in text


# --- the README walk-throughs -------------------------------------------------------------------


def readme_blocks() -> dict[str, str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return dict(re.findall(r"<!-- walkthrough: (\S+) -->\n```sh\n(.*?)```", text, re.S))


@pytest.mark.slow  # three subprocesses each: over 10 s on a busy 2-core machine
@pytest.mark.parametrize("name", ["own-csv-one-category", "tone-only"])
def test_readme_walkthrough_runs_on_a_fresh_clone(tmp_path, name):
    block = readme_blocks()[name]
    shutil.copytree(REPO / "configs", tmp_path / "configs")
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error:" not in result.stderr
