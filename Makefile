# The two commands: `make run` and `make test`. Everything else here serves them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
COVERAGE_FLOOR ?= 85
TRANSLATIONS := legalaid/translations

.PHONY: run test lint translations extract-messages clean

run: $(VENV)/.run-installed translations
	@bin/run

# Branch coverage is reported; no file of legalaid/ may stay under COVERAGE_FLOOR (0 skips the check,
# for a part of the suite: make test PYTEST_ARGS="-k replayed" COVERAGE_FLOOR=0).
test: $(VENV)/.dev-installed translations
	$(BIN)/pytest --cov --cov-report=term --cov-report=json:.coverage.json $(PYTEST_ARGS)
	@if [ "$(COVERAGE_FLOOR)" != "0" ]; then $(BIN)/python bin/coverage-floor .coverage.json $(COVERAGE_FLOOR); fi

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/mypy

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.run-installed: pyproject.toml $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.dev-installed: pyproject.toml $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.run-installed

# Compiled catalogs (.mo) are build output; the .po files are the source.
translations: $(VENV)/.run-installed
	@$(BIN)/pybabel compile -d $(TRANSLATIONS) 2>&1 | grep -v "^compiling catalog" || true

# For developers: refresh messages.pot and merge new strings into every catalog.
extract-messages: $(VENV)/.run-installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o $(TRANSLATIONS)/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) --ignore-obsolete --no-fuzzy-matching

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
