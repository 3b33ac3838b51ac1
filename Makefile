# The two commands of the README: `make demo` and `make test`. Both set up everything.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
DEMO_PASSPHRASE ?= demo passphrase

.PHONY: install demo test lint typecheck unit postgres bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(BIN)/.installed

## make demo: a throwaway profile with a seeded caseload, then the field app
demo: install
	@home=$${DEMO_HOME:-$$(mktemp -d -t fieldkit-demo.XXXXXX)}; \
	export FIELDKIT_HOME=$$home FIELDKIT_PASSPHRASE='$(DEMO_PASSPHRASE)'; \
	echo "Demo profile in $$home (passphrase: '$(DEMO_PASSPHRASE)')"; \
	$(BIN)/fieldkit init --user jsmith && \
	$(BIN)/fieldkit demo-seed --cases 40 --seed 7 && \
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

bench: install
	@for b in bench/*.py; do $(BIN)/python $$b; done

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
