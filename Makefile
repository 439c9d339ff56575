# PAKN gateway. `make run` on a bare laptop; `make test` against real services.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test lint venv migrate demo bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

migrate: venv
	$(BIN)/flask --app wsgi db upgrade

demo: migrate
	$(BIN)/flask --app wsgi agencies import config/agencies/*.vcf
	$(BIN)/flask --app wsgi agencies certificate issue bo-nong-nghiep-moi-truong --if-missing  # development CA

run: demo
	$(BIN)/python -m gateway.devserver

test: lint
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy gateway channels normalizer config worker.py

bench: venv
	$(BIN)/python bench/classifier.py
	$(BIN)/python bench/webhook.py  # needs wrk: apt-get install -y wrk

clean:
	rm -rf $(VENV) instance .pytest_cache
