# vigil: build, run, test and regenerate.
#
# The eBPF objects and their Go bindings are generated with bpf2go and
# committed, so `go build` and `go test` need no clang. `make generate`
# rebuilds them with the pinned toolchain (Debian 12's clang 14); CI checks
# that the committed files are what it produces.

GO        ?= go
BPF_CLANG ?= clang-14
BPF_STRIP ?= llvm-strip-14
BPF_CFLAGS ?= -O2 -g -Wall -Werror -mcpu=v3

BIN       := bin/vigil
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# tools built from the Go module proxy, pinned, cached outside the tree
TOOLS_BIN ?= $(HOME)/.cache/vigil-tools/bin
HELM_VERSION := v4.3.2
HELM := $(TOOLS_BIN)/helm-$(HELM_VERSION)

.PHONY: all build run test k8s e2e-k8s generate vmlinux vet lint verify verify-baseline bench detect detect-container detect-benign clean image image-check static deb deb-check manifests helm-lint

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/vigil

# Runs the agent as root with its embedded defaults, printing what it sees:
# every event and every alert (ARGS replaces that, e.g. ARGS=--events=alerts).
ARGS ?= --events all
run: build
	$(SUDO) $(BIN) run $(ARGS)

# The whole suite, kernel tests included (they need root: run as root, or
# they skip with the reason; under CI=true they fail instead).
# scripts/test-deps.sh checks (under CI=true: installs) what they need.
test: $(HELM)
	@scripts/test-deps.sh
	$(GO) test -count=1 -timeout 30m ./...

# The Kubernetes lab (internal/testenv/kubelab, scripts/k8s): etcd,
# kube-apiserver, kubectl, kubelet, controller manager and scheduler built
# from the Go module proxy into $(VIGIL_K8S_CACHE) (default
# ~/.cache/vigil-k8s), once: 12-15 minutes cold on 2 idle cores (an hour
# under heavy load), nothing after.
k8s:
	scripts/k8s/build.sh

# Only the tests that run a Kubernetes lab: every package whose tests import
# internal/testenv/kubelab, and that package itself.
K8S_TEST_PKGS = $(shell $(GO) list -f '{{.ImportPath}} {{join .TestImports " "}} {{join .XTestImports " "}}' ./... | \
	awk '/internal\/testenv\/kubelab( |$$)/ {print $$1}')
e2e-k8s: k8s $(HELM)
	@scripts/test-deps.sh
	$(GO) test -count=1 -timeout 30m $(K8S_TEST_PKGS)

generate:
	BPF2GO_CC=$(BPF_CLANG) BPF2GO_STRIP=$(BPF_STRIP) BPF2GO_CFLAGS='$(BPF_CFLAGS)' \
		$(GO) generate ./...

# bpf/include/vmlinux.h is a committed snapshot of this kernel's BTF; CO-RE
# relocates field accesses on other kernels. Regenerate it deliberately.
vmlinux:
	bpftool btf dump file /sys/kernel/btf/vmlinux format c > bpf/include/vmlinux.h

vet:
	$(GO) vet ./...

# The verifier gate (docs/kernel-integrity.md): every object vigil ships
# (the committed *_bpfel.o; test fixtures, some rejected on purpose, aside)
# goes through this kernel's verifier, program by program, and a program
# whose instructions processed grow by more than VERIFY_MAX_GROWTH percent
# over the committed baseline fails. VERIFY_FLAGS adds flags, e.g.
# VERIFY_FLAGS='--format junit' for a CI test report. After an accepted
# change, `make verify-baseline` records the new counts (commit the file).
VERIFY_OBJECTS = $(shell git ls-files '*_bpfel.o' | grep -v /testdata/)
VERIFY_BASELINE ?= bpf/verifier-baseline.json
VERIFY_MAX_GROWTH ?= 5
VERIFY_FLAGS ?=

verify: build
	$(SUDO) $(BIN) verify --baseline $(VERIFY_BASELINE) --max-growth $(VERIFY_MAX_GROWTH) $(VERIFY_FLAGS) $(VERIFY_OBJECTS)

verify-baseline: build
	$(SUDO) $(BIN) verify --baseline $(VERIFY_BASELINE) --write-baseline $(VERIFY_OBJECTS)

# golangci-lint at a pinned version, installed from the Go module proxy
# into a cache outside the tree on first use; .golangci.yml says what runs.
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := $(TOOLS_BIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)

lint: $(GOLANGCI_LINT)
	$(GOLANGCI_LINT) run ./...

$(GOLANGCI_LINT):
	mkdir -p $(TOOLS_BIN)
	GOBIN=$(TOOLS_BIN) GOFLAGS= $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv $(TOOLS_BIN)/golangci-lint $@

# The container image: the static binary (no cgo, -trimpath, no build id,
# so two builds of one commit are the same bytes) in a one-layer image with
# every date at the commit's time, written as a docker-archive tarball by
# tools/image (go-containerregistry; no registry, no container engine).
# Load it with `ctr -n k8s.io image import bin/vigil-image.tar`.
IMAGE     ?= vigil:dev
IMAGE_TAR := bin/vigil-image.tar
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
STATIC_BIN := bin/vigil-static

static:
	CGO_ENABLED=0 GOFLAGS=-buildvcs=false $(GO) build -trimpath -ldflags '-s -w -buildid= $(LDFLAGS)' -o $(STATIC_BIN) ./cmd/vigil

# Debian's CA bundle (package ca-certificates), for https outputs; none
# when the file is missing.
CA_BUNDLE ?= $(wildcard /etc/ssl/certs/ca-certificates.crt)

image: static
	cd tools && GOFLAGS=-buildvcs=false $(GO) run ./image -binary ../$(STATIC_BIN) -tag $(IMAGE) \
		-version $(VERSION) -epoch $(SOURCE_DATE_EPOCH) -arch $$($(GO) env GOARCH) -o ../$(IMAGE_TAR) \
		$(if $(CA_BUNDLE),-ca-bundle $(CA_BUNDLE))

# Builds the image twice from scratch and checks the bytes are the same;
# imports it into containerd when a socket is there (scripts/check-image.sh).
image-check:
	scripts/check-image.sh

# The Debian package (nfpm, built from the Go module proxy): the static
# binary as /usr/bin/vigil, the systemd unit, /etc/vigil (config.yaml,
# rules.d, policies.d) and a logrotate config; deploy/deb/nfpm.yaml.
NFPM_VERSION := v2.48.0
NFPM := $(TOOLS_BIN)/nfpm-$(NFPM_VERSION)
DEB_VERSION ?= 0.1.0~$(subst -,.,$(VERSION))

deb: static $(NFPM)
	VERSION='$(DEB_VERSION)' GOARCH=$$($(GO) env GOARCH) \
		SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) \
		$(NFPM) package -f deploy/deb/nfpm.yaml -p deb -t bin/vigil.deb

# Installs bin/vigil.deb, runs vigil probe and a short vigil run from
# /usr/bin/vigil, checks the unit, and removes the package (root).
deb-check: deb
	scripts/check-deb.sh bin/vigil.deb

$(NFPM):
	mkdir -p $(TOOLS_BIN)
	GOBIN=$(TOOLS_BIN) GOFLAGS= $(GO) install github.com/goreleaser/nfpm/v2/cmd/nfpm@$(NFPM_VERSION)
	mv $(TOOLS_BIN)/nfpm $@

# The Helm chart (deploy/helm/vigil) and the plain manifests rendered from
# it with the default values (deploy/manifests/vigil.yaml, for kubectl
# users; CI checks they are current). helm is built from the Go module
# proxy into the tools cache.
CHART := deploy/helm/vigil

manifests: $(HELM)
	cp deploy/grafana/vigil-dashboard.json deploy/grafana/vigil-performance-dashboard.json $(CHART)/dashboards/
	cp deploy/prometheus/vigil-performance-rules.yaml $(CHART)/prometheus/
	mkdir -p deploy/manifests
	{ echo '# Generated by `make manifests` (helm template of deploy/helm/vigil, default values): do not edit.'; \
	  echo '# kubectl create namespace vigil && kubectl apply -n vigil -f deploy/manifests/vigil.yaml'; \
	  $(HELM) template vigil $(CHART) --namespace vigil; } > deploy/manifests/vigil.yaml

# helm lint, then every rendering (the defaults, and every option on) is
# validated offline against the Kubernetes API's Go types by
# tools/manifestcheck (strict decoding: unknown fields, wrong types and
# unknown kinds are errors; plus selectors, volumes, probe ports, and
# Bidirectional propagation only when privileged). The chart's Prometheus
# rules are parsed by Prometheus's own rule and PromQL parsers
# (tools/rulecheck).
helm-lint: $(HELM)
	$(HELM) lint --strict $(CHART)
	mkdir -p bin
	$(HELM) template vigil $(CHART) --namespace vigil > bin/render-default.yaml
	$(HELM) template vigil $(CHART) --namespace vigil --set privileged=false \
		--set metrics.serviceMonitor.enabled=true --set metrics.prometheusRule.enabled=true \
		--set outputs.falcosidekick.enabled=true \
		--set outputs.syslog.enabled=true --set-string 'rules.files.team\.yaml=- list: x' \
		--set kubernetes.apiServer.host=127.0.0.1 --set-string kubernetes.apiServer.port=6443 \
		--set-string podAnnotations.example=yes \
		--set-string 'policies.files.p\.yaml=name: p' > bin/render-all.yaml
	cd tools && GOFLAGS=-buildvcs=false $(GO) run ./manifestcheck -allow monitoring.coreos.com/v1/ServiceMonitor \
		-allow monitoring.coreos.com/v1/PrometheusRule \
		../bin/render-default.yaml ../bin/render-all.yaml ../deploy/manifests/vigil.yaml
	cd tools && GOFLAGS=-buildvcs=false $(GO) run ./rulecheck ../$(CHART)/prometheus/vigil-performance-rules.yaml

$(HELM):
	mkdir -p $(TOOLS_BIN)
	GOBIN=$(TOOLS_BIN) GOFLAGS= $(GO) install helm.sh/helm/v4/cmd/helm@$(HELM_VERSION)
	mv $(TOOLS_BIN)/helm $@

bench: build
	$(GO) build -o bin/bench-exec ./bench/exec
	$(SUDO) bin/bench-exec -vigil $(BIN)

# Detection coverage (docs/detection.md): Falco's event-generator syscall
# actions, one at a time in a throwaway sandbox, under the agent with the
# default pack; per action the rules that fired, and a total. Needs root and
# ../shared/tools/build-event-generator.sh (or EVENT_GENERATOR=path).
detect: build
	$(SUDO) tools/detect/detect.sh

# The same actions, each as process 1 of a container of a private containerd
# and runc (the container-only ones run there); needs containerd, runc and
# busybox-static.
detect-container: build
	$(SUDO) env DETECT_CONTAINER=1 tools/detect/detect.sh

# Alerts of the default pack on ordinary work (tools/detect/benign.sh), by
# severity; the goal is no high or critical one. Needs root and apt's mirror.
detect-benign: build
	$(SUDO) tools/detect/benign.sh

clean:
	rm -rf bin
