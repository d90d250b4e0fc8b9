# Two entry points for a fresh machine: `make run` and `make test`.
# torch is installed first from its CPU build; otherwise pip would pull several GB of CUDA wheels.
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NEWS ?= ../shared/corpus/news

.PHONY: install run index test lint clean

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

lint: install
	$(BIN)/ruff check index retrieval bot tests benchmarks

clean:
	rm -rf $(VENV) tests/e2e/node_modules data
