"""The OpenAPI 3.1 description the server publishes at ``/openapi.json``. The limits in it are the
server's own (``--max-batch``, ``--max-text-chars``), so a client generated from it, or a fuzzer
run against it, knows what is accepted."""

from __future__ import annotations

from typing import Any

__all__ = ["openapi_schema", "MAX_TOP"]

MAX_TOP = 50


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        out["headers"] = headers
    return out


def openapi_schema(max_batch: int, max_text_chars: int, auth: bool, version: str = "0.1.0") -> dict[str, Any]:
    text = {"type": "string", "maxLength": max_text_chars}
    article = {
        "type": "object",
        "required": ["text"],
        "properties": {
            "id": {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "null"}],
                   "description": "Echoed in the answer (a string or a finite number)."},
            "title": {"anyOf": [text, {"type": "null"}]},
            "text": text,
            # A body with "articles" is a batch, never one article.
            "articles": False,
        },
    }
    batch = {"type": "object", "required": ["articles"],
             "properties": {"articles": {"type": "array", "maxItems": max_batch, "items": _ref("Article")}}}
    top = {"top": {"type": "integer", "minimum": 1, "maximum": MAX_TOP, "description": "n-grams per predicted label"}}
    scores = {"type": "object", "additionalProperties": {"type": "number"}}
    result = {
        "type": "object",
        "description": "The object `artclf predict` prints for one article (plus `id` when given).",
        "properties": {
            "id": {"anyOf": [{"type": "string"}, {"type": "number"}]},
            "topics": {"type": "array", "items": {"type": "string"}},
            "topic": {"type": "string"},
            "topic_scores": scores,
            "tone": {"type": ["string", "null"]},
            "tone_scores": scores,
            "empty": {"const": True},
            "explanation": {"type": "object"},
        },
    }
    single_answer = {"allOf": [result, {"type": "object", "required": ["model_version"],
                                        "properties": {"model_version": {"type": "string"}}}]}
    batch_answer = {"type": "object", "required": ["model_version", "results"],
                    "properties": {"model_version": {"type": "string"}, "results": {"type": "array", "items": result}}}
    error = {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["kind", "message"],
        "properties": {"kind": {"type": "string"}, "field": {"type": "string"}, "message": {"type": "string"}}}}}
    version_header = {"X-Model-Version": {"schema": {"type": "string"}, "description": "The version that computed the answer"}}
    retry = {"Retry-After": {"schema": {"type": "string"}, "description": "Seconds to wait before retrying"}}
    err = _ref("Error")
    failures = {
        "400": _json(err, "Malformed JSON or a body that is not UTF-8 (the field is `body`)"),
        "413": _json(err, "Body over --max-body-bytes"),
        "422": _json(err, "A field of the wrong type, missing, or over a limit (--max-batch, --max-text-chars); "
                          "`field` names it (`articles[3].text`)"),
        "503": _json(err, "Too many requests in progress: retry after Retry-After seconds", retry),
    }
    if auth:
        failures["401"] = _json(err, "Missing or wrong bearer token")
    protected = {"401": failures["401"]} if auth else {}

    def scoring(summary: str, body: dict[str, Any]) -> dict[str, Any]:
        return {"post": {
            "summary": summary,
            "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
            "responses": {"200": _json({"anyOf": [single_answer, batch_answer]}, "One answer object (one article) "
                                       "or {model_version, results} (a batch)", version_header), **failures},
        }}

    one_or_many = {"anyOf": [_ref("Article"), _ref("Batch")]}
    explain_body = {"anyOf": [{"allOf": [_ref("Article"), {"type": "object", "properties": top}]},
                              {"allOf": [_ref("Batch"), {"type": "object", "properties": top}]}]}
    paths: dict[str, Any] = {
        "/v1/predict": scoring("Labels and scores for one article or a batch", one_or_many),
        "/v1/explain": scoring("Labels, scores and the n-grams behind each predicted label", explain_body),
        "/v1/model": {"get": {"summary": "The version being served, its labels, metrics and any refused version",
                              "responses": {"200": _json({"type": "object", "required": ["version", "labels"]}, "The model"),
                                            **protected}}},
        "/healthz": {"get": {"summary": "The process is up", "security": [],
                             "responses": {"200": _json({"type": "object"}, "Up")}}},
        "/readyz": {"get": {"summary": "A model is loaded and passed its checks", "security": [],
                            "responses": {"200": _json({"type": "object"}, "Ready"),
                                          "503": _json({"type": "object"}, "Not ready (no model yet, or shutting down)")}}},
        "/metrics": {"get": {"summary": "Prometheus metrics (text format)",
                             "responses": {"200": {"description": "Metrics",
                                                   "content": {"text/plain": {"schema": {"type": "string"}}}},
                                           **protected}}},
        "/admin/reload": {"post": {"summary": "Check the model reference now; swap in a version that moved and passes its checks",
                                   "responses": {"200": _json({"type": "object"}, "What the check found"), **protected}}},
    }
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "artclf", "version": version,
                 "description": "Topic and tone classification of news articles (`artclf serve`)."},
        "paths": paths,
        "components": {"schemas": {"Article": article, "Batch": batch, "Error": error}},
    }
    if auth:
        doc["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        doc["security"] = [{"bearer": []}]
    return doc
