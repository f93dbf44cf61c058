# The two commands: `make run` and `make test`. Everything else here serves them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
COVERAGE_FLOOR ?= 85
PYTEST_WORKERS ?= 2
TRANSLATIONS := legalaid/translations

.PHONY: run test lint translations extract-messages lock clean system-packages bench

run: $(VENV)/.run-installed translations system-packages
	@bin/run

# Debian packages for the kiosk's handwriting (Zinnia and its Simplified Chinese model) and the hall's
# spoken call (espeak-ng): installed when missing and possible (as root, or sudo without a password);
# otherwise one line says what is off, and the site runs without them.
SYSTEM_PACKAGES := libzinnia0 zinnia-utils tegaki-zinnia-simplified-chinese espeak-ng
system-packages:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u)" = 0 ]; then as=""; elif sudo -n true 2>/dev/null; then as="sudo -n"; else as=no; fi; \
	if [ "$$as" != no ] && command -v apt-get >/dev/null \
	   && $$as apt-get update -qq >/dev/null 2>&1 \
	   && $$as env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null 2>&1; then \
	  echo "run: installed$$missing"; \
	else \
	  echo "run: handwriting at the kiosk and the spoken call stay off until these are installed (apt-get install$$missing)"; \
	fi

# Branch coverage is reported; no file of legalaid/ may stay under COVERAGE_FLOOR (0 skips the check,
# for a part of the suite: make test PYTEST_ARGS="-k replayed" COVERAGE_FLOOR=0). COVERAGE=0 runs the
# suite without measuring it (CI measures the SQLite run, not the PostgreSQL one again; the three sweeps
# marked no_cover run unmeasured: they assert only "no 500" or "no write", and measuring doubled them). The tests run on
# PYTEST_WORKERS processes (pytest-xdist; each has its own throwaway database; 0 runs them in one); a
# worker that runs out of tests takes some of the other's (worksteal), so a long sweep at the end of one
# worker's share does not leave the other idle.
COVERAGE ?= 1
COV_ARGS := $(if $(filter 1,$(COVERAGE)),--cov --cov-report=term --cov-report=json:.coverage.json)
test: $(VENV)/.dev-installed translations
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist worksteal $(COV_ARGS) $(PYTEST_ARGS)
	@if [ "$(COVERAGE)" = "1" ] && [ "$(COVERAGE_FLOOR)" != "0" ]; then \
	  $(BIN)/python bin/coverage-floor .coverage.json $(COVERAGE_FLOOR); fi

# The load benchmark (bench/run.py: settings BENCH_… in its docstring): a PostgreSQL database of the issue's
# size is created (or BENCH_DATABASE_URL used), the app served by gunicorn and loaded by wrk (Debian
# package, installed when missing and possible, as system-packages does) and by Python clients.
bench: $(VENV)/.dev-installed translations
	@command -v wrk >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then as=""; elif sudo -n true 2>/dev/null; then as="sudo -n"; else as=no; fi; \
	  [ "$$as" != no ] && command -v apt-get >/dev/null && $$as apt-get update -qq >/dev/null 2>&1 \
	    && $$as env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null 2>&1 \
	    || { echo "bench: wrk is missing: apt-get install wrk"; exit 1; }; }
	$(BIN)/python bin/bench

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/mypy

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Installs are reproducible: constraints.txt pins every package to the version tested.
$(VENV)/.run-installed: pyproject.toml constraints.txt $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -c constraints.txt -e .
	@touch $@

$(VENV)/.dev-installed: pyproject.toml constraints.txt $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@ $(VENV)/.run-installed

# Compiled catalogs (.mo) are build output; the .po files are the source.
translations: $(VENV)/.run-installed
	@$(BIN)/pybabel compile -d $(TRANSLATIONS) 2>&1 | grep -v "^compiling catalog" || true

# For developers: refresh messages.pot and merge new strings into every catalog.
extract-messages: $(VENV)/.run-installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o $(TRANSLATIONS)/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) --ignore-obsolete --no-fuzzy-matching

# For developers, after changing a range in pyproject.toml: install the newest allowed and pin it.
lock: $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet --upgrade -e '.[dev]'
	@{ head -2 constraints.txt; $(BIN)/python -m pip freeze --exclude-editable; } > constraints.new && mv constraints.new constraints.txt
	@touch $(VENV)/.dev-installed $(VENV)/.run-installed

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
