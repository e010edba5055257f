# coderef: two commands, `make run` and `make test`. Everything else is set up on the way.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: setup system-deps run dev test bench validate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

# Debian packages the tests need: chromium (Playwright drives it; no browser download),
# graphviz (the `dot` layout engine behind the relationship diagrams) and Virtuoso's
# server binary (virtuoso-opensource-7-bin: `virtuoso-t`, one of the test backends; the
# tests start their own on 127.0.0.1, so neither the system service nor its debconf
# password question of the full virtuoso-opensource package is needed).
system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v dot >/dev/null 2>&1 || missing="$$missing graphviz"; \
	command -v virtuoso-t >/dev/null 2>&1 || missing="$$missing virtuoso-opensource-7-bin"; \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:$$missing"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO="sudo"; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing fonts-dejavu-core >/dev/null; \
	fi

run: setup system-deps
	$(BIN)/coderef serve --host $(HOST) --port $(PORT)

dev: setup
	$(BIN)/coderef serve --dev --host $(HOST) --port $(PORT)

test: setup system-deps
	$(BIN)/python -m pytest

validate: setup
	$(BIN)/coderef validate

# Figures, never pass/fail: e.g. make bench BENCH_ARGS="--sizes 10k,100k,1m --icd10cm"
BENCH_ARGS ?=
# Every page uncached in-process (issue 16): make bench PAGES_ARGS="--size 1m"
PAGES_ARGS ?= --size 1m
bench: setup
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/pages.py $(PAGES_ARGS)

clean:
	rm -rf $(VENV) var build *.egg-info
