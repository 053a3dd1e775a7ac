"""The app a user would write by hand to serve a saved version: FastAPI + ``joblib.load`` +
``pipeline.predict`` per request. The comparison point of ``bench.serve_http``; run it with
``uvicorn bench.serve_baseline:app`` and ``BASELINE_MODEL=models/v1``."""

from __future__ import annotations

import json
import os
from typing import Optional, Union

import joblib
from fastapi import FastAPI
from pydantic import BaseModel

MODEL = os.environ.get("BASELINE_MODEL", "models/v1")
topic = joblib.load(f"{MODEL}/topic.joblib")
tone = joblib.load(f"{MODEL}/tone.joblib")
with open(f"{MODEL}/manifest.json", encoding="utf-8") as handle:
    TOPICS = json.load(handle)["labels"]["topics"]

app = FastAPI()


class Article(BaseModel):
    id: Optional[Union[str, int, float]] = None
    title: Optional[str] = None
    text: str


class Batch(BaseModel):
    articles: list[Article]


def _text(article: Article) -> str:
    return f"{article.title}\n\n{article.text}" if article.title else article.text


def _answers(articles: list[Article]) -> list[dict]:
    texts = [_text(a) for a in articles]
    rows, tones = topic.predict(texts), tone.predict(texts)
    return [{"id": a.id, "topics": [label for label, on in zip(TOPICS, row) if on], "tone": str(t)}
            for a, row, t in zip(articles, rows, tones)]


@app.post("/predict")
def predict(article: Article) -> dict:
    return _answers([article])[0]


@app.post("/predict_batch")
def predict_batch(batch: Batch) -> dict:
    return {"results": _answers(batch.articles)}
