# Threadline: every target CI and developers use. Needs only python3 (3.11+) and make.
PYTHON ?= python3
VENV := .venv
# The manifests deploy/k8s/kustomization.yaml lists as resources.
K8S_RESOURCES := deploy/k8s/gateway.yaml deploy/k8s/consumers.yaml deploy/k8s/create-topics.yaml
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test unit integration faults browser screenshots lint check format schemas bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Start the embedded broker and database, the gateway on 127.0.0.1:8000 and the consumers.
run: $(STAMP)
	$(BIN)/python deploy/dev/devstack.py run

## The whole suite: unit tests and integration tests against the real servers.
test: $(STAMP)
	$(BIN)/python -m pytest

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

integration: $(STAMP)
	$(BIN)/python -m pytest tests/integration

## Brokers stopped, processes killed, fuzzed webhooks (also part of `make test`).
faults: $(STAMP)
	$(BIN)/python -m pytest -m faults

## The web app in headless Chromium (Debian's chromium package; also part of `make test`).
browser: $(STAMP)
	$(BIN)/python -m pytest -m browser

## Retake the README's screenshots of the web app (docs/screenshots/*.png).
screenshots: $(STAMP)
	THREADLINE_SCREENSHOTS=1 $(BIN)/python -m pytest -m browser -k "conversation_from_first or merge_and_export"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## The production files, as far as this machine can check them: the alert rules with promtool
## (Debian's prometheus package), the Kubernetes manifests against the Kubernetes schemas,
## and the Dockerfile with hadolint. No Docker engine or cluster runs them here.
check: $(STAMP)
	promtool check rules deploy/prometheus/alerts.yml
	promtool test rules deploy/prometheus/alerts.test.yml
	$(BIN)/kubernetes-validate --strict --quiet $(K8S_RESOURCES)
	$(BIN)/hadolint Dockerfile

## Regenerate contracts/schemas/*.json from the pydantic models.
schemas: $(STAMP)
	$(BIN)/python -m contracts.schemas

## Every benchmark; figures are printed as ratios against a baseline measured in the same run.
bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache
