# Two entry points for a fresh machine: `make run` and `make test`.
# torch is installed first from its CPU build; otherwise pip would pull several GB of CUDA wheels.
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NEWS ?= ../shared/corpus/news

.PHONY: install run index test test-fast lint clean bench-compare

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

tests/e2e/node_modules/.installed: tests/e2e/package-lock.json
	npm ci --prefix tests/e2e --no-audit --no-fund --silent
	touch $@

index: install
	$(BIN)/quotebot index $(NEWS)

# Index the news articles, then chat: in Telegram when TELEGRAM_BOT_TOKEN is set, else here.
run: index
	$(BIN)/quotebot serve

test: install tests/e2e/node_modules/.installed
	$(BIN)/python -m pytest

# The quick lane while working (under 30 s): no real model, no emulator, no `slow` tests.
# One OpenMP thread: with FAISS spin-waiting for cores that other jobs hold, test_vectors.py took
# 17 s instead of 4. Scratch files in memory where there is /dev/shm: on a busy disk, the fsyncs
# and deletes of the tests' indexes and databases cost a third of the run. Kept after a failure.
FAST_TMP := $(if $(wildcard /dev/shm),/dev/shm/quotebot-test-fast$(subst /,-,$(CURDIR)))
test-fast: install
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -m "not model and not e2e and not slow" \
		$(if $(FAST_TMP),--basetemp=$(FAST_TMP) && rm -rf $(FAST_TMP))

$(VENV)/.bench-installed: $(STAMP)
	$(BIN)/pip install --quiet -e '.[bench]'
	touch $@

# quotebot side by side with txtai and bm25s: quality, speed, memory (about an hour on 2 cores).
# Writes benchmarks/results/compare-*.json and its section of docs/benchmarks.md.
bench-compare: $(VENV)/.bench-installed
	$(BIN)/python benchmarks/compare.py $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check index retrieval bot tests benchmarks

clean:
	rm -rf $(VENV) tests/e2e/node_modules data
