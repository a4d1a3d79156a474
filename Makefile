# LC2 Backup Controller. `make help` lists the targets.

# Image URL to use all building/pushing image targets
IMG ?= lc2-backup-controller:latest
# The dumper image the dump Jobs run (Dockerfile target dumper).
DUMPER_IMG ?= lc2-dumper:latest
# Kubernetes version of the envtest/local API server (built from the Go module proxy).
ENVTEST_K8S_VERSION ?= 1.37.2
# The Helm chart. helm (lint and the chart tests) is built from the Go module proxy like
# envtest; hack/build-helm.sh pins its version (HELM_VERSION overrides it).
CHART ?= charts/lc2-backup-controller

# Get the currently used golang install path (in GOPATH/bin, unless GOBIN is set)
ifeq (,$(shell go env GOBIN))
GOBIN=$(shell go env GOPATH)/bin
else
GOBIN=$(shell go env GOBIN)
endif

SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec

GO_TEST_FLAGS ?= -p 2 -count=1 -timeout 25m

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Display this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: controller-gen ## Generate the CRD, RBAC and webhook manifests from the API markers, and the chart's CRDs and manager role from them.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="{./api/...,./internal/...}" output:crd:artifacts:config=config/crd/bases
	hack/gen-chart.sh

.PHONY: generate
generate: controller-gen ## Generate DeepCopy methods.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: fmt
fmt: ## Run go fmt against code.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet against code.
	go vet ./...

# --allow-serial-runners: a second run (another make in the same tree) waits for the
# first instead of failing on golangci-lint's lock.
.PHONY: lint
lint: golangci-lint ## Run golangci-lint (.golangci.yml: errcheck, govet, ineffassign, staticcheck, unused; e2e tests included).
	$(GOLANGCI_LINT) run --allow-serial-runners ./...

.PHONY: deadcode
deadcode: deadcode-tool ## Fail on functions nothing reaches, or only tests reach (hack/deadcode.sh; exceptions: hack/deadcode-allowlist.txt).
	DEADCODE="$(DEADCODE)" hack/deadcode.sh

.PHONY: verify
verify: manifests generate ## Fail when generated files (chart included) or go.mod are stale, gofmt is needed, or lint, deadcode or helm-lint find something (run by CI).
	go mod tidy
	@if [ -n "$$(git status --porcelain -- api config charts go.mod go.sum)" ]; then \
		echo "generated files are stale; run 'make manifests generate' and 'go mod tidy', then commit:"; \
		git status --porcelain -- api config charts go.mod go.sum; git --no-pager diff --stat -- api config charts go.mod go.sum; exit 1; fi
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	@echo "generated files are up to date"
	@$(MAKE) --no-print-directory --keep-going lint deadcode helm-lint

.PHONY: helm-lint
helm-lint: helm ## helm lint --strict the chart with its default values and ci/full-values.yaml; fail when its generated CRDs or manager role differ from config/.
	$(HELM) lint --strict $(CHART)
	$(HELM) lint --strict $(CHART) -f $(CHART)/ci/full-values.yaml
	hack/gen-chart.sh --check

.PHONY: test
test: manifests generate fmt vet envtest moto azurite helm ## Run every test (unit, envtest, emulator, PostgreSQL, chart, e2e) on real components started here.
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" MOTO_SERVER="$(MOTO_SERVER)" AZURITE_BLOB="$(AZURITE_BLOB)" HELM="$(HELM)" go test $(GO_TEST_FLAGS) ./... 
	$(MAKE) test-e2e

.PHONY: test-e2e
test-e2e: envtest moto ## Run the end-to-end tests (manager process driven through kubectl).
	@if ls test/e2e/*.go >/dev/null 2>&1; then \
		KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" MOTO_SERVER="$(MOTO_SERVER)" go test -tags e2e -timeout 20m -count=1 ./test/e2e/...; \
	else echo "no e2e tests yet"; fi

##@ Build

.PHONY: build
build: manifests generate fmt vet ## Build the manager binary and the kubectl lc2 plugin.
	go build -o bin/manager cmd/main.go
	$(MAKE) --no-print-directory build-plugin

.PHONY: build-plugin
build-plugin: ## Build the kubectl lc2 plugin (bin/kubectl-lc2; docs/plugin.md).
	go build -o bin/kubectl-lc2 ./cmd/kubectl-lc2

.PHONY: krew-package
krew-package: ## Build the kubectl lc2 archives for krew (linux, darwin, windows x amd64, arm64) into dist/ and dist/plugins/lc2.yaml with their sha256s (VERSION=v0.1.0; docs/plugin.md#install).
	hack/krew-package.sh $(or $(VERSION),v$(shell sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}/\1/p' charts/lc2-backup-controller/Chart.yaml))

.PHONY: install-plugin
install-plugin: build-plugin ## Copy bin/kubectl-lc2 to $(GOBIN), where kubectl finds it as `kubectl lc2` (if it is on PATH).
	mkdir -p $(GOBIN)
	cp bin/kubectl-lc2 $(GOBIN)/kubectl-lc2

.PHONY: run
run: manifests generate fmt vet ## Run the controller from your host against the current kubeconfig.
	go run ./cmd/main.go

.PHONY: docker-build
docker-build: ## Build docker image with the manager (needs a Docker engine).
	docker build -t ${IMG} .

.PHONY: docker-build-dumper
docker-build-dumper: ## Build the dumper image (pg_dump, mariadb-dump and lc2-dump) the dump Jobs run (needs a Docker engine).
	docker build --target dumper -t ${DUMPER_IMG} .

##@ Benchmarks

.PHONY: bench-copy
bench-copy: ## Document-library copy vs s5cmd on versitygw behind a 0/20/50/100 ms proxy, and throttled.
	hack/bench-copy.sh

.PHONY: bench-incremental
bench-incremental: ## Incremental vs Full vs rclone backups, 20,000 objects x 30 nights on versitygw behind a 20 ms proxy (BENCH_ARGS="-objects 2000 -nights 5": quick).
	hack/bench-incremental.sh $(BENCH_ARGS)

.PHONY: bench-reconcile
bench-reconcile: envtest ## 1,000 BackupRequests over 100 projects on envtest with a fake provider.
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" go run ./test/bench/reconcile $(BENCH_ARGS)

.PHONY: bench-dump
bench-dump: ## Our dump into moto vs pg_dump -Fc to tmpfs, peak RSS at two sizes, restore from the bucket vs pg_restore, on a generated PostgreSQL of BENCH_DUMP_GIB GiB (default 2).
	hack/bench-dump.sh

.PHONY: bench-archival
bench-archival: ## Archival lag p50/p99 over 1,000 backups on a real PostgreSQL.
	hack/bench-archival.sh

##@ Dependencies

## Location to install dependencies to
LOCALBIN ?= $(shell pwd)/bin
$(LOCALBIN):
	mkdir -p $(LOCALBIN)

## Tool Versions
CONTROLLER_TOOLS_VERSION ?= v0.23.0
GOLANGCI_LINT_VERSION ?= v2.15.0
# golang.org/x/tools, the module of cmd/deadcode.
DEADCODE_VERSION ?= v0.52.0

## Tool Binaries
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
GOLANGCI_LINT ?= $(LOCALBIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)
DEADCODE ?= $(LOCALBIN)/deadcode-$(DEADCODE_VERSION)

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN) ## Download controller-gen locally if necessary.
$(CONTROLLER_GEN): $(LOCALBIN)
	$(call go-install-tool,$(CONTROLLER_GEN),sigs.k8s.io/controller-tools/cmd/controller-gen,$(CONTROLLER_TOOLS_VERSION))

# golangci-lint and deadcode are built from source by go install of the pinned
# version, like controller-gen, so the local Go toolchain builds them: an analyzer
# must be built with a Go at least as new as the code it loads (go.mod: go 1.26).
.PHONY: golangci-lint
golangci-lint: $(GOLANGCI_LINT) ## Build the pinned golangci-lint locally if necessary.
$(GOLANGCI_LINT): $(LOCALBIN)
	$(call go-install-tool,$(GOLANGCI_LINT),github.com/golangci/golangci-lint/v2/cmd/golangci-lint,$(GOLANGCI_LINT_VERSION))

.PHONY: deadcode-tool
deadcode-tool: $(DEADCODE) ## Build the pinned deadcode (golang.org/x/tools) locally if necessary.
$(DEADCODE): $(LOCALBIN)
	$(call go-install-tool,$(DEADCODE),golang.org/x/tools/cmd/deadcode,$(DEADCODE_VERSION))

.PHONY: envtest
envtest: ## Build kube-apiserver, etcd and kubectl for envtest into the per-user cache (first time ~6 min).
	$(eval ENVTEST_ASSETS := $(shell K8S_VERSION=$(ENVTEST_K8S_VERSION) hack/build-envtest-assets.sh))
	@test -n "$(ENVTEST_ASSETS)" && echo "envtest assets: $(ENVTEST_ASSETS)"

.PHONY: helm
helm: ## Build the pinned helm into the per-user cache (hack/build-helm.sh; first time ~4 min).
	$(eval HELM := $(shell hack/build-helm.sh))
	@test -n "$(HELM)" && echo "helm: $(HELM)"

.PHONY: test-chart
test-chart: envtest helm ## Run the Helm chart tests (render, schema, lint, install/upgrade/uninstall on envtest).
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" HELM="$(HELM)" go test -count=1 ./test/chart/...

.PHONY: moto
moto: ## Install the pinned moto server (AWS emulator) into .venv/moto.
	$(eval MOTO_SERVER := $(shell hack/setup-moto.sh))
	@test -n "$(MOTO_SERVER)" && echo "moto server: $(MOTO_SERVER)"

.PHONY: azurite
azurite: ## Install the pinned Azurite (Azure Storage emulator, npm) into .cache/azurite.
	$(eval AZURITE_BLOB := $(shell hack/setup-azurite.sh))
	@test -n "$(AZURITE_BLOB)" && echo "azurite blob: $(AZURITE_BLOB)"

# go-install-tool will 'go install' any package with custom target and name of binary, if it doesn't exist
# $1 - target path with name of binary (ideally with version)
# $2 - package url which can be installed
# $3 - specific version of package
define go-install-tool
@[ -f $(1) ] || { \
set -e; \
package=$(2)@$(3) ;\
echo "Downloading $${package}" ;\
GOBIN=$(LOCALBIN) go install $${package} ;\
mv "$$(echo "$(1)" | sed "s/-$(3)$$//")" $(1) ;\
}
endef

##@ Deployment

.PHONY: install
install: manifests ## Install the CRDs into the cluster of the current kubeconfig.
	kubectl apply --server-side -f config/crd/bases

.PHONY: uninstall
uninstall: manifests ## Remove the CRDs from the cluster of the current kubeconfig.
	kubectl delete --ignore-not-found -f config/crd/bases

.PHONY: deploy
deploy: manifests ## Deploy the controller (config/default) to the cluster of the current kubeconfig.
	kubectl apply --server-side -k config/default

.PHONY: undeploy
undeploy: ## Remove the controller deployed by `make deploy`.
	kubectl delete --ignore-not-found -k config/default

##@ Local environment

# State, logs and the kubeconfig of the local environment live under tmp/local/
# (docs/local-development.md). hack/local-env.sh does the work.

.PHONY: local-up
local-up: ## Start kube-apiserver+etcd, PostgreSQL and the AWS emulator (no Docker), seeded; writes tmp/local/env. PROVIDER=gcp|azure|local also starts that store's emulator, seeded (tmp/local/store.env).
	hack/local-env.sh up
	@if [ -n "$(PROVIDER)" ] && [ "$(PROVIDER)" != aws ]; then hack/store-env.sh $(PROVIDER); fi

.PHONY: local-down
local-down: ## Stop the local environment and the demo controller, keep the data.
	hack/local-env.sh down

.PHONY: local-clean
local-clean: ## Stop the local environment and remove tmp/local (etcd, PostgreSQL data, logs).
	hack/local-env.sh clean

.PHONY: local-status
local-status: ## Say what of the local environment runs where.
	hack/local-env.sh status

.PHONY: local-logs
local-logs: ## Follow the local environment's logs (FOLLOW=0 prints the last lines).
	hack/local-env.sh logs

.PHONY: local-run
local-run: ## Run the controller (go run ./cmd) against the local environment.
	hack/local-env.sh run $(RUN_ARGS)

.PHONY: db-shell
db-shell: ## psql on the local backup history database.
	hack/local-env.sh db-shell

.PHONY: aws-local
aws-local: ## Print the exports pointing AWS SDKs and the CLI at the local emulator (eval the output).
	@hack/local-env.sh aws

.PHONY: demo
demo: ## One command: local-up, start the controller, back up the sample, show BackupRequest, manifest, history row. PROVIDER=gcp|azure|local: back up, restore and verify the sample on that store's emulator instead.
	@if [ -n "$(PROVIDER)" ] && [ "$(PROVIDER)" != aws ]; then PROVIDER=$(PROVIDER) hack/demo-store.sh; else hack/demo.sh; fi

.PHONY: demo-dump
demo-dump: ## make demo, then back up a local Liferay-shaped PostgreSQL database as a dump (the dumper as the controller's child process) and restore it into an empty database, every table compared.
	hack/demo-dump.sh

.PHONY: demo-restore
demo-restore: ## make demo, then delete two files, restore them (existingObjects: Skip), verify the backup (verifyOnly), show the history rows.
	hack/demo-restore.sh

.PHONY: compose-check
compose-check: ## Check docker-compose.yml and the LocalStack init script (YAML and shell syntax; no Docker needed).
	hack/local-compose-check.sh
