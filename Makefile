# The two commands a newcomer needs: `make run` and `make test`. Everything they
# need is installed here, into .venv, from pyproject.toml.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080
export CONTACTDESK_DATABASE_URL ?= sqlite:///contactdesk.db

.PHONY: install run test lint clean catalogue

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

# The demo's CTI token, for `make run` only: the test call `contactdesk demo` prints carries it.
run: export CONTACTDESK_CTI_TOKEN ?= demo-cti-token
run: install
	$(BIN)/contactdesk db upgrade
	$(BIN)/contactdesk demo --url http://$(HOST):$(PORT)
	$(BIN)/contactdesk serve --host $(HOST) --port $(PORT)

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) contactdesk.db contactdesk.db-wal contactdesk.db-shm

# The console's Chinese catalogue: collect the marked strings, then merge them into the .po
# (new entries arrive untranslated; tests/test_console_language.py lists any left so).
CATALOGUE_KEYWORDS := -k N_ -k InvalidInput -k Conflict -k NotFound -k Forbidden -k DomainError
catalogue: install
	$(BIN)/pybabel extract --no-location --sort-output -F babel.cfg $(CATALOGUE_KEYWORDS) -o templates/locale/console.pot .
	$(BIN)/pybabel update --no-fuzzy-matching --ignore-obsolete --width 100 -D console -i templates/locale/console.pot -d templates/locale -l zh
