# The two set-up commands: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run index test browser clean bench topics topic-model

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

index: install
	$(BIN)/rcsearch index

run: install
	$(BIN)/rcsearch index || true
	$(BIN)/rcsearch serve --host 127.0.0.1 --port 5000

# Debian's chromium drives the browser tests (Playwright's own download does not work here);
# a CJK font makes the screenshots readable, and Noto CJK gives the PDFs chromium prints for
# the reader tests a real CJK text layer.
BROWSER_PACKAGES := chromium fonts-wqy-microhei fonts-noto-cjk
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -q "Noto Serif CJK SC"; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  for try in 1 2 3; do \
	    $$SUDO apt-get update -qq && \
	    $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BROWSER_PACKAGES) >/dev/null && break; \
	    sleep 10; \
	  done; \
	fi

test: install browser
	$(BIN)/python -m pytest

# Topic precision, recall and F1 per topic against the labelled composed reports (tuning half,
# held-out half and unseen batch) and, when ../shared/eval is there, the shared labels of the seeds.
topics: install
	$(BIN)/python -m tests.topic_eval

# Refit search/data/topic_model.json on the tuning half of the labelled composed reports.
topic-model: install
	$(BIN)/python -m tests.topic_eval fit

bench: install browser
	$(BIN)/python -m tests.benchmarks.run
	$(BIN)/python -m tests.benchmarks.ingest

clean:
	rm -rf $(VENV) index/gen-* index/current
