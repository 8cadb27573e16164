# explaind-swift — see README.md. `make` alone lists the targets (from the `## ` comments above each target).
# The two commands a newcomer needs: `make reproduce-quick` (the main job) and `make test` (the test suite).
# Every target that runs something builds once (`make build`) and then runs `.build/release/<executable>`.

SWIFT        ?= swift
DEB_PACKAGES := libopenblas-dev libhdf5-dev libpng-dev libcairo2-dev zlib1g-dev pkg-config fonts-dejavu-core python3-h5py python3-numpy slurm-wlm munge
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# One set of build flags for everything, so `make build` and `make test` share one build.
RELEASE      := -c release -Xswiftc -enable-testing
BIN          := .build/release
# CONFIG: the config of a single run (validate-epk needs it; train-* default to their paper config).
CONFIG       ?=
# ARGS: extra arguments for a single run, e.g. ARGS="--shard 1/4" or ARGS="--resume".
ARGS         ?=
# PIPELINE: the pipeline `make report` and `make reproduce-status` read.
PIPELINE     ?= Configs/pipeline-quick.json
# STAGE: the stage `make stage` runs (with the stages it reads).
STAGE        ?=

.DEFAULT_GOAL := help
.PHONY: help setup build test example stage reproduce-quick reproduce-all reproduce-status report reference plots gallery bench data clean \
        train-modulo train-modulo-quick train-mnist train-mnist-quick train-cifar2 train-cifar2-local train-cifar2-quick \
        validate-epk prune prune-shard prune-merge prune-quick sensitivity sensitivity-quick train-lm step-explainer step-explainer-quick \
        lds lds-quick component-attribution swap-aligned retrain-pipeline grokking-quick

## List the targets (this text).
help:
	@echo "explaind-swift. Main job: make reproduce-quick. Tests: make test. Targets:"
	@awk '/^## /{ sub(/^## /, ""); doc = doc (doc == "" ? "" : " ") $$0; next } \
	      /^[a-zA-Z0-9_-]+:/ && doc != "" { split($$0, t, ":"); printf "  %-24s %s\n", t[1], doc } \
	      { doc = "" }' $(MAKEFILE_LIST)

## Install the Debian packages that are missing (apt-get update + install; nothing is done when all are present).
setup:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "setup: installing$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	else echo "setup: all Debian packages present"; fi

## Release build of the library and every executable (after `make setup`).
build: setup
	$(SWIFT) build $(RELEASE)

# OpenBLAS reads OPENBLAS_CORETYPE when it loads; unless you set it, the tests run on the kernels that a started
# executable settles on (it restarts itself when OpenBLAS picked kernels below what the CPU supports).
## The whole test suite: the library-use example (`make example`), then a release build with -enable-testing and
## every test target.
test: setup example
	$(SWIFT) build $(RELEASE) --build-tests
	@if [ -z "$${OPENBLAS_CORETYPE:-}" ]; then \
	  core=$$(.build/release/bench --blas-info | sed -n 's/^core=//p'); \
	  echo "test: OpenBLAS kernels $$core"; \
	  export OPENBLAS_CORETYPE="$$core" EXPLAIND_BLAS_CORE_FROM_MAKE=1; \
	  $(SWIFT) test $(RELEASE) --skip-build; \
	else echo "test: OpenBLAS kernels $$OPENBLAS_CORETYPE (your OPENBLAS_CORETYPE)"; $(SWIFT) test $(RELEASE) --skip-build; fi

## The main job: every quick config end to end (train, EPK, experiments, figures), report in results/REPORT.md.
reproduce-quick: build
	$(BIN)/reproduce --config Configs/pipeline-quick.json

## The paper-scale pipeline in dependency order (hours on 2 cores; see results/reference/README.md).
reproduce-all: build
	$(BIN)/reproduce --config Configs/pipeline-all.json

## Print whether each stage of PIPELINE is up to date, running nothing.
reproduce-status: build
	$(BIN)/reproduce --config $(PIPELINE) --dry-run

## Run one stage of PIPELINE and the stages it reads that are not up to date: make stage STAGE=epk-mnist (with
## REFERENCE=1 also store their reference companions).
stage: build
	@test -n "$(STAGE)" || { echo "make stage: set STAGE=<name> (stages: make reproduce-status)"; exit 1; }
	$(BIN)/reproduce --config $(PIPELINE) --stage $(STAGE) $(if $(REFERENCE),--reference)

## Rewrite the report of PIPELINE, running no stage: from the stored reference into results/reference/REPORT.md for
## PIPELINE=Configs/pipeline-all.json (it has a reference folder), from the artifacts under results/ otherwise.
report: build
	$(BIN)/report --config $(PIPELINE)

## Run the paper-scale pipeline and store each stage's reference companion under results/reference (many hours).
reference: build
	$(BIN)/reproduce --config Configs/pipeline-all.json --reference

## Regenerate every figure from the artifacts under results/ alone.
plots: build
	$(BIN)/plot results

## Every figure kind from synthetic data, into results/gallery (PNG, plus one PDF and SVG).
gallery: build
	$(BIN)/gallery results/gallery

## Benchmarks, never timed in tests (one workload: BENCH_ARGS="--workload P2").
bench: build
	$(BIN)/bench $(BENCH_ARGS)

## Download MNIST and CIFAR-10 into data/ and verify their checksums (needs internet).
data:
	bash scripts/fetch-data.sh data

## Build Examples/custom-model, a separate package that uses the ExPLAIND library product, and run it: it defines a
## model in code, trains it with history and checks that the EPK replay reproduces the model.
example: setup
	$(SWIFT) build -c release --package-path Examples/custom-model
	Examples/custom-model/.build/release/custom-model

## Remove the build directories.
clean:
	rm -rf .build Examples/custom-model/.build

## Train the modulo transformer with history (CONFIG defaults to Configs/modulo.json; ARGS="--resume").
train-modulo: build
	$(BIN)/train-modulo --config $(or $(CONFIG),Configs/modulo.json) $(ARGS)

## The same with Configs/modulo-quick.json.
train-modulo-quick: build
	$(BIN)/train-modulo --config Configs/modulo-quick.json $(ARGS)

## Train the MNIST MLP with history (CONFIG defaults to Configs/mnist.json).
train-mnist: build
	$(BIN)/train-mnist --config $(or $(CONFIG),Configs/mnist.json) $(ARGS)

## The same with Configs/mnist-quick.json.
train-mnist-quick: build
	$(BIN)/train-mnist --config Configs/mnist-quick.json $(ARGS)

## Train the CIFAR-2 ResNet-9 with history on the full CIFAR-10 data (CONFIG defaults to Configs/cifar2.json).
train-cifar2: build
	$(BIN)/train-cifar2 --config $(or $(CONFIG),Configs/cifar2.json) $(ARGS)

## The same recipe on the partial local CIFAR-10 copy (Configs/cifar2-local.json).
train-cifar2-local: build
	$(BIN)/train-cifar2 --config Configs/cifar2-local.json $(ARGS)

## The same with Configs/cifar2-quick.json.
train-cifar2-quick: build
	$(BIN)/train-cifar2 --config Configs/cifar2-quick.json $(ARGS)

## Replay a history as an EPK: make validate-epk CONFIG=Configs/modulo-epk.json [ARGS="--shard 1/4"].
validate-epk: build
	@if [ -z "$(CONFIG)" ]; then \
	  echo "validate-epk: no config; run e.g. make validate-epk CONFIG=Configs/modulo-epk-quick.json" >&2; exit 2; fi
	$(BIN)/validate-epk --config $(CONFIG) $(ARGS)

## Pruning with EPK component scores vs magnitude, Taylor and random (docs/METHOD.md §15).
prune: build
	$(BIN)/prune --config Configs/prune.json

## One shard of the pruning scores (e.g. make prune-shard SHARD=2/4), into results/prune/local.
prune-shard: build
	@if [ -z "$(SHARD)" ]; then echo "prune-shard: no shard; run e.g. make prune-shard SHARD=2/4" >&2; exit 2; fi
	$(BIN)/prune --config Configs/prune.json --score-shard $(SHARD)

## Pruning by the score shards in results/prune/local (every SHARD=i/n of one n computed first).
prune-merge: build
	$(BIN)/prune --config Configs/prune.json --scores results/prune/local

## The same on the quick CIFAR-2 history (trained first when missing).
prune-quick: build
	@test -f results/cifar2/quick/history.h5 || $(BIN)/train-cifar2 --config Configs/cifar2-quick.json
	$(BIN)/prune --config Configs/prune-quick.json

## EPK replication error vs quadrature rule, points, early rule and history precision (docs/METHOD.md §18), on step
## ranges of the paper histories (train-modulo and train-cifar2-local first).
sensitivity: build
	$(BIN)/sensitivity --config Configs/sensitivity.json

## The same on the quick CIFAR-2 history (trained first when missing).
sensitivity-quick: build
	@test -f results/cifar2/quick/history.h5 || $(BIN)/train-cifar2 --config Configs/cifar2-quick.json
	$(BIN)/sensitivity --config Configs/sensitivity-quick.json

## Character-level transformer LM on the KJV text with a sparse history (docs/METHOD.md §19).
train-lm: build
	$(BIN)/train-lm --config Configs/lm.json

## Train the LM, then decompose its loss changes by module with the step explainer.
step-explainer: train-lm
	$(BIN)/step-explainer --config Configs/step-explainer-lm.json

## Step explainer on the quick LM, modulo, MNIST and CIFAR-2 histories (each trained first; CIFAR-2 takes minutes).
step-explainer-quick: build
	$(BIN)/train-lm --config Configs/lm-quick.json
	$(BIN)/step-explainer --config Configs/step-explainer-lm-quick.json
	$(BIN)/train-modulo --config Configs/modulo-quick.json
	$(BIN)/step-explainer --config Configs/step-explainer-modulo-quick.json
	$(BIN)/train-mnist --config Configs/mnist-quick.json
	$(BIN)/step-explainer --config Configs/step-explainer-mnist-quick.json
	$(BIN)/train-cifar2 --config Configs/cifar2-quick.json
	$(BIN)/step-explainer --config Configs/step-explainer-cifar2-quick.json

## Linear datamodeling score of ExPLAIND and baselines on MNIST: 100 subset retrains (docs/METHOD.md §17).
lds: build
	$(BIN)/lds --config Configs/lds-mnist.json

## The same with Configs/lds-mnist-quick.json.
lds-quick: build
	$(BIN)/lds --config Configs/lds-mnist-quick.json

## Component attribution over the paper modulo history (docs/METHOD.md §16).
component-attribution: build
	$(BIN)/component-attribution --config Configs/component-attribution.json

## Final outer layers swapped into earlier modulo checkpoints (docs/METHOD.md §16).
swap-aligned: build
	$(BIN)/swap-aligned --config Configs/swap-aligned.json

## Retraining re-initialised components around kept ones (docs/METHOD.md §16).
retrain-pipeline: build
	$(BIN)/retrain-pipeline --config Configs/retrain-pipeline.json

## The three grokking analyses on the quick modulo history (trained first when missing).
grokking-quick: build
	@test -f results/modulo/quick/history.h5 || $(BIN)/train-modulo --config Configs/modulo-quick.json
	$(BIN)/component-attribution --config Configs/component-attribution-quick.json
	$(BIN)/swap-aligned --config Configs/swap-aligned-quick.json
	$(BIN)/retrain-pipeline --config Configs/retrain-pipeline-quick.json

## The original ExPLAIND (pip `explaind` + torch, in .venv-bench/, created once by scripts/bench-venv.sh) beside ours on
## P1, P2b, P3, P4, alternating in one run, 2 threads each: table of time and peak-RSS ratios with the CPU model and the
## OpenBLAS core → results/reference/bench/compare-<date>.md and .json. About 15 min on an idle 2-core machine.
.PHONY: bench-compare
BENCH_VENV ?= .venv-bench
bench-compare: build
	bash scripts/bench-venv.sh $(BENCH_VENV)
	$(BENCH_VENV)/bin/python python/bench_compare.py --bench $(BIN)/bench --python $(BENCH_VENV)/bin/python \
	  --out results/reference/bench $(BENCH_COMPARE_ARGS)

.PHONY: lds-crosscheck
LDS_H5 ?= results/lds/quick/lds.h5
## dattri's TRAK and influence-function LDS beside ours on the subsets of one lds.h5 (LDS_H5=…, default the quick run;
## needs no build): python/lds_crosscheck.py in the venv of bench-compare → crosscheck.json and .md next to it.
lds-crosscheck:
	bash scripts/bench-venv.sh $(BENCH_VENV)
	$(BENCH_VENV)/bin/python python/lds_crosscheck.py $(LDS_H5) $(CROSSCHECK_ARGS)
