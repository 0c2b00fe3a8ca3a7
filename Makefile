# The two commands a newcomer needs: `make run` and `make test`. Everything they
# need is installed here, into .venv, from pyproject.toml.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080
export CONTACTDESK_DATABASE_URL ?= sqlite:///contactdesk.db

.PHONY: install run test lint clean catalogue bench

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

# Every bench at a small size, one after the other (3.5 minutes on two shared cores at a
# load average of 12); each prints the machine it ran on and ends with a `RESULT key=value
# …` line. Sizes are make variables: `make bench BENCH_IMPORT="--rows 1000000"`. Each bench
# makes a PostgreSQL database of its own (contactdesk_bench_*) next to
# CONTACTDESK_BENCH_POSTGRES's.
BENCH_CAMPAIGN ?= --customers 5000 --send 500 --warmup 100
BENCH_IMPORT ?= --rows 10000
BENCH_ROUTING ?= --customers 10000 --seconds 2 --concurrency 16
BENCH_SCREEN_POP ?= --customers 2000 --agents 20 --calls 100 --concurrency 8 --warmup 20
BENCH_DASHBOARD ?= --customers 10000 --contacts 50000 --requests 5 --warmup 1 --page-seconds 5 \
	--database contactdesk_bench_make_dashboard --reload --drop
BENCH_PAGES ?= --customers 10000 --complaints 2000 --requests 5 --warmup 1 --page-seconds 5 \
	--database contactdesk_bench_make_pages --reseed --drop
BENCH_COMPLAINT_LIST ?= --customers 20000 --complaints 5000
BENCH_ROUTING_DB ?= --customers 10000 --seconds 2
BENCH_DB_POOL ?= --rounds 3
BENCH_RETENTION ?= --customers 2000 --per-day 1000 --days 10
BENCH_TIER_REVIEW ?= --customers 20000 --complaints 2000
bench: install
	$(BIN)/python bench/campaign.py $(BENCH_CAMPAIGN)
	$(BIN)/python bench/import_customers.py $(BENCH_IMPORT)
	$(BIN)/python bench/routing.py $(BENCH_ROUTING)
	$(BIN)/python bench/routing_db.py $(BENCH_ROUTING_DB)
	$(BIN)/python bench/screen_pop.py $(BENCH_SCREEN_POP)
	$(BIN)/python bench/dashboard.py $(BENCH_DASHBOARD)
	$(BIN)/python bench/pages.py $(BENCH_PAGES)
	$(BIN)/python bench/complaint_list.py $(BENCH_COMPLAINT_LIST)
	$(BIN)/python bench/db_pool.py $(BENCH_DB_POOL)
	$(BIN)/python bench/retention.py $(BENCH_RETENTION)
	$(BIN)/python bench/tier_review.py $(BENCH_TIER_REVIEW)
