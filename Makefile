# fleetc — see README.md. Every target works on a fresh machine with Go 1.26.
GO          ?= go
BIN         := bin/fleetc
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
DEMO_OUT    ?= out
# The demo's clock: a Tuesday 03:00 in Chicago, inside most stores' windows
# and two days before the Thanksgiving freeze. `make demo DEMO_NOW=` uses
# the current time instead.
DEMO_NOW    ?= 2026-11-24T09:00:00Z

.PHONY: build demo test test-short policy-test lint bench bench-collector e2e golden fuzz clean

build:
	$(GO) build -buildvcs=true -o $(BIN) ./compiler/cmd/fleetc

# Compile the sample fleet in this repo into ./out and print the plan: first
# without approvals (what needs sign-off from whom), then with the approvals
# in docs/examples/approvals.json (legal, ops, franchise-relations, platform)
# — a first rollout reaches the lab ring only — then the next night's plan
# on the lab stores' feedback, which opens canary (docs/rollout.md).
demo: build
	$(BIN) validate
	$(BIN) plan --out $(DEMO_OUT) --now "$(DEMO_NOW)"
	$(BIN) compile --out $(DEMO_OUT) --now "$(DEMO_NOW)" --approvals docs/examples/approvals.json --commit 4f1c2a9e8b7d6c5e4f3a2b1c0d9e8f7a6b5c4d3e
	@echo "== the next night, with the lab stores' feedback (docs/examples/feedback-sample.json): the rollout opens canary"
	$(BIN) plan --out $(DEMO_OUT) --now 2026-11-25T09:00:00Z --approvals docs/examples/approvals.json --commit 4f1c2a9e8b7d6c5e4f3a2b1c0d9e8f7a6b5c4d3e --feedback docs/examples/feedback-sample.json

# The whole test suite: Go tests with the race detector (testscript
# scenarios, golden deploy tree, fuzz seeds) and the Rego unit tests. At the
# end it names every suite skipped for something this machine lacks, with
# the command that enables it (scripts/skipped.sh).
SKIPPED := bin/skipped-suites.txt
test: build
	@rm -f $(SKIPPED)
	FLEETC_SKIPPED_FILE=$(CURDIR)/$(SKIPPED) $(GO) test -race -count=1 ./...
	$(BIN) policy test
	@scripts/skipped.sh $(SKIPPED)

# End to end on real components (docs/e2e.md): three store clusters, each
# etcd + kube-apiserver + Flux's source-, kustomize- and helm-controllers,
# reconcile what fleetc compiled and published to a git server on loopback.
# scripts/kube.sh builds the components once into a version-stamped cache
# (~16 minutes cold on 2 cores); the suite then takes about 2 minutes.
e2e:
	@kube="$$(scripts/kube.sh | tail -n 1)" && \
	FLEETC_KUBE="$$kube" $(GO) test -tags e2e -count=1 -v -timeout 20m ./compiler/e2e/

test-short:
	$(GO) test -count=1 ./...

policy-test: build
	$(BIN) policy test

# Regenerate golden files (deploy tree of the sample fleet, testscript cmp
# files). CI fails when this would change anything.
GOLDEN_PKGS := ./compiler ./compiler/internal/cli ./compiler/internal/load ./compiler/internal/publish
golden:
	$(GO) test $(GOLDEN_PKGS) -count=1 -update
	FLEETC_UPDATE_GOLDEN=1 $(GO) test ./compiler/internal/forge/github -count=1 -run TestPublishSampleToGitHub

lint:
	@test -z "$$(gofmt -l compiler agent schemas policies 2>/dev/null)" || { gofmt -l compiler agent schemas policies; echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags e2e ./compiler/e2e/
	$(GO) run $(STATICCHECK) ./...
	$(GO) run $(STATICCHECK) -tags e2e ./compiler/e2e/
	$(GO) mod tidy -diff

# Benchmarks at 2,000, 10,000 and 60,000 stores × 20 apps — compile, plan,
# explain, publish to a loopback git server — with the naive anchors
# measured in the same run (docs/perf.md). ~30 minutes on 2 cores.
BENCH_SIZES ?= 2000,10000,60000
bench:
	$(GO) run ./compiler/cmd/fleetc-bench -sizes $(BENCH_SIZES) -runs 3 -out docs/perf-latest.md

# Load of the feedback collector (docs/perf.md, "Feedback collector load"):
# 60,000 stores reporting once a minute (1,000 signed reports/s) for 60 s on
# SQLite and on PostgreSQL, one kill -9 each; ~3 minutes on 2 cores.
# Exits 1 if an acknowledged report is missing from the database.
bench-collector: build
	$(GO) run ./compiler/cmd/fleetc-collector-bench -fleetc $(BIN) -stores 60000 -duration 60s -out docs/perf-collector-latest.md

# Every fuzz target for FUZZTIME each (docs/reliability.md, "Fuzzing").
FUZZTIME ?= 10s
fuzz:
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

clean:
	rm -rf bin $(DEMO_OUT)
