# SentimentPulse. `make` (or `make help`) lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
TOOLS := .venv-tools
PEER := .venv-peer
DLC := .venv-dlc
PY := $(VENV)/bin/python
SAM := $(TOOLS)/bin/sam
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0

DATA ?= ../shared/data/sst2
MODEL ?= model/embedded
CONFIG_ENV ?= default
API_PORT ?= 3000
MODEL_PORT ?= 8080
BUCKET ?=
PREFIX ?= sentimentpulse/models
REGION ?= $(AWS_DEFAULT_REGION)
TRANSFORMERS_VERSION ?= 4.51.3
DEVICE ?= cpu
STACK ?= sentimentpulse
VARIANTS ?= fp32,bf16
VARIANT ?= auto
# The parity gate's data: DATA when given (make ... DATA=dir) or when the default folder exists here;
# otherwise nothing is passed and packaging fetches SST-2 with datasets (or stops, naming DATA=).
GATE_DATA = $(if $(filter file,$(origin DATA)),$(wildcard $(DATA)),$(DATA))
PACKAGE_ARGS = --model "$(MODEL)" --variant "$(VARIANT)" $(if $(GATE_DATA),--parity-data "$(GATE_DATA)/dev.tsv" --calibration-data "$(GATE_DATA)/train.tsv")
PYTEST_ARGS ?=
BASE_URL ?=
DEPLOY_ARGS ?=
# Targets that call AWS stop here, in one line, when no credentials are set.
AWS_CHECK = $(PY) -m devstack.smoke --check-credentials --region "$(REGION)"

.PHONY: help install test test-unit test-integration test-docker lint format build deploy logs outputs sync smoke local lambda-image sam-local package-model image-uri train eval bench bench-docs bench-workers bench-start budget load overhead clean

help: ## Show this help
	@echo "SentimentPulse - make targets:"
	@awk 'BEGIN {FS = ":.*?## "} /^[a-zA-Z_-]+:.*?## / {printf "  \033[36m%-17s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo
	@echo "Variables: MODEL=$(MODEL) DATA=$(DATA) CONFIG_ENV=$(CONFIG_ENV) BUCKET=$(BUCKET) PREFIX=$(PREFIX)"
	@echo "           API_PORT=$(API_PORT) MODEL_PORT=$(MODEL_PORT) REGION=$(REGION) STACK=$(STACK)"

$(VENV)/.installed: requirements-dev.txt requirements-train.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --upgrade pip
	$(VENV)/bin/pip install --disable-pip-version-check --progress-bar on -r requirements-dev.txt
	$(VENV)/bin/pip install --disable-pip-version-check --progress-bar on --no-deps --require-hashes -r requirements-train.txt
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

$(TOOLS)/.installed: requirements-tools.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check --upgrade pip
	$(TOOLS)/bin/pip install --disable-pip-version-check --progress-bar on -r requirements-tools.txt
	touch $@

# The Hugging Face DLC's serving stack (toolkit + multi-model-server, the default image's pins) for the
# dlc test tier; multi-model-server also needs Java (Debian: openjdk-17-jre-headless).
$(DLC)/.installed: requirements-dlc.txt
	$(PYTHON) -m venv $(DLC)
	$(DLC)/bin/pip install --quiet --disable-pip-version-check --upgrade pip
	$(DLC)/bin/pip install --disable-pip-version-check --progress-bar on -r requirements-dlc.txt
	touch $@

install: $(VENV)/.installed $(TOOLS)/.installed $(DLC)/.installed ## Create .venv (app, model, tests), .venv-tools (SAM CLI, checkov) and .venv-dlc (the DLC's serving stack)

test: install ## Run every test (markers: unit, model, template, devstack, browser, dlc, docker, bench) - the CI command
	PATH="$(CURDIR)/$(TOOLS)/bin:$$PATH" $(PY) -m pytest $(PYTEST_ARGS)

test-unit: install ## Run the unit tier only (fast, no sockets)
	$(PY) -m pytest -m unit $(PYTEST_ARGS)

test-integration: install ## Run the tiers that start local servers: devstack, browser (/docs in Chromium), bench (quick), dlc
	$(PY) -m pytest -m "devstack or browser or bench or dlc" $(PYTEST_ARGS)

test-docker: install ## Run the docker tier: every event through sam local in a real Docker daemon
	PATH="$(CURDIR)/$(TOOLS)/bin:$$PATH" $(PY) -m pytest -m docker $(PYTEST_ARGS)

lint: install ## ruff (lint + format check), mypy, cfn-lint, sam validate --lint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy src/handler src/devstack model bench tests
	$(TOOLS)/bin/cfn-lint template.yaml
	$(SAM) validate --lint

format: install ## Apply ruff fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

build: install ## sam build (python3.13 wheels, works with any local Python)
	$(SAM) build

deploy: install ## package-model -> sam build -> sam deploy (needs AWS credentials and BUCKET)
	@$(AWS_CHECK)
	@test -n "$(BUCKET)" || { echo "error: set BUCKET=<s3 bucket for model.tar.gz> (or run 'sam deploy --guided' for hub-direct mode)"; exit 2; }
	$(PY) -m model.packaging package $(PACKAGE_ARGS) --bucket "$(BUCKET)" --prefix "$(PREFIX)" --region "$(REGION)" --samconfig samconfig.toml --config-env "$(CONFIG_ENV)"
	$(SAM) build
	$(SAM) deploy --config-env "$(CONFIG_ENV)" --region "$(REGION)" --parameter-overrides $$($(PY) -m model.packaging overrides --samconfig samconfig.toml --config-env "$(CONFIG_ENV)" --image-uri "$$($(PY) -m model.packaging image-uri --region $(REGION) --transformers-version $(TRANSFORMERS_VERSION) --device $(DEVICE))") $(DEPLOY_ARGS)

logs: install ## Tail the function logs and the API access logs (sam logs --tail)
	@$(AWS_CHECK)
	@group=$$($(SAM) list stack-outputs --stack-name "$(STACK)" --region "$(REGION)" --output json | \
	  $(PY) -c 'import json, sys; print({o["OutputKey"]: o["OutputValue"] for o in json.load(sys.stdin)}["ApiAccessLogGroupName"])') && \
	$(SAM) logs --stack-name "$(STACK)" --region "$(REGION)" --tail --name PredictFunction --cw-log-group "$$group"

outputs: install ## The stack's outputs: ApiUrl, ApiBaseUrl, EndpointName, ... (sam list stack-outputs)
	@$(AWS_CHECK)
	$(SAM) list stack-outputs --stack-name "$(STACK)" --region "$(REGION)"

sync: install ## sam sync --watch: code and template changes to the dev stack STACK-dev as you save (never prod)
	@$(AWS_CHECK)
	$(SAM) sync --watch --stack-name "$(STACK)-dev" --region "$(REGION)" --parameter-overrides FunctionDeploymentType=AllAtOnce

smoke: $(VENV)/.installed ## Every recorded event against BASE_URL=http://127.0.0.1:3000 (make local), or against STACK's API and function
	$(PY) -m devstack.smoke $(if $(BASE_URL),--base-url "$(BASE_URL)",--stack "$(STACK)" --region "$(REGION)")

local: $(VENV)/.installed ## Serve POST /predict on 127.0.0.1:3000 (API_PORT) offline (MODEL=dir|model.tar.gz|hub id), fast variant built once
	@folder=$$($(PY) -m model.packaging local --model "$(MODEL)" --variant "$(VARIANT)" $(if $(GATE_DATA),--data "$(GATE_DATA)")) && \
	SP_INFERENCE_VARIANT="$(VARIANT)" $(PY) -m devstack.stack --model "$$folder" --api-port $(API_PORT) --model-port $(MODEL_PORT)

lambda-image: install ## Build public.ecr.aws/lambda/python:3.13-x86_64 locally when it cannot be pulled (needs Docker)
	$(PY) -m devstack.lambda_image --if-missing

sam-local: install ## Every event through sam local start-lambda + start-api in Docker, checked (table)
	$(PY) -m devstack.sam_local --model "$(MODEL)"

package-model: $(VENV)/.installed ## model.tar.gz from MODEL: fp32 + each fast variant that passes the parity gate (DATA, else SST-2 via datasets); VARIANT=fp32|bf16|onnx-fp32|onnx-int8|openvino-int8 pins one; BUCKET=... uploads
	$(PY) -m model.packaging package $(PACKAGE_ARGS) $(if $(BUCKET),--bucket "$(BUCKET)" --prefix "$(PREFIX)" --region "$(REGION)" --samconfig samconfig.toml --config-env "$(CONFIG_ENV)")

image-uri: $(VENV)/.installed ## Print the HF PyTorch inference DLC image URI (REGION, TRANSFORMERS_VERSION, DEVICE)
	$(PY) -m model.packaging image-uri --region "$(REGION)" --transformers-version "$(TRANSFORMERS_VERSION)" --device "$(DEVICE)"

train: $(VENV)/.installed ## Fine-tune the pinned encoder on DATA/train.tsv, select on DATA/dev.tsv (resumable)
	$(PY) -m model.training.train --data "$(DATA)" --out model/embedded --work build/train-work

eval: $(VENV)/.installed ## Accuracy, F1, confusion matrix of MODEL on DATA; VARIANTS (default fp32,bf16: parity)
	$(PY) -m model.training.evaluate --model "$(MODEL)" --data "$(DATA)" --variants "$(VARIANTS)"

$(PEER)/.installed: requirements-peer.txt
	$(PYTHON) -m venv $(PEER)
	$(PEER)/bin/pip install --quiet --disable-pip-version-check --upgrade pip
	$(PEER)/bin/pip install --disable-pip-version-check --progress-bar on -r requirements-peer.txt
	touch $@

bench: $(VENV)/.installed $(if $(QUICK),,$(PEER)/.installed) ## Inference benchmark into bench-results/ (with the infinity-emb peer in .venv-peer); QUICK=1: smoke mode
	$(PY) -m bench --data "$(DATA)/dev.tsv" --train "$(DATA)/train.tsv" --config ../shared/data/distilbert-sst2 $(if $(QUICK),--quick)

bench-docs: ## Refresh the tracked docs from the last make bench (docs/capacity.md; docs/benchmarks.md is edited from bench-results/bench.md)
	@test -f bench-results/capacity.md || { echo "error: no bench-results/capacity.md: run make bench first"; exit 2; }
	cp bench-results/capacity.md docs/capacity.md
	@echo "docs/capacity.md refreshed; compare bench-results/bench.md with docs/benchmarks.md"

budget: $(VENV)/.installed ## The worst accepted request through the local stack with AVX-512 off: within half the read timeout?
	$(PY) -m bench.worst_request --config ../shared/data/distilbert-sst2 --data "$(DATA)/dev.tsv"

bench-workers: $(VENV)/.installed $(DLC)/.installed ## MMS workers x threads on the DLC's real serving stack (README, Workers and threads)
	$(PY) -m bench.mms_workers --config ../shared/data/distilbert-sst2 --data "$(DATA)/dev.tsv"

bench-start: $(VENV)/.installed $(DLC)/.installed ## Start time, size and served rate of the fp32 and the shipped default archive on the DLC's real stack -> docs/start-cost.md
	$(PY) -m bench.dlc_start --data "$(DATA)"

load: $(VENV)/.installed ## Bounded load test against the local stack, then the knee (docs/load-knee.md)
	$(PY) -m bench.load --model "$(MODEL)"
	$(PY) -m bench.knee --model "$(MODEL)"

overhead: $(VENV)/.installed ## Where the local stack's latency over the model server goes, layer by layer (docs/benchmarks.md)
	$(PY) -m bench.overhead --model "$(MODEL)"

clean: ## Remove build outputs (keeps the venvs)
	rm -rf .aws-sam build dist bench-results
