# Sống Khỏe: `make demo` to try it, `make test` to run the suite.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/songkhoe demo --province 24 --people 20000

test: $(STAMP)
	$(PY) -m pytest -q

# The checks that keep ARCHITECTURE.md true: style, the import contracts, the types.
lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench tools
	$(VENV)/bin/ruff format --check src tests bench tools
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy | $(VENV)/bin/mypy-baseline filter

bench: $(STAMP)
	cd bench && ../$(PY) store_insert_rate.py
	cd bench && ../$(PY) validation_rate.py
	cd bench && ../$(PY) synth_rate.py
	cd bench && ../$(PY) fhir_api.py
	cd bench && ../$(PY) ncd_score_rate.py
	cd bench && ../$(PY) ncd_indicators.py
	cd bench && ../$(PY) surveillance_noufaily.py
	cd bench && ../$(PY) surveillance_weekly.py
	cd bench && ../$(PY) web_pages.py
	cd bench && ../$(PY) imaging_densenet.py
	cd bench && ../$(PY) imaging_worklist.py
	cd bench && ../$(PY) chatbot_eval.py

clean:
	rm -rf $(VENV) var
