PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install train test test-slow real-dev clean bench bench-quick bench-runtime bench-active bench-audit bench-scale

# One install step shared by every target; re-run only when a pyproject.toml changes. Two
# distributions, editable, in one pip call: the runtime `artclf` (artclf/pyproject.toml, numpy
# only) and the training side `artclf-train` (pyproject.toml, the CLI), which depends on it.
$(STAMP): pyproject.toml artclf/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ./artclf -e '.[test,serve]'
	touch $(STAMP)

install: $(STAMP)

train: $(STAMP)
	$(BIN)/artclf train

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Seed-test vs real-news dev figures of the latest model (needs ../shared/data; skips without it).
real-dev: $(STAMP)
	$(BIN)/python -m train.evaluate.real_dev

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

BENCH_STAMP := $(VENV)/.bench-stamp
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ./artclf -e '.[test,serve,bench]'
	touch $(BENCH_STAMP)

# Benchmarks on ../shared/data, not part of `make test`: regenerates BENCHMARKS.md (~8 min on an idle 2-core machine).
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.run

# The "Runtime for apps" section of BENCHMARKS.md (cold start, CLI, 20 Newsgroups vs fastText on one
# core, memory, clean-venv install) on the default model (`make train` first); a few minutes.
bench-runtime: $(BENCH_STAMP)
	nice -n 5 $(BIN)/python -m bench.portable_runtime

# A smoke run on subsampled data (under 2 minutes); prints the report, writes no file.
bench-quick: $(BENCH_STAMP)
	$(BIN)/python -m bench.run --quick

.PHONY: install train test test-slow real-dev clean bench bench-quick bench-runtime bench-active bench-audit bench-scale

clean:
	rm -rf $(VENV) data/dataset
