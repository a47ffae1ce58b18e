# Skiff — the two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
DATA_DIR ?= /var/lib/skiff
HTTP ?= 127.0.0.1:8080
API ?= 127.0.0.1:7070
RUN_CONFIG ?= release
BIN_DIR := .build/$(RUN_CONFIG)
SAMPLE_DIR ?= .build/images/hello

# System tools Skiff runs (runc, CNI plugins, iptables) and the ones tests use to build
# images offline (umoci, skopeo, busybox-static). Installed only when missing.
APT_PACKAGES := runc containernetworking-plugins iptables iproute2 umoci skopeo busybox-static \
	libsqlite3-dev file curl wrk docker-registry podman python3-cryptography prometheus python3-yaml python3-jsonschema \
	python3-websockets python3-grpcio python3-h2 nghttp2-client
BENCH_PACKAGES := nginx-light hyperfine haproxy caddy

.PHONY: all deps build run stop lint test bench clean sample-image

all: build

deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

build: deps
	swift build -c $(RUN_CONFIG) --product skiff

sample-image: deps
	rm -rf $(SAMPLE_DIR) && mkdir -p $(dir $(SAMPLE_DIR))
	images/hello/build.sh $(SAMPLE_DIR) v1 >/dev/null

# Starts `skiff server` in the background, loads and deploys the sample image, prints its URL.
run: build sample-image
	ln -sf $(CURDIR)/$(BIN_DIR)/skiff /usr/local/bin/skiff
	@scripts/run-server.sh "$(BIN_DIR)/skiff" "$(DATA_DIR)" "$(HTTP)" "$(API)"
	$(BIN_DIR)/skiff images load $(SAMPLE_DIR):v1 --tag hello:v1
	$(BIN_DIR)/skiff deploy hello --image hello:v1
	@echo; echo "Try: curl http://hello.localhost:$(lastword $(subst :, ,$(HTTP)))/"; \
	echo "Server log: $(DATA_DIR)/server.log; stop it with: make stop"

# SIGINT stops the platform for good: every instance drains and stops with the server.
# (SIGTERM, as systemd sends on a restart, leaves the instances for the next start to adopt.)
stop:
	@if [ -f $(DATA_DIR)/server.pid ]; then kill -INT $$(cat $(DATA_DIR)/server.pid) 2>/dev/null || true; \
		while kill -0 $$(cat $(DATA_DIR)/server.pid) 2>/dev/null; do sleep 0.2; done; rm -f $(DATA_DIR)/server.pid; \
		echo "skiff server stopped"; else echo "no server pid file in $(DATA_DIR)"; fi

# The style of .swift-format, checked by the toolchain's `swift format`; any finding fails.
# `swift format format -i -r Sources Tests Package.swift` rewrites the files to match.
lint:
	swift format lint --strict --parallel -r Sources Tests Package.swift

# Lint, unit tests and end-to-end tests with real runc containers; in CI a skipped e2e test fails.
test: deps lint
	swift build --build-tests
	SKIFF_E2E=$${SKIFF_E2E:-required} swift test --skip-build

bench: deps
	@missing=$$(for p in $(BENCH_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi
	swift build -c release --product skiff
	bench/gateway/run.sh
	bench/registry/run.sh
	bench/coldstart/run.sh
	bench/burst/run.sh
	bench/restart/run.sh

clean:
	rm -rf .build
