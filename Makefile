# gatepass: `make run` serves on the development default; `make test` runs
# every check on a fresh machine, installing what the tests need.
SHELL := /bin/bash
GO ?= go
BIN := bin/gatepass
PKGS := ./...

.PHONY: all build run dev-stack test unit allocs check lint generate vet deps interop client browser bench fuzz clean help

all: build

help:
	@echo "make run       serve on the embedded development default (APP_ENV=development)"
	@echo "make dev-stack the whole development stack (every transport's server and the example page); one URL to open"
	@echo "make test      generation check, go vet, all Go tests with -race, allocation budgets, interop tests,"
	@echo "               the example page in Chromium;"
	@echo "               lists failed and skipped tests and ends with \"N passed, M failed\""
	@echo "make unit      Go tests with -race over PKGS (default ./...); make allocs, make interop, make client,"
	@echo "               make browser: the other suites"
	@echo "make generate  regenerate Wire and the mocks"
	@echo "make bench     benchmarks: Go benchmarks, HTTP load against the binary, ratios to the machine's limits"
	@echo "make fuzz      run each fuzz target for FUZZTIME (default 60s); their seed corpora run in make test"

build:
	$(GO) build -ldflags "-X main.version=$$(git describe --tags --dirty 2>/dev/null) -X main.commit=$$(git describe --always --dirty --abbrev=40 --exclude="*" 2>/dev/null) -X main.date=$$(date -u +%Y-%m-%dT%H:%M:%SZ)" -o $(BIN) ./cmd/gatepass

run: build
	APP_ENV=$${APP_ENV:-development} HTTP_ADDR=$${HTTP_ADDR:-127.0.0.1:8080} ./$(BIN) serve

# dev-stack: gatepass, livekit-server, Centrifugo, nats-server, the
# office-router Worker and the example page, on loopback; Ctrl-C stops all.
dev-stack:
	@scripts/dev-stack.sh

generate:
	$(GO) tool wire ./bootstrap
	$(GO) generate ./domain/...

# check fails when the checked-in generated code differs from what the
# generators make now (`wire diff`, and mockgen into a temporary file), or
# when a Go file is not gofmt-ed.
check:
	@scripts/check-generated.sh
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './test/node_modules/*')); \
	if [ -n "$$unformatted" ]; then echo "not gofmt-ed (run gofmt -w):" $$unformatted >&2; exit 1; fi

# lint: go vet plus the layer rules of test/architecture (what a depguard
# rule set would enforce).
lint: vet
	$(GO) test -count=1 ./test/architecture/

vet:
	$(GO) vet $(PKGS)
	$(GO) vet -tags bench ./test/bench

deps:
	@scripts/deps.sh

# unit, allocs, interop and browser each write a JUnit file to RESULTS
# (git-ignored): gotestsum for the Go suites, node's junit reporter for
# interop and browser. Run alone, each fails on its own failures. Under
# `make test` they record a failing exit status (RESULTS/SUITE.exit) and go
# on (KEEP_GOING), so a failing suite hides no other; the last step,
# scripts/junittotal.sh, lists each suite's failed and skipped tests, prints
# one line over all suites, "N passed, M failed", and fails the run when
# anything failed or a suite wrote no JUnit file.
RESULTS := .cache/test-results
test: KEEP_GOING := 1
GOTESTSUM = $(GO) tool gotestsum --format pkgname --format-hide-empty-pkg --junitfile $(RESULTS)/$(1).xml --

# $(call suite,NAME,COMMAND) runs a suite's COMMAND after removing what an
# earlier run of NAME left, so a stale file never stands for this run.
define suite
@mkdir -p $(RESULTS) && rm -f $(RESULTS)/$(1).xml $(RESULTS)/$(1).exit
@$(2) || { echo $$? > $(RESULTS)/$(1).exit; [ -n "$(KEEP_GOING)" ]; }
endef

# The suites that start the real binary share the one `make build` makes,
# rather than each test package linking its own (test/kit.Binary).
unit: build
	$(call suite,go,GATEPASS_BIN=$(CURDIR)/$(BIN) $(call GOTESTSUM,go) -race -count=1 $(PKGS))

# allocs: the allocation budgets (testing.AllocsPerRun ceilings, files
# built with !race), in a pass without -race: the race detector makes
# sync.Pool drop items at random. Only the packages that hold such files
# are built again without -race.
ALLOCS_PKGS := $(sort $(patsubst %/,./%,$(dir $(shell grep -rl --include='*_test.go' '^//go:build !race' domain application adapters foundation bootstrap cmd test 2>/dev/null))))
allocs:
	$(call suite,allocs,$(call GOTESTSUM,allocs) -count=1 -run Allocs $(or $(ALLOCS_PKGS),$(PKGS)))

interop: build
	$(call suite,interop,GATEPASS_BIN=$(CURDIR)/$(BIN) INTEROP_JUNIT=$(CURDIR)/$(RESULTS)/interop.xml bash test/interop/run.sh)

# client: the unit tests of @gatepass/client (clients/typescript), built
# first; its tests against the real binary and peers run in interop.
client:
	$(call suite,client,scripts/deps.sh client && (cd clients/typescript && node --test --test-reporter=spec --test-reporter-destination=stdout --test-reporter=junit --test-reporter-destination=$(CURDIR)/$(RESULTS)/client.xml test/*.test.mjs))

# browser: the example page (examples/web) in Debian's Chromium against
# scripts/dev-stack.sh, in a network namespace of its own (root only);
# its screenshots go beside the JUnit files. run.sh's own limit (8 min
# for the test) and this one (with installing) stop a hung browser.
browser: build
	$(call suite,browser,GATEPASS_BIN=$(CURDIR)/$(BIN) BROWSER_JUNIT=$(CURDIR)/$(RESULTS)/browser.xml BROWSER_ARTIFACTS=$(CURDIR)/$(RESULTS) timeout --kill-after=30s 15m bash test/browser/run.sh)

test: check vet deps unit allocs client interop browser
	@scripts/junittotal.sh $(RESULTS) go allocs client interop browser

bench:
	@scripts/bench.sh

FUZZTIME ?= 60s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzBearerToken$$' -fuzztime $(FUZZTIME) ./adapters/ginhttp/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeBody$$' -fuzztime $(FUZZTIME) ./adapters/ginhttp/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeFlat$$' -fuzztime $(FUZZTIME) ./adapters/ginhttp/
	$(GO) test -run '^$$' -fuzz '^FuzzVerifyIdentity$$' -fuzztime $(FUZZTIME) ./adapters/jwksidentity/

clean:
	rm -rf bin
