"""Shared fixtures: a tiny labeled corpus in wire format, written into tmp_path."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Property tests are reproducible (same examples every run, no example database written into the
# repository) and bounded: few examples, and a deadline generous enough to flag only a hang.
settings.register_profile(
    "artclf", derandomize=True, database=None, deadline=5000, max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("artclf")

SENTENCES = {
    "diplomacy": [
        "The foreign ministers held talks on a new treaty and agreed to meet again at the summit.",
        "The ambassador delivered a note of protest and the two governments exchanged official visits.",
        "Envoys from both states negotiated the terms of the agreement in a telephone call.",
        "The president received the visiting prime minister and discussed bilateral relations.",
        "Sanctions were discussed by the delegations at the United Nations Security Council.",
        "Diplomats said the negotiations on the accord would resume after the ministerial meeting.",
    ],
    "energy": [
        "Crude oil output rose as the pipeline reopened and gas exports to Europe increased.",
        "The state utility said electricity prices would follow coal and gas costs next winter.",
        "A new liquefied natural gas terminal and an offshore wind farm entered service.",
        "The nuclear power plant restarted its reactor after refuelling, the operator said.",
        "Refinery throughput and barrels of crude shipped by tanker reached a record.",
        "The hydrogen project will supply fuel to steel plants and the power grid.",
    ],
    "territory": [
        "The dispute over sovereignty of the islands flared as patrol boats crossed the maritime boundary.",
        "Troops occupied the border region and the government rejected the territorial claim.",
        "The court ruled on the demarcation of the frontier between the two neighbouring states.",
        "Separatists declared the secession of the province and annexation was condemned.",
        "Fishing vessels entered waters claimed by both countries near the disputed archipelago.",
        "Border guards reported an incursion across the line of control.",
    ],
    "none": [
        "The football club won the championship after a dramatic final at the national stadium.",
        "Shares in the software company climbed after quarterly earnings beat forecasts.",
        "Doctors reported a rise in seasonal influenza cases at city hospitals.",
        "The film festival opened with a premiere attended by actors and directors.",
        "The central bank kept interest rates unchanged and inflation eased slightly.",
        "Heavy rain flooded streets in the capital and schools were closed for a day.",
    ],
}
TONE = {
    "positive": [
        "Officials welcomed the progress and praised the successful cooperation.",
        "The breakthrough was hailed as a great success that will boost growth.",
        "Both sides expressed satisfaction and optimism about the agreement.",
    ],
    "neutral": [
        "The statement gave the figures without further comment.",
        "Further details are expected to be published next week, the spokesman said.",
        "The meeting lasted two hours, according to the official schedule.",
    ],
    "negative": [
        "Critics condemned the failure and warned of a deepening crisis and threats.",
        "The collapse of the plan drew angry protests and accusations of betrayal.",
        "Losses mounted as the conflict escalated and the dispute turned bitter.",
    ],
}
FILLER = (
    "morning evening officials regional capital reporters weekly statement local sources quarter "
    "northern southern eastern western annual council committee agency analysts spokesman"
).split()
CITIES = ["MOSCOW", "TOKYO", "BRUSSELS", "NAIROBI", "LIMA", "OSLO", "HANOI", "CAIRO", "QUITO", "DOHA"]
TOPICS = ("diplomacy", "energy", "territory")
TONES = ("positive", "neutral", "negative")


def make_article(rng: random.Random, topics: tuple[str, ...], tone: str, n: int) -> str:
    pools = [SENTENCES[t] for t in topics] or [SENTENCES["none"]]
    body = []
    for pool in pools:
        body += rng.sample(pool, 2)
    body += rng.sample(TONE[tone], 2)
    body.append(" ".join(rng.choice(FILLER) for _ in range(12)).capitalize() + f" number {n}.")
    rng.shuffle(body)
    city = CITIES[n % len(CITIES)]
    title = f"Report {n}: " + body[0].split(",")[0].rstrip(".")
    return (
        f"{title}\n\nWorld March {1 + n % 28}, 20{10 + n % 15}, 10:{n % 60:02d}\n\n{body[0]}\n\n"
        f"{city}, March {1 + n % 28}. /TASS/. " + " ".join(body[1:3]) + "\n\n" + " ".join(body[3:]) + "\n"
    )


def write_corpus(root: Path, copies: int = 2, seed: int = 0) -> dict[str, Path]:
    """Every topic combination x every tone, `copies` times: 8 * 3 * copies articles."""
    rng = random.Random(seed)
    seeds = root / "seeds"
    seeds.mkdir(parents=True, exist_ok=True)
    labels = []
    combos = [c for r in range(4) for c in itertools.combinations(TOPICS, r)]
    n = 0
    for _ in range(copies):
        for topics in combos:
            for tone in TONES:
                n += 1
                article_id = f"{n:03d}_article"
                (seeds / f"{article_id}.txt").write_text(make_article(rng, topics, tone, n), encoding="utf-8")
                labels.append({"id": article_id, "topics": list(topics), "tone": tone, "source": "gold"})
    (seeds / "labels.jsonl").write_text("".join(json.dumps(x) + "\n" for x in labels), encoding="utf-8")
    config = root / "experiment.toml"
    config.write_text(
        "[data]\n"
        f'source = "{seeds}"\nlabels = "{seeds / "labels.jsonl"}"\nrules = ""\ndataset_dir = "{root / "dataset"}"\n'
        "[split]\nvalidation = 0.15\ntest = 0.25\n"
        "[topic]\nthreshold_folds = 3\n"
        f'[train]\nmodels_dir = "{root / "models"}"\n',
        encoding="utf-8",
    )
    return {"seeds": seeds, "labels": seeds / "labels.jsonl", "config": config, "models": root / "models", "dataset": root / "dataset"}


@pytest.fixture
def corpus(tmp_path: Path) -> dict[str, Path]:
    return write_corpus(tmp_path)


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A corpus with one trained model version, shared by read-only tests."""
    from train.workflow import train

    root = tmp_path_factory.mktemp("trained")
    paths = write_corpus(root)
    result = train(paths["config"])
    return {**paths, "version": result.path}
