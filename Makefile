# Two entry points for a fresh machine: `make run` and `make test`.
# torch is installed first from its CPU build; otherwise pip would pull several GB of CUDA wheels.
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NEWS ?= ../shared/corpus/news

.PHONY: install run index test lint clean bench-compare

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
