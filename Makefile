# Two commands a newcomer needs: `make run` and `make test`.
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000
PYTHON ?= python3

.PHONY: run test install install-test translations lint typecheck system-deps wordpress-plugin

# The portal alone: what `make run` needs.
$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e .
	touch $@

# The portal with the test tools (browser, SMTP server, linters).
$(BIN)/.installed-test: $(BIN)/.installed pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/.installed
install-test: $(BIN)/.installed-test

# The compiled catalogs are committed; this rebuilds them after editing a .po.
translations: install
	$(BIN)/python scripts/i18n.py compile

run: install
	$(BIN)/portal run --host 127.0.0.1 --port $(PORT)

system-deps:
	@bash scripts/system-deps.sh

lint: install-test
	$(BIN)/ruff check .

typecheck: install-test
	$(BIN)/mypy --strict portal

test: install-test system-deps lint typecheck
	$(BIN)/pytest

# The WordPress plugin as dist/preference-portal.zip (Plugins -> Add New -> Upload Plugin).
wordpress-plugin: install
	$(BIN)/python wordpress/build.py
