# Entry point for building, testing and the demo. Run "make test" for the
# full suite: unit tests and integration tests against an isolated pcscd
# with a virtual SmartCard-HSM (see sc-hsm/teststack).

SHELL := /bin/bash

# Go may be installed in /usr/local/go without being on PATH (CI shells).
ifneq ($(wildcard /usr/local/go/bin/go),)
export PATH := /usr/local/go/bin:$(PATH)
endif

GO ?= go
BINARY := bin/sc-hsm-init
TEST_TIMEOUT ?= 30m
FUZZTIME ?= 10s

.PHONY: build deps test bench demo fuzz clean

build:
	$(GO) build -o $(BINARY) ./cmd/sc-hsm-init

deps:
	scripts/install-deps.sh

# SCHSM_REQUIRE_STACK=1 makes integration tests fail instead of skip when
# pcscd, unshare, vpcd or OpenSC are missing.
test: deps
	SCHSM_REQUIRE_STACK=1 $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

# The DKEK benchmarks need the virtual card stack and take a few minutes,
# so "make test" leaves them out. See docs/benchmarks.md.
bench: deps
	scripts/bench-dkek.sh

demo: deps build
	scripts/demo.sh

# Runs every fuzz target for FUZZTIME. go test accepts one -fuzz target per
# package and run, hence the loop.
fuzz:
	@set -euo pipefail; \
	for pkg in $$($(GO) list ./...); do \
		for target in $$($(GO) test -list '^Fuzz' "$$pkg" | grep '^Fuzz' || true); do \
			echo "fuzzing $$pkg $$target for $(FUZZTIME)"; \
			$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) "$$pkg"; \
		done; \
	done

clean:
	rm -rf bin
