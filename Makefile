PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install train test test-slow real-dev clean bench bench-quick bench-scale

# One install step shared by every target; re-run only when pyproject.toml changes.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
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
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	touch $(BENCH_STAMP)

# Benchmarks on ../shared/data, not part of `make test`: regenerates BENCHMARKS.md (~8 min on an idle 2-core machine).
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.run

# A smoke run on subsampled data (under 2 minutes); prints the report, writes no file.
bench-quick: $(BENCH_STAMP)
	$(BIN)/python -m bench.run --quick

# Scaling: build-dataset + train at 10k, 100k and 1M generated articles (needs ../shared/data and
# about 5 GB of disk under /tmp; not part of `make test`). SIZES=10000,100000 for a shorter run.
SIZES ?= 10000,100000,1000000
bench-scale: $(STAMP)
	$(BIN)/python -m bench.scale --sizes $(SIZES) --json /tmp/artclf-scale/results.json --png /tmp/artclf-scale/scaling.png

clean:
	rm -rf $(VENV) data/dataset
