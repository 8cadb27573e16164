# explaind-swift — see README.md.
# A newcomer needs two commands: `make reproduce-quick` (the main job) and `make test` (the test suite).
# Both install any missing Debian packages first (`make setup`).

SWIFT        ?= swift
DEB_PACKAGES := libopenblas-dev libhdf5-dev libpng-dev libcairo2-dev zlib1g-dev pkg-config fonts-dejavu-core python3-h5py python3-numpy slurm-wlm munge
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
RELEASE      := -c release -Xswiftc -enable-testing

.PHONY: setup build test bench gallery clean data reproduce-quick reproduce-all plots report

## Install the Debian packages that are missing (nothing is done when all are present).
setup:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "setup: installing$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	else echo "setup: all Debian packages present"; fi

## Release build of the library and every experiment executable.
build: setup
	$(SWIFT) build $(RELEASE)

## The whole test suite (optimised build; numeric tests need the speed).
test: setup
	$(SWIFT) build $(RELEASE) --build-tests
	$(SWIFT) test $(RELEASE) --skip-build

## Benchmarks (numbers go into the README; never timed in tests). One workload: make bench BENCH_ARGS="--workload P2".
bench: build
	$(SWIFT) run $(RELEASE) bench $(BENCH_ARGS)

## Download MNIST and CIFAR-10 into data/ and verify their checksums (needs internet; see scripts/fetch-data.sh).
data:
	bash scripts/fetch-data.sh data

## Every figure kind of the Plot module from synthetic data, into results/gallery (PNG, plus one PDF and SVG).
gallery: setup
	$(SWIFT) run $(RELEASE) gallery results/gallery

BIN := .build/release

## The main job: every quick config end to end (train with history → EPK → experiments → figures → report),
## skipping stages whose artifacts are valid and made from the current config. Report: results/REPORT.md.
reproduce-quick: build
	$(BIN)/reproduce --config Configs/pipeline-quick.json

## The paper-scale configs in dependency order (hours on 2 cores; see README for the time of each stage).
reproduce-all: build
	$(BIN)/reproduce --config Configs/pipeline-all.json

## Regenerate every figure from the artifacts under results/ alone.
plots: build
	$(BIN)/plot results

## Rewrite results/REPORT.md from the artifacts that exist, running no stage (PIPELINE=Configs/pipeline-all.json
## for the paper-scale stages).
PIPELINE ?= Configs/pipeline-quick.json
report: build
	$(BIN)/report --config $(PIPELINE) --out results/REPORT.md

clean:
	rm -rf .build

## Pruning with EPK component scores vs magnitude/Taylor/random (spec §3.5); quick: on the quick CIFAR-2 history.
.PHONY: prune prune-quick sensitivity sensitivity-quick
prune-quick: build
	@test -f results/cifar2/quick/history.h5 || $(SWIFT) run $(RELEASE) train-cifar2 --config Configs/cifar2-quick.json
	$(SWIFT) run $(RELEASE) prune --config Configs/prune-quick.json
prune: build
	$(SWIFT) run $(RELEASE) prune --config Configs/prune.json

## EPK replication error vs quadrature rule, points, early rule and history precision (spec §3.11, issue 8).
sensitivity-quick: build
	@test -f results/cifar2/quick/history.h5 || $(SWIFT) run $(RELEASE) train-cifar2 --config Configs/cifar2-quick.json
	$(SWIFT) run $(RELEASE) sensitivity --config Configs/sensitivity-quick.json
sensitivity: build
	$(SWIFT) run $(RELEASE) sensitivity --config Configs/sensitivity.json
## Issue 10: character-level TransformerLM with a sparse history, and the step explainer (spec §3.12).
.PHONY: train-lm step-explainer step-explainer-quick
train-lm: build
	$(SWIFT) run $(RELEASE) train-lm --config Configs/lm.json
step-explainer: train-lm
	$(SWIFT) run $(RELEASE) step-explainer --config Configs/step-explainer-lm.json
step-explainer-quick: build
	$(SWIFT) run $(RELEASE) train-lm --config Configs/lm-quick.json
	$(SWIFT) run $(RELEASE) step-explainer --config Configs/step-explainer-lm-quick.json
	$(SWIFT) run $(RELEASE) train-modulo --config Configs/modulo-quick.json
	$(SWIFT) run $(RELEASE) step-explainer --config Configs/step-explainer-modulo-quick.json
## Linear datamodeling score of ExPLAIND and baselines on MNIST (spec §3.10): 100 subset retrains + attributions.
.PHONY: lds lds-quick
lds: build
	.build/release/lds --config Configs/lds-mnist.json
lds-quick: build
	.build/release/lds --config Configs/lds-mnist-quick.json
## Grokking analyses on the modulo history (spec §3.6–3.9); the -quick targets use results/modulo/quick/history.h5.
.PHONY: component-attribution swap-aligned retrain-pipeline grokking-quick
component-attribution: build
	$(SWIFT) run $(RELEASE) component-attribution --config Configs/component-attribution.json
swap-aligned: build
	$(SWIFT) run $(RELEASE) swap-aligned --config Configs/swap-aligned.json
retrain-pipeline: build
	$(SWIFT) run $(RELEASE) retrain-pipeline --config Configs/retrain-pipeline.json
grokking-quick: build
	$(SWIFT) run $(RELEASE) component-attribution --config Configs/component-attribution-quick.json
	$(SWIFT) run $(RELEASE) swap-aligned --config Configs/swap-aligned-quick.json
	$(SWIFT) run $(RELEASE) retrain-pipeline --config Configs/retrain-pipeline-quick.json
