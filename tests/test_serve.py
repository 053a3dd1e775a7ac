"""`artclf serve` (issue 14): the real server in a subprocess on a free loopback port.

Every endpoint; every bad-request class (listed, then hypothesis-generated bodies, then
schemathesis against the server's own OpenAPI description); auth on and off; hot swap under
concurrent requests; a refused version (tampered, and every attack folder of test_attacks) that
leaves the old one serving; SIGTERM drain; the queue limit. Loops are bounded in count and time.
"""

from __future__ import annotations

import json
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import artclf
from helpers import cli_run
from serve_helpers import clone_version, request, serving, wait_for

TEXT = "Crude oil output rose as the pipeline reopened and gas exports to Europe increased."
KEY = "k3y-for-tests-0123456789-abcdef"


@pytest.fixture(scope="module")
def models(trained, tmp_path_factory) -> Path:
    """A models folder with v1 and v2 (same weights, distinct versions) and alias production -> v1."""
    root = tmp_path_factory.mktemp("serve") / "models"
    clone_version(trained["version"], root, "v1")
    clone_version(trained["version"], root, "v2")
    (root / "aliases.json").write_text(json.dumps({"production": "v1"}))
    return root


@pytest.fixture(scope="module")
def server(models, tmp_path_factory):
    """One server for the read-only tests: `v1`, small limits so the limits can be hit cheaply."""
    log = tmp_path_factory.mktemp("serve-log") / "server.log"
    with serving("v1", "--models-dir", models, "--max-batch", 8, "--max-text-chars", 2000,
                 "--max-body-bytes", 200_000, cwd=models.parent, log=log) as srv:
        yield srv


# --- every endpoint -----------------------------------------------------------------------------

def test_predict_one_article_matches_the_runtime(server, models):
    status, head, body = server.call("POST", "/v1/predict", {"id": "a-1", "title": "Gas", "text": TEXT})
    assert status == 200, body
    expected = artclf.load_model("v1", models).classify(["Gas\n\n" + TEXT])[0]
    assert body == {"id": "a-1", **expected, "model_version": "v1"}
    assert head["x-model-version"] == "v1" and head["x-request-id"]


def test_predict_batch_empty_text_and_ids(server):
    articles = [{"id": 1, "text": TEXT}, {"text": "   "}, {"id": 2.5, "title": "Border", "text": ""}]
    status, head, body = server.call("POST", "/v1/predict", {"articles": articles})
    assert status == 200, body
    assert body["model_version"] == "v1" == head["x-model-version"]
    first, empty, titled = body["results"]
    assert first["id"] == 1 and "energy" in first["topics"] and "empty" not in first
    assert empty == {"topics": [], "topic_scores": {}, "tone": None, "tone_scores": {}, "empty": True}
    assert titled["id"] == 2.5 and "empty" not in titled
    assert server.call("POST", "/v1/predict", {"articles": []})[2] == {"model_version": "v1", "results": []}


def test_bodies_orjson_refuses_are_read_as_the_stdlib_reads_them(server):
    """A BOM, an id over 64 bits, NaN: the fast parser refuses them, the stdlib accepts them, and so
    does the server (and echoes the id exactly)."""
    big = 2**70 + 1
    status, _, body = server.call("POST", "/v1/predict", b'\xef\xbb\xbf{"id": ' + str(big).encode() + b', "text": "x"}')
    assert status == 200 and body["id"] == big, body
    status, _, body = server.call("POST", "/v1/explain", b'{"text": "x", "id": "a", "top": 2, "pad": NaN}')
    assert status == 200 and body["id"] == "a", body


def test_explain(server):
    status, _, body = server.call("POST", "/v1/explain", {"text": TEXT, "top": 2})
    assert status == 200, body
    assert body["model_version"] == "v1" and body["explanation"]["topics"]
    assert all(len(grams) <= 2 for grams in body["explanation"]["topics"].values())
    status, _, body = server.call("POST", "/v1/explain", {"articles": [{"text": TEXT}, {"text": ""}]})
    assert status == 200 and body["results"][1]["explanation"] == {} and body["results"][1]["empty"] is True


def test_model_health_ready(server):
    status, _, model = server.call("GET", "/v1/model")
    assert status == 200
    assert model["version"] == "v1" and model["reference"] == "v1" and model["watching"] is False
    assert model["labels"] == {"topics": ["diplomacy", "energy", "territory"], "tone": ["positive", "neutral", "negative"]}
    assert model["format_version"] >= 3 and model["refused"] is None and model["runtime"] == "numpy"
    assert "micro_f1" in model["metrics"]["test"]["topic"]
    assert server.call("GET", "/healthz")[0] == 200
    assert server.call("GET", "/readyz")[2] == {"ready": True, "version": "v1"}


def test_metrics(server):
    server.call("POST", "/v1/predict", {"articles": [{"text": TEXT}] * 3})
    server.call("POST", "/v1/predict", b"{")
    status, head, text = server.call("GET", "/metrics")
    assert status == 200 and head["content-type"].startswith("text/plain")
    for name in ("artclf_http_requests_total", "artclf_http_errors_total", "artclf_http_request_duration_seconds_bucket",
                 "artclf_batch_size_bucket", "artclf_model_info", "artclf_http_in_flight", "artclf_model_refusals_total"):
        assert name in text, name
    assert server.metric("artclf_model_info") == {'{reference="v1",version="v1"}': 1.0}
    assert server.metric("artclf_http_errors_total")['{kind="malformed_json"}'] >= 1
    assert server.metric("artclf_batch_size_count")['{endpoint="/v1/predict"}'] >= 1
    assert server.metric("artclf_http_requests_total")['{endpoint="/v1/predict",method="POST",status="200"}'] >= 1


def test_openapi_is_served_and_valid(server):
    from jsonschema import Draft202012Validator
    from schemathesis.openapi import from_dict

    status, _, doc = server.call("GET", "/openapi.json")
    assert status == 200 and doc["openapi"].startswith("3.1")
    assert set(doc["paths"]) == {"/v1/predict", "/v1/explain", "/v1/model", "/healthz", "/readyz", "/metrics", "/admin/reload"}
    article = doc["components"]["schemas"]["Article"]
    assert article["properties"]["text"]["maxLength"] == 2000
    assert doc["components"]["schemas"]["Batch"]["properties"]["articles"]["maxItems"] == 8
    for schema in doc["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    from_dict(doc).validate()  # the OpenAPI document itself (schemathesis' validator)
    assert "security" not in doc  # no key configured


def test_access_log_is_json_with_request_ids(server):
    server.call("POST", "/v1/predict", {"text": TEXT}, headers={"X-Request-Id": "trace-42"})
    lines = wait_for(lambda: [x for x in server.log_lines() if x.get("request_id") == "trace-42"], 10)
    assert lines[0]["status"] == 200 and lines[0]["path"] == "/v1/predict" and lines[0]["model_version"] == "v1"
    # A request id that is not a safe token is replaced, never echoed into the log.
    _, head, _ = server.call("GET", "/healthz", headers={"X-Request-Id": "bad id\twith tab"})
    assert head["x-request-id"] != "bad id\twith tab" and len(head["x-request-id"]) == 16


# --- bad requests ---------------------------------------------------------------------------------

BAD: list[tuple[str, bytes, int, str, str]] = [
    # name, body, status, kind, field
    ("malformed JSON", b'{"text": ', 400, "malformed_json", "body"),
    ("not UTF-8", b'{"text": "caf\xe9"}', 400, "not_utf8", "body"),
    ("empty body", b"", 400, "malformed_json", "body"),
    ("an array", b'[{"text": "x"}]', 422, "invalid", "body"),
    ("a string", b'"text"', 422, "invalid", "body"),
    ("missing text", b'{"title": "x"}', 422, "invalid", "text"),
    ("text a number", b'{"text": 5}', 422, "invalid", "text"),
    ("text null", b'{"text": null}', 422, "invalid", "text"),
    ("title a list", b'{"text": "x", "title": ["a"]}', 422, "invalid", "title"),
    ("id a boolean", b'{"text": "x", "id": true}', 422, "invalid", "id"),
    ("id an object", b'{"text": "x", "id": {}}', 422, "invalid", "id"),
    ("articles not a list", b'{"articles": {"text": "x"}}', 422, "invalid", "articles"),
    ("an article not an object", b'{"articles": [{"text": "x"}, 7]}', 422, "invalid", "articles[1]"),
    ("batch text wrong type", b'{"articles": [{"text": "x"}, {"text": []}]}', 422, "invalid", "articles[1].text"),
    ("lone surrogate", b'{"text": "\\ud800"}', 422, "invalid", "text"),
    ("nesting too deep", b'{"text": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", 400, "malformed_json", "body"),
    ("integer over 4300 digits", b'{"text": "x", "id": ' + b"9" * 5000 + b"}", 400, "malformed_json", "body"),
    ("too many articles", json.dumps({"articles": [{"text": "x"}] * 9}).encode(), 422, "too_many_articles", "articles"),
    ("text over the cap", json.dumps({"text": "x" * 2001}).encode(), 422, "text_too_long", "text"),
    ("title over the cap", json.dumps({"articles": [{"text": "x", "title": "y" * 2001}]}).encode(), 422,
     "text_too_long", "articles[0].title"),
    ("body over the cap", json.dumps({"text": "x" * 199_990, "pad": "y" * 100}).encode(), 413, "body_too_large", "body"),
]


@pytest.mark.parametrize("name,body,status,kind,field", BAD, ids=[b[0] for b in BAD])
def test_bad_request_is_one_json_error_naming_the_field(server, name, body, status, kind, field):
    for path in ("/v1/predict", "/v1/explain"):
        got, head, answer = server.call("POST", path, body)
        assert got == status, (path, answer)
        assert head["content-type"] == "application/json"
        assert answer["error"]["kind"] == kind and answer["error"].get("field", "body") == field, answer
        assert "\n" not in answer["error"]["message"]
    assert server.call("GET", "/healthz")[0] == 200 and server.proc.poll() is None


def test_bad_top_and_unknown_routes(server):
    for top in (0, 51, "3", True, 2.5, None):
        status, _, answer = server.call("POST", "/v1/explain", {"text": TEXT, "top": top})
        assert status == 422 and answer["error"]["field"] == "top", (top, answer)
    status, _, answer = server.call("GET", "/v2/predict")
    assert status == 404 and answer["error"]["kind"] == "not_found"
    status, head, answer = server.call("GET", "/v1/predict")
    assert status == 405 and head["allow"] == "POST" and answer["error"]["kind"] == "method_not_allowed"
    # A body sent with a lying Content-Length is refused before it is read.
    status, _, answer = server.call("POST", "/v1/predict", b"{}", headers={"Content-Length": "x"})
    assert status == 400


def _json_values() -> st.SearchStrategy[Any]:
    scalars = st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False) | st.text(max_size=40)
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["text", "title", "id", "articles", "top", "x"]) | st.text(max_size=5), inner, max_size=4),
        max_leaves=12)


BODIES = st.one_of(
    st.binary(max_size=300),
    _json_values().map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"text": _json_values()}, optional={"title": _json_values(), "id": _json_values()}).map(
        lambda v: json.dumps(v).encode()),
    st.lists(st.fixed_dictionaries({"text": _json_values()}, optional={"id": _json_values()}), max_size=10).map(
        lambda v: json.dumps({"articles": v}).encode()),
)


@settings(max_examples=120, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=BODIES, path=st.sampled_from(["/v1/predict", "/v1/explain"]))
def test_generated_bodies_never_500(server, body, path):
    status, head, answer = server.call("POST", path, body)
    assert status in (200, 400, 413, 422), (status, answer)
    assert head["content-type"] == "application/json" and isinstance(answer, dict)
    if status != 200:
        assert set(answer) == {"error"} and answer["error"]["kind"] and "\n" not in answer["error"]["message"]


def _schemathesis_run(server, examples: int) -> int:
    """Positive and negative cases for every operation of our OpenAPI description, each validated
    by schemathesis' checks (no 5xx, documented status and content type, response schema)."""
    from hypothesis import Phase
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode
    from schemathesis.openapi import from_dict

    schema = from_dict(server.call("GET", "/openapi.json")[2])
    calls = [0]
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @settings(max_examples=examples, deadline=None, phases=[Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def check(case: Any) -> None:
                calls[0] += 1
                case.call_and_validate(base_url=server.url, timeout=30)

            try:
                check()
            except Unsatisfiable:
                # An operation without parameters or body (GET /healthz) has no invalid input to make.
                if mode == GenerationMode.POSITIVE or "requestBody" in str(operation.definition.raw):
                    raise
    return calls[0]


def test_schemathesis_smoke(server):
    assert _schemathesis_run(server, 8) > 20
    assert server.proc.poll() is None


@pytest.mark.slow
def test_schemathesis_full(server):
    assert _schemathesis_run(server, 100) > 200


# --- auth -------------------------------------------------------------------------------------------

def test_auth_on(models, tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n")
    with serving("v1", "--models-dir", models, "--api-key-file", key_file, cwd=tmp_path, log=tmp_path / "log",
                 key=KEY) as srv:
        for method, path, body in [("POST", "/v1/predict", {"text": TEXT}), ("POST", "/v1/explain", {"text": TEXT}),
                                   ("GET", "/v1/model", None), ("GET", "/metrics", None), ("GET", "/openapi.json", None),
                                   ("POST", "/admin/reload", None), ("GET", "/nowhere", None)]:
            for header in (None, "Bearer wrong-key-0123456789", f"Basic {KEY}", f"Bearer {KEY}x", "Bearer "):
                status, head, answer = srv.call(method, path, body, headers={"Authorization": header} if header else {},
                                                auth=False)
                assert status == 401, (path, header, answer)
                assert head["www-authenticate"].startswith("Bearer") and answer["error"]["kind"] == "unauthorized"
            assert srv.call(method, path, body)[0] in (200, 404)
        for path in ("/healthz", "/readyz"):
            assert srv.call("GET", path, auth=False)[0] == 200
        doc = srv.call("GET", "/openapi.json")[2]
        assert doc["security"] == [{"bearer": []}] and doc["paths"]["/healthz"]["get"]["security"] == []
        assert srv.metric("artclf_http_errors_total")['{kind="unauthorized"}'] >= 30
    log = (tmp_path / "log").read_text()
    assert KEY not in log and "wrong-key" not in log


def test_auth_from_environment_and_short_keys(models, tmp_path):
    with serving("v1", "--models-dir", models, cwd=tmp_path, log=tmp_path / "log", key=KEY,
                 env={"ARTCLF_API_KEY": KEY}) as srv:
        assert srv.call("GET", "/v1/model", auth=False)[0] == 401
        assert srv.call("GET", "/v1/model")[0] == 200
    assert KEY not in (tmp_path / "log").read_text()
    (tmp_path / "short").write_text("abc\n")
    result = cli_run("serve", "v1", "--models-dir", models, "--api-key-file", tmp_path / "short", cwd=tmp_path, timeout=120)
    assert result.returncode == 1 and result.stderr.startswith("error: ") and "abc" not in result.stderr


def test_startup_errors_are_one_line(models, tmp_path):
    for args, fragment in [(["v9"], "model 'v9' not found"), (["v1", "--max-batch", "0"], "--max-batch must be at least 1")]:
        result = cli_run("serve", *args, "--models-dir", models, "--port", "1", cwd=tmp_path, timeout=120)
        assert result.returncode == 1, result.stderr
        lines = [x for x in result.stderr.splitlines() if x.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], result.stderr


# --- hot swap -------------------------------------------------------------------------------------

class Hammer:
    """Client threads sending /v1/predict batches until stopped (or a bound on count/time)."""

    def __init__(self, server: Any, threads: int = 3, limit: int = 20_000, seconds: float = 120) -> None:
        self.server, self.limit, self.deadline = server, limit, time.monotonic() + seconds
        self.stop_event = threading.Event()
        self.versions: list[str] = []
        self.failures: list[Any] = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(threads)]

    def run(self) -> None:
        body = {"articles": [{"id": i, "text": f"{TEXT} {i}"} for i in range(5)]}
        while not self.stop_event.is_set() and len(self.versions) < self.limit and time.monotonic() < self.deadline:
            try:
                status, head, answer = self.server.call("POST", "/v1/predict", body, timeout=30)
            except Exception as exc:  # a refused or dropped connection is a failure too
                with self.lock:
                    self.failures.append(repr(exc))
                continue
            with self.lock:
                if status != 200 or head.get("x-model-version") != answer.get("model_version") \
                        or [r["id"] for r in answer.get("results", [])] != list(range(5)):
                    self.failures.append((status, answer))
                else:
                    self.versions.append(answer["model_version"])

    def __enter__(self) -> "Hammer":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(60)

    def count(self) -> int:
        with self.lock:
            return len(self.versions)


def test_hot_swap_under_concurrent_requests(models, tmp_path):
    root = tmp_path / "models"
    shutil.copytree(models, root)
    with serving("production", "--models-dir", root, "--poll-interval", "0.2", cwd=tmp_path, log=tmp_path / "log") as srv:
        with Hammer(srv) as hammer:
            wait_for(lambda: hammer.count() >= 30, 60)
            assert cli_run("models", "promote", "v2", "--alias", "production", "--models-dir", root,
                           cwd=tmp_path).returncode == 0
            wait_for(lambda: srv.call("GET", "/v1/model")[2]["version"] == "v2", 60)
            seen = hammer.count()
            wait_for(lambda: hammer.count() >= seen + 30, 60)
            assert cli_run("models", "promote", "v1", "--alias", "production", "--models-dir", root,
                           cwd=tmp_path).returncode == 0
            wait_for(lambda: srv.call("GET", "/v1/model")[2]["version"] == "v1", 60)
            seen = hammer.count()
            wait_for(lambda: hammer.count() >= seen + 30, 60)
        assert hammer.failures == []
        assert set(hammer.versions) == {"v1", "v2"}
        # Ordered per thread: each client saw v1, then v2, then v1 again (no flapping).
        assert srv.metric("artclf_model_swaps_total") == {"": 2.0}
        assert srv.metric("artclf_model_info") == {'{reference="production",version="v1"}': 1.0}
    events = [x["event"] for x in srv.log_lines() if "event" in x]
    assert events.count("model_swapped") == 2


def test_latest_follows_a_new_version_and_reload_forces_a_check(models, tmp_path):
    root = tmp_path / "models"
    shutil.copytree(models, root)
    with serving("latest", "--models-dir", root, "--poll-interval", "3600", cwd=tmp_path, log=tmp_path / "log") as srv:
        assert srv.call("GET", "/v1/model")[2]["version"] == "v2"
        clone_version(root / "v1", root, "v3")
        status, _, answer = srv.call("POST", "/admin/reload")
        assert status == 200 and answer["changed"] is True and answer["version"] == "v3" and answer["previous"] == "v2"
        assert srv.call("POST", "/v1/predict", {"text": TEXT})[2]["model_version"] == "v3"
        clone_version(root / "v1", root, "v4")
        old = srv.call("GET", "/healthz")[2]["pid"]
        srv.proc.send_signal(signal.SIGHUP)
        # granian replaces the worker on SIGHUP: the new one loads v4, the old one drains and stops.
        wait_for(lambda: any(x.get("event") == "stopped" and x["pid"] == old for x in srv.log_lines()), 60)
        assert srv.call("GET", "/healthz")[2]["pid"] != old
        assert srv.call("GET", "/v1/model")[2]["version"] == "v4"
        assert srv.call("POST", "/admin/reload")[2] == {"reference": "latest", "changed": False, "version": "v4"}


def tamper(folder: Path) -> None:
    """Flip bytes of the tone weights without updating the manifest (the sha256 check refuses it)."""
    path = folder / "tone.coef.npy"
    data = bytearray(path.read_bytes())
    data[-8:] = b"\x7f" * 8
    path.write_bytes(bytes(data))


def test_refused_version_keeps_the_old_one_serving(models, tmp_path):
    root = tmp_path / "models"
    shutil.copytree(models, root)
    tamper(clone_version(root / "v1", root, "v3"))
    with serving("production", "--models-dir", root, "--poll-interval", "0.2", cwd=tmp_path, log=tmp_path / "log") as srv:
        with Hammer(srv, threads=2) as hammer:
            wait_for(lambda: hammer.count() >= 20, 60)
            assert cli_run("models", "promote", "v3", "--alias", "production", "--models-dir", root,
                           cwd=tmp_path).returncode == 0
            refused = wait_for(lambda: srv.call("GET", "/v1/model")[2]["refused"], 60)
            seen = hammer.count()
            wait_for(lambda: hammer.count() >= seen + 20, 60)
        assert hammer.failures == [] and set(hammer.versions) == {"v1"}
        assert refused["version"] == "v3" and "tone.coef.npy" in refused["error"] and "sha256" in refused["error"]
        model = srv.call("GET", "/v1/model")[2]
        assert model["version"] == "v1" and model["refused"]["version"] == "v3"
        assert srv.metric("artclf_model_refused_info") == {'{version="v3"}': 1.0}
        assert srv.metric("artclf_model_refusals_total") == {"": 1.0}  # not retried on every poll
        assert srv.call("GET", "/readyz")[2] == {"ready": True, "version": "v1"}
        # A forced check tries again, and refuses again.
        answer = srv.call("POST", "/admin/reload")[2]
        assert answer["changed"] is False and answer["version"] == "v1" and answer["refused"]["version"] == "v3"
        # Moving the alias to a good version clears the refusal.
        assert cli_run("models", "promote", "v2", "--alias", "production", "--models-dir", root, cwd=tmp_path).returncode == 0
        wait_for(lambda: srv.call("GET", "/v1/model")[2]["version"] == "v2", 60)
        assert srv.call("GET", "/v1/model")[2]["refused"] is None and srv.metric("artclf_model_refused_info") == {}
    refusals = [x for x in srv.log_lines() if x.get("event") == "model_refused"]
    assert refusals and refusals[0]["serving"] == "v1" and "\n" not in refusals[0]["error"]


# --- the attack folders through the server's load and reload paths ---------------------------------

@pytest.fixture(scope="module")
def attack_keys(tmp_path_factory):
    from artclf.signing import generate_keypair

    root = tmp_path_factory.mktemp("serve-keys")
    generate_keypair(root / "ours.pem", root / "ours.pub.pem")
    generate_keypair(root / "theirs.pem", root / "theirs.pub.pem")
    return {"private": root / "ours.pem", "public": root / "ours.pub.pem", "other_private": root / "theirs.pem"}


def test_attack_folders_are_refused_at_reload(trained, attack_keys, tmp_path):
    """Each crafted folder of test_attacks becomes the alias' target in turn: every one is refused,
    the genuine version keeps answering, and no exploit marker file appears."""
    from artclf.signing import sign_version
    from test_attacks import ATTACKS

    for keyed in (False, True):
        root = tmp_path / ("keyed" if keyed else "plain") / "models"
        genuine = clone_version(trained["version"], root, "v1")
        if keyed:
            sign_version(genuine, attack_keys["private"])
        (root / "aliases.json").write_text(json.dumps({"production": "v1"}))
        names = [n for n in ATTACKS if keyed == (n[0] in "klm")]  # the signature attacks need --public-key
        args = ["production", "--models-dir", root, "--poll-interval", "3600"]
        if keyed:
            args += ["--public-key", attack_keys["public"]]
        markers = []
        with serving(*args, cwd=root.parent, log=root.parent / "log") as srv:
            for number, name in enumerate(names, start=2):
                folder = root / f"v{number}"
                shutil.copytree(trained["version"], folder)
                markers.append(root.parent / f"MARKER-{number}")
                ATTACKS[name][0](folder, markers[-1], attack_keys)
                (root / "aliases.json").write_text(json.dumps({"production": f"v{number}"}))
                status, _, answer = srv.call("POST", "/admin/reload")
                assert status == 200 and answer["changed"] is False, (name, answer)
                assert answer["version"] == "v1" and answer["refused"]["version"] == f"v{number}", (name, answer)
                assert srv.call("POST", "/v1/predict", {"text": TEXT})[2]["model_version"] == "v1"
            assert srv.metric("artclf_model_refusals_total") == {"": float(len(names))}
            assert srv.proc.poll() is None
        assert not any(m.exists() for m in markers)


def test_attack_folders_are_refused_at_startup(trained, attack_keys, tmp_path):
    """`artclf serve FOLDER` on each crafted folder: one error line, exit 1, the port never opens."""
    import subprocess
    import sys

    from helpers import CLI
    from test_attacks import ATTACKS, build

    started = {}
    for name in ATTACKS:
        folder, marker, options = build(name, trained, tmp_path, attack_keys)
        args = ["serve", str(folder), "--port", "1"]
        if options.get("public_key"):
            args += ["--public-key", str(options["public_key"])]
        started[name] = (subprocess.Popen([sys.executable, "-c", CLI, *args], cwd=tmp_path, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True), marker)
    for name, (proc, marker) in started.items():
        out, err = proc.communicate(timeout=300)
        lines = [x for x in err.splitlines() if x.strip()]
        assert proc.returncode == 1 and out == "", (name, err)
        assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, (name, err)
        assert not marker.exists()


# --- SIGTERM drain and the queue limit -----------------------------------------------------------

def test_sigterm_drains_in_flight_requests(models, tmp_path):
    big = " ".join([TEXT] * 40_000)  # ~3.4 MB: long enough to still be in flight when SIGTERM lands
    with serving("v1", "--models-dir", models, "--max-text-chars", 5_000_000, "--max-body-bytes", 10_000_000,
                 cwd=tmp_path, log=tmp_path / "log") as srv:
        answers: list[Any] = []

        def slow() -> None:
            try:
                answers.append(srv.call("POST", "/v1/predict", {"articles": [{"id": 1, "text": big}, {"id": 2, "text": big}]},
                                        timeout=120))
            except Exception as exc:
                answers.append(exc)

        client = threading.Thread(target=slow)
        client.start()
        try:
            wait_for(lambda: srv.metric("artclf_http_in_flight") == {"": 1.0} or answers, 60, step=0.02)
            srv.proc.send_signal(signal.SIGTERM)
        finally:
            client.join(120)
        srv.proc.wait(60)
        status, _, answer = answers[0]
        assert status == 200 and [r["id"] for r in answer["results"]] == [1, 2]
        assert srv.proc.returncode in (0, -signal.SIGTERM)
        events = [x.get("event") for x in srv.log_lines() if x.get("event")]
        assert events[-1] == "stopped"
        with pytest.raises(OSError):
            request(srv.port, "GET", "/healthz", timeout=5)


class BlockingModel:
    """A stand-in model whose answers wait for a gate (only the queue limit is under test)."""

    version = "v-test"
    topic_labels = ["energy"]
    tone_labels: list[str] = []
    manifest: dict[str, Any] = {"version": "v-test"}

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.entered = threading.Semaphore(0)

    def classify(self, texts: list[str]) -> list[dict[str, Any]]:
        self.entered.release()
        self.gate.wait(60)
        return [{"topics": [], "topic_scores": {"energy": 0.1}} for _ in texts]


def test_queue_limit_answers_503_with_retry_after(tmp_path):
    """The app in a real uvicorn server (in a thread of this process, so a stand-in model can hold
    requests open): with --max-concurrency 2, a third concurrent request gets 503 + Retry-After."""
    import uvicorn

    from serve_helpers import free_port
    from train.serve.holder import ModelHolder, Served
    from train.serve.http import INLINE_CHARS, ServeSettings, create_app

    model = BlockingModel()
    holder = ModelHolder("v-test", tmp_path)
    holder.current = Served(model, "v-test", tmp_path, time.time())
    port = free_port()
    app = create_app(ServeSettings(max_concurrency=2, max_text_chars=10 * INLINE_CHARS, access_log=False), holder=holder)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    held: list[Any] = []
    try:
        wait_for(lambda: server.started, 30)
        long_text = {"text": "x " * INLINE_CHARS}  # scored in a worker thread, so the loop stays free
        clients = [threading.Thread(target=lambda: held.append(request(port, "POST", "/v1/predict", long_text)))
                   for _ in range(2)]
        for client in clients:
            client.start()
        for _ in range(2):
            assert model.entered.acquire(timeout=30)
        status, head, answer = request(port, "POST", "/v1/predict", {"text": "x"})
        assert status == 503 and head["retry-after"] == "1" and answer["error"]["kind"] == "overloaded"
        assert request(port, "GET", "/healthz")[0] == 200  # health checks are never queued
        model.gate.set()
        for client in clients:
            client.join(30)
        assert [h[0] for h in held] == [200, 200]
        assert request(port, "POST", "/v1/predict", {"text": "x"})[0] == 200
        assert app.state.metrics.errors.labels("overloaded")._value.get() == 1
    finally:
        model.gate.set()
        server.should_exit = True
        thread.join(30)


def test_runtime_is_numpy_only_in_the_worker(models, tmp_path):
    """The serving process never imports scikit-learn or the training code's heavy libraries."""
    code = ("import sys, json; from train.serve.http import ServeSettings, create_app; "
            f"create_app(ServeSettings(model='v1', models_dir={str(models)!r})); "
            "print(json.dumps(sorted(m for m in ('sklearn', 'scipy', 'skops', 'joblib', 'datasets', 'pandas') if m in sys.modules)))")
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == []


def test_two_workers_serve_and_stop_together(models, tmp_path):
    """Two granian workers: both answer, /metrics from either one counts the requests of both
    (prometheus_client's multiprocess mode in a folder the server owns), and both stop on SIGTERM,
    leaving no metrics folder behind."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {"TMPDIR": str(scratch), "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "not-ours")}
    with serving("production", "--models-dir", models, "--workers", 2, cwd=tmp_path, log=tmp_path / "log", env=env) as srv:
        pids: set[int] = set()
        for _ in range(200):  # bounded: each call is a new connection, landing on either worker
            status, _, body = srv.call("GET", "/healthz")
            assert status == 200
            pids.add(body["pid"])
            if len(pids) == 2:
                break
        assert len(pids) == 2
        assert [p.name for p in scratch.iterdir() if p.name.startswith("artclf-metrics-")]
        sent = 12
        for _ in range(sent):
            assert srv.call("POST", "/v1/predict", {"text": TEXT})[2]["model_version"] == "v1"
        key = '{endpoint="/v1/predict",method="POST",status="200"}'
        answers = set()
        for _ in range(6):  # several scrapes, on new connections: whichever worker answers, the same totals
            answers.add((srv.metric("artclf_http_requests_total")[key], srv.metric("artclf_articles_total")['{endpoint="/v1/predict"}']))
        assert answers == {(float(sent), float(sent))}
        assert srv.metric("artclf_model_info") == {'{reference="production",version="v1"}': 1.0}
        assert srv.metric("artclf_http_in_flight") == {"": 0.0}
    assert srv.proc.returncode is not None
    stopped = [x["pid"] for x in srv.log_lines() if x.get("event") == "stopped"]
    assert len(stopped) == 2 and pids <= set(stopped)
    assert list(scratch.iterdir()) == [] and not (tmp_path / "not-ours").exists()


def test_uvicorn_server_option(models, tmp_path):
    with serving("production", "--models-dir", models, "--server", "uvicorn", cwd=tmp_path, log=tmp_path / "log") as srv:
        assert srv.call("POST", "/v1/predict", {"text": TEXT})[2]["model_version"] == "v1"
        assert srv.call("GET", "/healthz")[2]["pid"] == srv.proc.pid  # one worker: the app runs in this process
    assert [x["event"] for x in srv.log_lines() if x.get("event")][-1] == "stopped"
