# streamstack: `make up` brings the whole lab up, `make test` checks it.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)
INVENTORY ?= inventories/local
# pytest exits 5 when it collected nothing: that is a failure here, never a pass.
PYTEST = scripts/pytest-strict

.PHONY: help deps up down status collection lint unit infra e2e e2e-slow molecule test test-all \
        test-collection \
        test-reliability test-metrics bench docs clean

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(VENV)/.installed: requirements.txt pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $@

deps: $(VENV)/.installed ## Python dependencies, Ansible collections, shellcheck (Debian)
	$(BIN)/python -m streamstack.collections
	scripts/ensure-shellcheck

up: deps ## Engine, image, lab, artifacts, the full stack and the jobs
	$(BIN)/streamstack up

down: deps ## Remove the lab (data volumes kept; `streamstack down --purge` drops them)
	$(BIN)/streamstack down

status: deps
	$(BIN)/streamstack status

collection: deps ## The streamstack.lab collection tarball, in .cache/build/
	$(BIN)/python -m streamstack.sanity build

lint: deps ## ruff, ansible-lint (production profile), shellcheck, role docs, ansible-test sanity
	$(BIN)/ruff check .
	rm -rf .cache/launchers && mkdir -p .cache && $(BIN)/python -m streamstack.plugins.plugin_utils.launchers .cache/launchers \
	  > .cache/launchers.list
	shellcheck -x $$(cat .cache/launchers.list) scripts/* .ci/run
	$(BIN)/ansible-lint -q --offline --profile production
	$(BIN)/python -m streamstack.docs --check
	$(BIN)/python -m streamstack.sanity

# The jobs' Spark code runs in the unit tests on a local Spark unpacked from the
# artifact cache (`make up` fills it); without it those two tests are skipped.
SPARK_TARBALL := .cache/artifacts/dist/spark-3.5.0.tar
SPARK_LOCAL := .cache/spark-local/spark-3.5.0

unit: deps ## Unit tests: templates, validation, runner, CLI, the jobs on a local Spark
	@if [ -f $(SPARK_TARBALL) ] && [ ! -x $(SPARK_LOCAL)/bin/spark-submit ]; then \
	  mkdir -p $(dir $(SPARK_LOCAL)) && tar -xf $(SPARK_TARBALL) -C $(dir $(SPARK_LOCAL)); fi
	STREAMSTACK_SPARK_HOME=$$([ -x $(SPARK_LOCAL)/bin/spark-submit ] && echo $(abspath $(SPARK_LOCAL))) \
	  $(PYTEST) tests/unit

infra: deps ## testinfra against the running lab (or INVENTORY=...)
	$(PYTEST) tests/infra --hosts=ansible://all --ansible-inventory=$(INVENTORY)

e2e: deps ## The handout, end to end, against the running lab; then a --check run
	$(PYTEST) tests/e2e -m "not slow" --ansible-inventory=$(INVENTORY) --hosts=ansible://spark_client
	$(PYTEST) tests/vm/test_check_mode.py --ansible-inventory=$(INVENTORY)

e2e-slow: deps ## The e2e tests that take minutes of converges each (a lost restart)
	$(PYTEST) tests/e2e -m slow --ansible-inventory=$(INVENTORY) --hosts=ansible://spark_client

molecule: deps ## molecule/default: full stack in fresh containers, idempotence, verify
	$(BIN)/molecule test -s default

test: lint unit infra e2e molecule ## What CI runs after `make up`

# A lab for the consumer project to converge: its inventory directory, e.g. the one
# `streamstack lab up --ssh --hosts 1 --no-publish --prefix cs-` writes under .cache/.
CONSUMER_INVENTORY ?=
test-collection: deps ## A project outside the checkout installs the tarball and converges a lab (CONSUMER_INVENTORY=...)
	STREAMSTACK_CONSUMER_INVENTORY=$(CONSUMER_INVENTORY) $(PYTEST) -rP tests/collection \
	  --basetemp=$${TMPDIR:-/tmp}/streamstack-test-collection

test-all: test e2e-slow test-collection ## Also the slow e2e tests, the consumer project, the one-host, KRaft, secure-profile and mixed Debian 12/13 scenarios
	$(BIN)/molecule test -s single
	$(BIN)/molecule test -s kraft
	$(BIN)/molecule test -s secure
	$(BIN)/molecule test -s mixed

test-reliability: deps ## Fault tests (broker and job kills), bounded in time
	$(PYTEST) tests/reliability --hosts=ansible://all --ansible-inventory=$(INVENTORY)

# The lab's name prefix when it is not the default lab (`lab up --prefix o-`).
PREFIX ?=
test-metrics: deps ## Alerts fire and clear, dashboard in a headless browser (about 8 minutes)
	STREAMSTACK_PREFIX=$(PREFIX) $(PYTEST) -rP tests/metrics --hosts=ansible://spark_client \
	  --ansible-inventory=$(INVENTORY)

bench: deps ## Benchmarks; results under bench/results
	$(BIN)/python -m streamstack.bench

docs: deps ## Regenerate each role's README variable table
	$(BIN)/python -m streamstack.docs

clean:
	rm -rf runs .pytest_cache .ruff_cache
