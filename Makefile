# The two commands of the README: `make demo` and `make test`. Both set up everything.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
DEMO_PASSPHRASE ?= demo passphrase

.PHONY: install demo test lint typecheck unit postgres bench clean catalogs

$(BIN)/.installed: pyproject.toml
	@echo "[1/4] Creating the virtual environment in $(VENV)"
	$(PYTHON) -m venv $(VENV)
	@echo "[2/4] Updating pip"
	$(BIN)/pip install -q --upgrade pip
	@echo "[3/4] Installing fieldkit and its dependencies (about a minute; pip lists each one)"
	$(BIN)/pip install --progress-bar on -e '.[test]'
	@echo "[4/4] Byte-compiling fieldkit (so a start reads .pyc even where PYTHONDONTWRITEBYTECODE is set)"
	$(BIN)/python -m compileall -q fieldkit sync screens
	touch $@

install: $(BIN)/.installed

## make demo: a throwaway profile with a seeded caseload, then the field app.
## The profile is removed when the app exits, unless DEMO_HOME names where to keep it.
demo: install
	@if [ -n "$$DEMO_HOME" ]; then home=$$DEMO_HOME; mkdir -p "$$home"; \
	else home=$$(mktemp -d -t fieldkit-demo.XXXXXX); trap 'rm -rf "$$home"' EXIT INT TERM; fi; \
	export FIELDKIT_HOME=$$home; \
	echo "Demo profile in $$home (removed when the app exits unless DEMO_HOME is set)"; \
	echo "Creating the demo profile and 40 synthetic cases…"; \
	FIELDKIT_PASSPHRASE='$(DEMO_PASSPHRASE)' $(BIN)/fieldkit init --user jsmith && \
	FIELDKIT_PASSPHRASE='$(DEMO_PASSPHRASE)' $(BIN)/fieldkit demo-seed --cases 40 --seed 7 --mark-demo && \
	$(BIN)/fieldkit

## make test: the whole suite, ruff and mypy; non-zero on any failure
test: install postgres lint typecheck unit

postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start || true

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## mypy over fieldkit, fieldkit.sync and fieldkit.screens as installed (tools/typecheck.py)
typecheck: install
	$(BIN)/python tools/typecheck.py

unit: install
	$(BIN)/pytest -n 2 --dist loadgroup

## make catalogs: extract the strings of both domains, update fr/es .po, compile the .mo
## (a translator then fills the new entries of fieldkit/locale/<lang>/LC_MESSAGES/*.po)
KEYWORDS = -k _ -k N_ -k ngettext:1,2
catalogs: install
	$(BIN)/pybabel extract -F babel.cfg $(KEYWORDS) --no-location --sort-output -o fieldkit/locale/screens.pot screens
	$(BIN)/pybabel extract -F babel.cfg $(KEYWORDS) --no-location --sort-output -o fieldkit/locale/fieldkit.pot fieldkit sync
	@for d in fieldkit screens; do for l in fr es; do \
	  if [ -f fieldkit/locale/$$l/LC_MESSAGES/$$d.po ]; then $(BIN)/pybabel -q update --no-fuzzy-matching -i fieldkit/locale/$$d.pot -d fieldkit/locale -D $$d -l $$l; \
	  else $(BIN)/pybabel init -i fieldkit/locale/$$d.pot -d fieldkit/locale -D $$d -l $$l; fi; done; \
	  $(BIN)/pybabel compile -d fieldkit/locale -D $$d; done

bench: install
	@for b in bench/*.py; do $(BIN)/python $$b; done

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
