# explaind-swift — see README.md.
# A newcomer needs two commands: `make reproduce-quick` (the main job) and `make test` (the test suite).
# Both install any missing Debian packages first (`make setup`).

SWIFT        ?= swift
DEB_PACKAGES := libopenblas-dev libhdf5-dev libpng-dev libcairo2-dev zlib1g-dev pkg-config fonts-dejavu-core python3-h5py python3-numpy
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
RELEASE      := -c release -Xswiftc -enable-testing

.PHONY: setup build test bench gallery clean data

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

## Benchmarks (numbers go into the README; never timed in tests).
bench: build
	$(SWIFT) run $(RELEASE) bench

## Download MNIST and CIFAR-10 into data/ and verify their checksums (needs internet; see scripts/fetch-data.sh).
data:
	bash scripts/fetch-data.sh data

## Every figure kind of the Plot module from synthetic data, into results/gallery (PNG, plus one PDF and SVG).
gallery: setup
	$(SWIFT) run $(RELEASE) gallery results/gallery

clean:
	rm -rf .build

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
