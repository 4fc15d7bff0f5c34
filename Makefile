# Two commands a newcomer needs: `make run` and `make test`.
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000
PYTHON ?= python3

.PHONY: run test install translations lint system-deps wordpress-plugin

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/.installed

translations: install
	$(BIN)/pybabel compile --domain messages --directory translations --statistics

run: translations
	$(BIN)/flask --app wsgi demo seed
	$(BIN)/flask --app wsgi run --host 127.0.0.1 --port $(PORT)

system-deps:
	@bash scripts/system-deps.sh

test: translations system-deps
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .

# The WordPress plugin as dist/preference-portal.zip (Plugins -> Add New -> Upload Plugin).
wordpress-plugin: install
	$(BIN)/python wordpress/build.py
