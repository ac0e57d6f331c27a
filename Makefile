# twinlens: `make run` brings the whole system up, `make test` runs the whole suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test test-fast lint bench system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[worker,postgres,test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/twinlens up

# Debian's chromium (browser tests; never a downloaded browser) and docker-compose (to
# validate docker-compose.yml). Installed when running as root; else those tests skip.
system-deps:
	@missing=""; command -v chromium >/dev/null || missing="chromium"; \
	command -v docker-compose >/dev/null || missing="$$missing docker-compose"; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null \
	  || echo "could not install$$missing: those tests will be skipped"; fi

test: install system-deps
	$(BIN)/pytest $(PYTEST_ARGS)

test-fast: install
	$(BIN)/pytest -m "not integration and not browser" $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check shared web worker migrations tests benchmarks

bench: install
	$(BIN)/python benchmarks/engine_throughput.py
	$(BIN)/python benchmarks/end_to_end.py

clean:
	rm -rf $(VENV) var .pytest_cache
