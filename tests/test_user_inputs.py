"""Issue 12, items 1, 2, 3 and 5, tried as a new user would: model references that name nothing,
bad lines in a `predict -` stream (and `predict -` as a co-process), label sets that differ between
a model and the data, and empty input. Each class through the CLI (CliRunner and a real
subprocess) and the Python API, with the issue's examples and variants of our own."""

from __future__ import annotations

import io
import json
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from artclf.errors import LabelMismatchError, ModelNotFoundError
from train.cli import app

from helpers import assert_one_error

CLI = [sys.executable, "-c", "from train.cli import main; main()"]


def run(*args: object, input: str | bytes | None = None):
    return CliRunner().invoke(app, [str(a) for a in args], input=input)


def lines(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def store(trained, tmp_path_factory):
    """models/ with v1, v2 (a copy), alias production -> v1, alias old -> v3 (since removed),
    and beside it a folder without a manifest."""
    root = tmp_path_factory.mktemp("store")
    models = root / "models"
    shutil.copytree(trained["version"], models / "v1")
    shutil.copytree(trained["version"], models / "v2")
    (models / "aliases.json").write_text(json.dumps({"production": "v1", "old": "v3"}))
    (root / "nomanifest").mkdir()
    (root / "nomanifest" / "topic.skops").write_bytes(b"not a model")
    (root / "article.txt").write_text("Oil talks\n\nCrude output rose.\n")
    return {"root": root, "models": models}


# --- item 1: a reference that names nothing never falls back ------------------------------------

def bad_refs(store) -> dict[str, tuple[str, str]]:
    root, models = store["root"], store["models"]
    return {
        # the examples
        "misspelled alias": ("prodution", "did you mean 'production'?"),
        "missing path": (str(models / "v7"), "model '" + str(models / "v7") + "' not found: no such folder"),
        "folder without manifest": (str(root / "nomanifest"), "not a model version folder (no manifest.json)"),
        "v0": ("v0", "model 'v0' not found: no such version"),
        "alias to a removed version": ("old", "alias 'old' points at 'v3', which is not a saved version"),
        # variants
        "latest misspelled": ("lastest", "did you mean 'latest'?"),
        "version in capitals": ("V2", "did you mean 'v2'?"),
        "version-like": ("v1.0", "model 'v1.0' not found"),
        "relative path": ("./v1", "model './v1' not found: no such folder"),
        "model file": ("topic.skops", "model 'topic.skops' not found"),
        "a file, not a folder": (str(root / "article.txt"), "not a model version folder"),
        "missed alias by two letters": ("productoin", "did you mean 'production'?"),
    }


CASES = ["misspelled alias", "missing path", "folder without manifest", "v0", "alias to a removed version",
         "latest misspelled", "version in capitals", "version-like", "relative path", "model file",
         "a file, not a folder", "missed alias by two letters"]


@pytest.mark.parametrize("case", CASES)
def test_a_reference_that_names_nothing_is_one_error_as_positional_and_as_m(store, case):
    ref, fragment = bad_refs(store)[case]
    models = store["models"]
    as_positional = run("predict", "--models-dir", models, ref, "Oil talks")
    as_option = run("predict", "--models-dir", models, "-m", ref, "Oil talks")
    error = assert_one_error(as_positional, fragment, "versions: v1, v2; aliases: old, production")
    same = assert_one_error(as_option, fragment, "versions: v1, v2; aliases: old, production")
    assert as_positional.stdout == as_option.stdout == ""
    # The same message; the positional form adds how to classify the word as a text instead.
    assert error.startswith(same)
    assert "put -- before it or pass -m latest" in error or "pass --file" in error
    with pytest.raises(ModelNotFoundError):
        from artclf.refs import resolve_ref
        resolve_ref(ref, models)


@pytest.mark.parametrize("words, n_results", [
    (["Oil talks"], 1),                      # multi-word: always a text
    (["production talks", "x"], 2),          # an alias plus a word is a text
    (["production\n", "x"], 2),              # a newline: always a text
    (["--", "production"], 1),               # after --, a text even though it is an alias
    (["--", "v1", "v2"], 2),
    (["-m", "latest", "production"], 1),     # -m: every positional is a text
    (["v2", "--", "v1"], 1),                 # model v2, text "v1"
    (["production", "oil"], 1),              # an alias that resolves is the model
    (["oil"], 1),                            # a word like no reference: a text for latest
    (["", "   "], 2),                        # empty texts are texts (answered as empty)
])
def test_texts_are_never_references_and_references_never_texts(store, words, n_results):
    result = run("predict", "--models-dir", store["models"], *words)
    assert result.exit_code == 0, result.output
    assert len(lines(result)) == n_results


def test_split_model_arg_rule_api(store):
    from artclf.refs import looks_like_ref
    from train.serve.stream import split_model_arg

    models = store["models"]
    assert split_model_arg(["production", "oil"], models) == ("production", ["oil"])
    assert split_model_arg([str(models / "v2"), "oil"], models) == (str(models / "v2"), ["oil"])
    assert split_model_arg(["oil", "gas"], models) == ("latest", ["oil", "gas"])
    assert split_model_arg(["production"], models, forced_texts=1) == ("latest", ["production"])
    assert split_model_arg(["v9", "x"], models, model="v1") == ("v1", ["v9", "x"])
    with pytest.raises(ModelNotFoundError, match="did you mean 'production'"):
        split_model_arg(["prodution", "oil"], models)
    for word in ("latest", "LATEST", "v3", "version2", "a/b", ".hidden", "~/m", "m.joblib", "prodution"):
        assert looks_like_ref(word, models), word
    for word in ("oil", "Oil talks", "production\nx", "", "x" * 5000, "pipeline"):
        assert not looks_like_ref(word, models), word


def test_a_bad_reference_through_the_real_cli(store):
    for args in (["prodution", "Oil talks"], ["-m", "prodution", "Oil talks"], [str(store["root"] / "nomanifest"), "x"]):
        done = subprocess.run([*CLI, "predict", "--models-dir", str(store["models"]), *args],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 1 and done.stdout == "", done
        assert done.stderr.startswith("error: ") and len(done.stderr.splitlines()) == 1, done.stderr
        assert "Traceback" not in done.stderr and "versions: v1, v2" in done.stderr


# --- item 2: predict - never loses good records -------------------------------------------------

def good(i: int, text: str = "Crude oil output rose as the pipeline reopened.") -> str:
    return json.dumps({"id": i, "text": text}) + "\n"


def test_300_good_a_bad_line_and_10_more_stop_answers_every_good_line_first(store):
    stdin = "".join(good(i) for i in range(300)) + "{bad\n" + "".join(good(1000 + i) for i in range(10))
    result = run("predict", "--models-dir", store["models"], "-", input=stdin)
    assert_one_error(result, "stdin:301: malformed JSON")
    assert [r["id"] for r in lines(result)] == list(range(300))


def test_300_good_a_bad_line_and_10_more_skip_answers_it_in_place(store):
    stdin = "".join(good(i) for i in range(300)) + "{bad\n" + "".join(good(1000 + i) for i in range(10))
    result = run("predict", "--models-dir", store["models"], "-", "--on-error", "skip", input=stdin)
    assert result.exit_code == 2, result.output
    out = lines(result)
    assert len(out) == 311 and [r.get("id") for r in out[:300]] == list(range(300))
    assert out[300]["line"] == 301 and "malformed JSON" in out[300]["error"] and "topics" not in out[300]
    assert [r["id"] for r in out[301:]] == [1000 + i for i in range(10)]
    assert "1 stdin line(s) skipped" in result.stderr


def test_two_good_lines_then_a_bad_one_answers_both(store):
    result = run("predict", "--models-dir", store["models"], "-", input=good(1) + good(2) + "[1, 2]\n")
    assert_one_error(result, "stdin:3: expected a JSON object")
    assert [r["id"] for r in lines(result)] == [1, 2]


BAD_LINES = {
    "malformed JSON": (b'{"text": \n', "malformed JSON"),
    "not an object": (b'"just a string"\n', "expected a JSON object"),
    "no text": (b'{"title": "no text"}\n', 'missing "text"'),
    "text a number": (b'{"text": 5}\n', "'text' must be a string, got a number"),
    "text null": (b'{"text": null}\n', 'missing "text"'),
    "title not a string": (b'{"title": ["a"], "text": "x"}\n', "'title' must be a string, got an array"),
    "id an object": (b'{"id": {"a": 1}, "text": "x"}\n', "'id' must be a string or a number, got an object"),
    "id a boolean": (b'{"id": true, "text": "x"}\n', "'id' must be a string or a number, got a boolean"),
    "id NaN": (b'{"id": NaN, "text": "x"}\n', "not a finite number"),
    "invalid UTF-8": (b'{"text": "caf\xe9"}\n', "not valid UTF-8 (byte 0xe9"),
    "huge integer": (b'{"text": "x", "n": ' + b"7" * 4400 + b"}\n", "unreadable JSON (Exceeds the limit"),
    "deep nesting": (b"[" * 100_000 + b"]" * 100_000 + b"\n", "unreadable JSON (maximum recursion depth"),
    "lone surrogate": (b'{"text": "\\ud800"}\n', "lone surrogate"),
}


@pytest.mark.parametrize("case", BAD_LINES)
def test_every_kind_of_bad_line_is_named_and_skippable(store, case):
    bad, fragment = BAD_LINES[case]
    stdin = good(1).encode() + b"\n" + bad + good(4).encode()  # line 2 is blank: not a record
    stop = run("predict", "--models-dir", store["models"], "-", input=stdin)
    error = assert_one_error(stop, "stdin:3: ", fragment)
    assert "Traceback" not in error and [r["id"] for r in lines(stop)] == [1]
    skip = run("predict", "--models-dir", store["models"], "-", "--on-error", "skip", input=stdin)
    assert skip.exit_code == 2, skip.output
    out = lines(skip)
    assert [r.get("id") for r in (out[0], out[2])] == [1, 4] and out[1]["line"] == 3 and fragment in out[1]["error"]


def test_on_error_takes_stop_or_skip_only(store):
    result = run("predict", "--models-dir", store["models"], "-", "--on-error", "ignore", input=good(1))
    assert result.exit_code != 0 and "stop or skip" in result.output


def test_stop_flushes_good_results_before_the_error_in_a_real_process(store):
    stdin = "".join(good(i) for i in range(5)) + "not json\n" + good(9)
    done = subprocess.run([*CLI, "predict", "--models-dir", str(store["models"]), "-"],
                          input=stdin, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert [json.loads(line)["id"] for line in done.stdout.splitlines()] == list(range(5))
    assert done.stderr.startswith("error: stdin:6: malformed JSON") and len(done.stderr.splitlines()) == 1


def test_predict_can_be_driven_as_a_co_process_line_by_line(store):
    proc = subprocess.Popen([*CLI, "predict", "--models-dir", str(store["models"]), "-", "--on-error", "skip"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for i, line in enumerate([good(0), '{"text": \n', good(2), good(3, "")]):
            proc.stdin.write(line.encode())
            proc.stdin.flush()
            # The first answer waits for the model to load; the others only for the batch delay.
            ready, _, _ = select.select([proc.stdout], [], [], 60 if i == 0 else 5)
            assert ready, f"no answer to line {i + 1} within the timeout"
            answer = json.loads(proc.stdout.readline())
            assert answer.get("id", answer.get("line")) in (i, i + 1), answer
        proc.stdin.close()
        assert proc.wait(timeout=30) == 2
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_predict_stream_api_stop_skip_and_timed_batches():
    from artclf.errors import DataError
    from train.serve.stream import BadRecord, predict_stream, stdin_records, timed_batches

    class Model:
        def classify(self, texts):
            return [{"n": len(t)} for t in texts]

    items = list(stdin_records(io.BytesIO(good(1).encode() + b"nope\n" + good(3).encode())))
    assert isinstance(items[1], BadRecord) and items[1].line == 2
    stopped = predict_stream(Model(), items)
    assert next(stopped)["id"] == 1
    with pytest.raises(DataError, match="stdin:2: malformed JSON"):
        next(stopped)
    skipped = list(predict_stream(Model(), items, on_error="skip"))
    assert [r.get("id") for r in skipped] == [1, None, 3] and skipped[1]["line"] == 2

    def slow():
        yield 1
        yield 2
        time.sleep(1.0)
        yield 3

    start = time.monotonic()
    batches = timed_batches(slow(), size=256, delay=0.05)
    assert next(batches) == [1, 2] and time.monotonic() - start < 0.9  # not held back by the pause
    assert next(batches) == [3]


# --- item 3: a label mismatch between a model and data ------------------------------------------

def jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


RECORD = {"text": "Crude oil output rose.", "topics": ["energy"], "tone": "neutral"}
MISMATCHES = {
    "own topic set": ([RECORD | {"topics": ["sport"]}, RECORD | {"topics": ["politics"]}], 1, "topic label 'sport'", "politics, sport"),
    "one foreign topic on line 2": ([RECORD, RECORD | {"topics": ["energy", "weather"]}], 2, "topic label 'weather'", "energy, weather"),
    "own tone set": ([RECORD | {"tone": "bullish"}], 1, "tone label 'bullish'", "bullish"),
    "tone in other case": ([RECORD, RECORD, RECORD | {"tone": "Negative"}], 3, "tone label 'Negative'", "Negative, neutral"),
}


@pytest.mark.parametrize("case", MISMATCHES)
def test_jsonl_with_other_labels_is_one_error_naming_the_line_and_both_sets(store, tmp_path, case):
    rows, line, fragment, theirs = MISMATCHES[case]
    data = jsonl(tmp_path / "mine.jsonl", rows)
    result = run("evaluate", "--models-dir", store["models"], "--data", data)
    error = assert_one_error(result, f"mine.jsonl:{line}: {fragment}", "the file's", theirs, "model v1's")
    assert "KeyError" not in result.output and ("diplomacy, energy, territory" in error or "negative, neutral, positive" in error)
    from train.evaluate.evaluate import evaluate
    with pytest.raises(LabelMismatchError):
        evaluate("v1", data, models_dir=store["models"])


def test_a_dataset_folder_with_other_label_names_is_one_error_naming_both(store, tmp_path):
    from train.config import load_config
    from train.data.dataset import build_dataset
    from train.evaluate.evaluate import evaluate

    rows = [{"id": f"a{i}", "text": f"Match report number {i}: the {w} won the game." if i % 2 else f"Election {i}: the {w} vote.",
             "topics": ["sport"] if i % 2 else ["politics"], "tone": ["good", "bad"][i % 3 == 0]}
            for i, w in enumerate(["club", "team", "party", "voters", "side", "union"] * 6)]
    jsonl(tmp_path / "own.jsonl", rows)
    config = tmp_path / "own.toml"
    config.write_text(f'[data]\nformat = "jsonl"\nsource = "{tmp_path / "own.jsonl"}"\nlabels = ""\nrules = ""\n'
                      f'dataset_dir = "{tmp_path / "ds"}"\n[labels]\ntopics = ["sport", "politics"]\ntone = ["good", "bad"]\n')
    build_dataset(load_config(config))
    result = run("evaluate", "--models-dir", store["models"], "--data", tmp_path / "ds")
    assert_one_error(result, "topics labels (politics, sport)", "model v1 predicts topics (diplomacy, energy, territory)")
    with pytest.raises(LabelMismatchError, match="politics, sport"):
        evaluate("v1", tmp_path / "ds", models_dir=store["models"])


def test_check_same_labels_variants():
    from train.config import LabelsConfig
    from train.evaluate.evaluate import check_same_labels

    model = LabelsConfig(topics=("a", "b"), tone=("x", "y"))
    check_same_labels(model, LabelsConfig(topics=("b", "a"), tone=("y", "x")), "m", "d")  # order does not matter
    check_same_labels(LabelsConfig(topics=("a", "b"), tone=()), model, "m", "d")  # a task the model lacks is not scored
    for data, fragment in [(LabelsConfig(topics=("a",), tone=("x", "y")), "topics labels (a)"),
                           (LabelsConfig(topics=("a", "b", "c"), tone=("x", "y")), "topics labels (a, b, c)"),
                           (LabelsConfig(topics=("a", "b"), tone=()), "no tone labels, but m predicts tone (x, y)")]:
        with pytest.raises(LabelMismatchError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
            check_same_labels(model, data, "m", "d")


# --- item 5: empty or whitespace-only input -----------------------------------------------------

BLANKS = ["", " ", "\n\t  \r\n", "\u00a0\u2028", "\u200b\ufeff", "\x00"]
EMPTY = {"topics": [], "topic_scores": {}, "tone": None, "tone_scores": {}, "empty": True}


def test_empty_texts_get_the_empty_result_from_every_api_call_without_scoring(trained, monkeypatch):
    from train.store.load import load_model

    model = load_model(str(trained["version"]))
    real = model.scores

    def scores(texts):
        assert all(t.strip() and t not in BLANKS for t in texts), texts
        return real(texts)

    monkeypatch.setattr(model, "scores", scores)
    texts = ["Crude oil output rose.", *BLANKS, "Talks on the treaty."]
    out = model.classify(texts)
    assert out[1:-1] == [EMPTY] * len(BLANKS) and "empty" not in out[0] and out[0]["topic_scores"]
    assert model.classify(BLANKS) == [EMPTY] * len(BLANKS)
    assert model.predict(["", "oil"])[0] == {"topics": [], "tone": None, "empty": True}
    assert model.predict_proba(["  "]) == [{"topic_scores": {}, "tone_scores": {}, "empty": True}]
    assert model.explain("\n") == EMPTY | {"explanation": {}}
    assert model.explain_batch(["", "Crude oil output rose."])[1]["explanation"]


def test_empty_input_on_the_command_line_in_files_and_on_stdin(store, tmp_path):
    models = store["models"]
    for text in BLANKS[:4]:
        result = run("predict", "--models-dir", models, text)
        assert result.exit_code == 0, result.output
        assert lines(result) == [EMPTY]
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.txt").write_bytes(b"  \n\r\n\t")
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbf\n")
    result = run("predict", "--models-dir", models, *[f"--file={tmp_path / n}" for n in ("empty.txt", "blank.txt", "bom.txt")])
    assert result.exit_code == 0, result.output
    assert lines(result) == [{"id": n} | EMPTY for n in ("empty", "blank", "bom")]
    stdin = "".join(json.dumps(r) + "\n" for r in [{"id": 1, "text": ""}, {"id": 2, "title": "", "text": "  \n"},
                                                   {"id": 3, "text": "\u200b"}, {"id": 4, "title": "Oil", "text": ""}])
    result = run("predict", "--models-dir", models, "-", input=stdin)
    assert result.exit_code == 0, result.output
    out = lines(result)
    assert out[:3] == [{"id": i} | EMPTY for i in (1, 2, 3)]
    assert "empty" not in out[3] and out[3]["tone"]  # a title alone is something to classify
    explained = run("predict", "--models-dir", models, "--explain", "-m", "latest", "")
    assert lines(explained) == [EMPTY | {"explanation": {}}]


def test_evaluate_refuses_records_with_nothing_to_read(store, tmp_path):
    for text in ["", "   ", "\u200b\u200b"]:
        data = jsonl(tmp_path / "blank.jsonl", [RECORD, RECORD | {"text": text}])
        assert_one_error(run("evaluate", "--models-dir", store["models"], "--data", data), "blank.jsonl:2: missing or empty 'text'")


def test_score_model_refuses_records_with_nothing_to_read(trained):
    from artclf.errors import DataError
    from train.data.dataset import Record
    from train.evaluate.evaluate import score_model
    from train.store.load import load_model

    records = [Record(id="a", text="Crude oil output rose.", topics=("energy",), tone="neutral"),
               Record(id="b", text="\u200b", topics=(), tone="neutral")]
    with pytest.raises(DataError, match="first id 'b'"):
        score_model(load_model(str(trained["version"])), records)
