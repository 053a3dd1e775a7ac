"""Sources beyond the seed folder, label merging, rules, and honest splits through build_dataset."""

import json

import pytest

from train.config import load_config
from train.data.dataset import build_dataset, load_splits
from artclf.errors import ArtclfError

ARTICLES = [
    ("a1", "Oil output", "Crude oil output and gas exports rose, the energy ministry said.", ["energy"], "positive"),
    ("a2", "Summit", "The foreign ministers held talks at the summit on a peace treaty.", ["diplomacy"], "neutral"),
    ("a3", "Islands", "The dispute over sovereignty of the islands flared at the border.", ["territory"], "negative"),
    ("a4", "Football", "The club won the cup final after extra time in the capital.", [], "positive"),
    ("a5", "Rain", "Floods closed schools and roads across the northern province.", [], "negative"),
    ("a6", "Grid", "The utility connected a new wind farm to the power grid.", ["energy"], "neutral"),
]


def config_for(tmp_path, fmt, source, extra=""):
    path = tmp_path / "exp.toml"
    path.write_text(
        f'[data]\nformat = "{fmt}"\nsource = "{source}"\nlabels = ""\nrules = ""\n'
        f'dataset_dir = "{tmp_path / "ds"}"\n[split]\nvalidation = 0.0\ntest = 0.34\n{extra}'
    )
    return load_config(path)


def test_jsonl_source_with_labels(tmp_path):
    src = tmp_path / "a.jsonl"
    src.write_text("".join(json.dumps({"id": i, "title": t, "text": x, "topics": tp, "tone": tn}) + "\n" for i, t, x, tp, tn in ARTICLES))
    result = build_dataset(config_for(tmp_path, "jsonl", src))
    rows = [r for split in load_splits(result.path).values() for r in split]
    assert sorted(r.id for r in rows) == [a[0] for a in ARTICLES]
    a1 = next(r for r in rows if r.id == "a1")
    assert a1.topics == ("energy",) and a1.tone == "positive" and a1.text.startswith("Oil output")


def test_csv_source_with_column_mapping_and_separator(tmp_path):
    src = tmp_path / "a.csv"
    lines = ["doc,headline,body,labels,sentiment"] + [f'{i},{t},"{x}",{";".join(tp)},{tn}' for i, t, x, tp, tn in ARTICLES]
    src.write_text("\n".join(lines) + "\n")
    extra = '[columns]\nid = "doc"\ntitle = "headline"\ntext = "body"\ntopics = "labels"\ntone = "sentiment"\n'
    result = build_dataset(config_for(tmp_path, "csv", src, extra))
    rows = {r.id: r for split in load_splits(result.path).values() for r in split}
    assert rows["a3"].topics == ("territory",) and rows["a4"].topics == ()


def test_csv_missing_mapped_column_is_named(tmp_path):
    src = tmp_path / "a.csv"
    src.write_text("id,text\n1,hello there\n")
    with pytest.raises(ArtclfError, match=r"a.csv: mapped column 'body' \(columns.text\) is missing; columns present: id, text"):
        build_dataset(config_for(tmp_path, "csv", src, '[columns]\ntext = "body"\n'))


def test_parquet_source(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    src = tmp_path / "a.parquet"
    pq.write_table(pa.table({
        "id": [a[0] for a in ARTICLES], "text": [a[2] for a in ARTICLES],
        "topics": [a[3] for a in ARTICLES], "tone": [a[4] for a in ARTICLES],
    }), src)
    result = build_dataset(config_for(tmp_path, "parquet", src))
    assert sum(c["n"] for c in result.counts.values()) == 6


def test_duplicate_ids_and_empty_text_name_the_row(tmp_path):
    src = tmp_path / "a.jsonl"
    src.write_text('{"id": "x", "text": "one two", "topics": [], "tone": "neutral"}\n{"id": "x", "text": "three", "topics": [], "tone": "neutral"}\n')
    with pytest.raises(ArtclfError, match=r"a.jsonl: row 2: duplicate id 'x' \(first at row 1\)"):
        build_dataset(config_for(tmp_path, "jsonl", src))
    src.write_text('{"id": "x", "text": "  ", "topics": [], "tone": "neutral"}\n')
    with pytest.raises(ArtclfError, match=r"row 1: empty text"):
        build_dataset(config_for(tmp_path, "jsonl", src))


def test_folder_per_label_source(tmp_path):
    root = tmp_path / "bbc_like"
    for i, (_, title, text, topics, tone) in enumerate(ARTICLES):
        folder = root / (topics[0] if topics else "none")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i:03d}.txt").write_text(f"{title}\n\n{text}\n")
    cfg = config_for(tmp_path, "folders", root, '[labels]\ntone = []\n')
    result = build_dataset(cfg)
    rows = {r.id: r for split in load_splits(result.path).values() for r in split}
    assert rows["energy/000"].topics == ("energy",) and rows["none/003"].topics == ()
    assert rows["energy/000"].topic_source == "folder:energy"
    (root / "Energy").mkdir()
    with pytest.raises(ArtclfError, match="folder name 'Energy' is not a known topics label.*did you mean 'energy'"):
        build_dataset(cfg)
    (root / "Energy").rmdir()
    (root / "sports").mkdir()
    (root / "sports" / "x.txt").write_text("Match report\n\nThe team won the match.\n")
    strict = config_for(tmp_path, "folders", root, '[labels]\ntone = []\nunlisted = "error"\n')
    with pytest.raises(ArtclfError, match="folder name 'sports' is not a known topics label"):
        build_dataset(strict)
    # By default a folder for a label the config leaves out is dropped, with a count.
    assert build_dataset(cfg).report["unlisted_labels_dropped"] == {"topics": {"sports": 1}}


def test_hub_source_code_path_with_a_local_script_free_dataset(tmp_path):
    # No test may need the network: a local folder of parquet files is what load_dataset(name)
    # resolves to for a Hub dataset once downloaded, so the same code path runs on it.
    import pyarrow as pa
    import pyarrow.parquet as pq

    hub = tmp_path / "user__news"
    (hub / "data").mkdir(parents=True)
    pq.write_table(pa.table({"id": [a[0] for a in ARTICLES], "text": [a[2] for a in ARTICLES],
                             "topics": [a[3] for a in ARTICLES], "tone": [a[4] for a in ARTICLES]}), hub / "data" / "train-00000.parquet")
    result = build_dataset(config_for(tmp_path, "hub", hub))
    assert sum(c["n"] for c in result.counts.values()) == 6


def test_rules_label_unlabeled_articles_and_record_sources(tmp_path):
    src = tmp_path / "a.jsonl"
    src.write_text("".join(json.dumps({"id": i, "text": x}) + "\n" for i, _, x, _, _ in ARTICLES))
    rules = tmp_path / "rules.toml"
    rules.write_text(
        '[[rule]]\nname = "oil"\nlabel = "topics:energy"\nkeywords = ["oil", "gas", "wind farm", "grid"]\nmin_hits = 1\n'
        '[[rule]]\nname = "bad"\nlabel = "tone:negative"\nkeywords = ["dispute", "floods"]\n'
    )
    path = tmp_path / "exp.toml"
    path.write_text(f'[data]\nformat = "jsonl"\nsource = "{src}"\nlabels = ""\nrules = "{rules}"\ndataset_dir = "{tmp_path / "ds"}"\n'
                    '[split]\nvalidation = 0.0\ntest = 0.34\n')
    result = build_dataset(load_config(path))
    rows = {r.id: r for split in load_splits(result.path).values() for r in split}
    assert rows["a1"].topics == ("energy",) and rows["a1"].topic_source == "rules:oil"
    assert rows["a3"].tone == "negative" and rows["a3"].tone_source == "rules:bad"
    assert rows["a2"].tone == "neutral" and rows["a2"].tone_source == "rules:default"
    assert result.report["label_sources"] == {"rules": 6}
    assert result.report["rule_report"]["rules"]["oil"]["coverage"] == round(2 / 6, 4)


def test_build_never_leaves_a_half_written_dataset(corpus, monkeypatch):
    import datasets

    cfg = load_config(corpus["config"])
    build_dataset(cfg)
    before = sorted(p.name for p in corpus["dataset"].iterdir())

    def broken_save(self, path, *a, **kw):
        (__import__("pathlib").Path(path) / "partial").mkdir(parents=True)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(datasets.DatasetDict, "save_to_disk", broken_save)
    with pytest.raises(ArtclfError, match="cannot write the dataset .*No space left"):
        build_dataset(cfg)
    assert sorted(p.name for p in corpus["dataset"].iterdir()) == before
    assert [p.name for p in corpus["dataset"].parent.iterdir() if ".tmp-" in p.name or ".old-" in p.name] == []


def test_planted_near_duplicate_never_crosses_splits(corpus):
    seeds = corpus["seeds"]
    original = (seeds / "001_article.txt").read_text()
    (seeds / "900_rerun.txt").write_text(original.replace("Report 1:", "UPDATE 1 - Report 1:") + "\nAdds a late quote.\n")
    (seeds / "901_exact.txt").write_text(original)
    labels = corpus["labels"]
    first = json.loads(labels.read_text().splitlines()[0])
    labels.write_text(labels.read_text() + json.dumps({**first, "id": "900_rerun"}) + "\n" + json.dumps({**first, "id": "901_exact"}) + "\n")
    for seed in range(5):
        cfg = load_config(corpus["config"], [f"split.seed={seed}"])
        result = build_dataset(cfg)
        where = {r.id: name for name, rows in load_splits(result.path).items() for r in rows}
        assert where["900_rerun"] == where["001_article"]
        assert "901_exact" not in where
        assert result.report["duplicates_removed"] == [{"id": "901_exact", "duplicate_of": "001_article"}]


def test_time_split_trains_on_older_articles(corpus):
    cfg = load_config(corpus["config"], ["split.method=time"])
    splits = load_splits(build_dataset(cfg).path)
    newest_train = max(r.published for r in splits["train"])
    oldest_test = min(r.published for r in splits["test"])
    assert newest_train <= oldest_test


def test_rule_labeled_articles_only_train_and_gold_is_evaluated(corpus, tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\nname = "oil"\nlabel = "topics:energy"\nkeywords = ["oil"]\n')
    for i in range(6):
        (corpus["seeds"] / f"95{i}_unlabeled.txt").write_text(f"Unlabeled {i}\n\nOil barrels and crude oil news number {i} from the wire.\n")
    cfg = load_config(corpus["config"], [f'data.rules="{rules}"'])
    result = build_dataset(cfg)
    splits = load_splits(result.path)
    weak = {r.id: name for name, rows in splits.items() for r in rows if r.topic_source.startswith("rules")}
    assert sorted(weak) == [f"95{i}_unlabeled" for i in range(6)]
    assert set(weak.values()) == {"train"}
    assert all(r.label_source == "gold" for name in ("validation", "test") for r in splits[name])
