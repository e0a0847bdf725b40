# dozor: face-recognition edge appliance.
#   make deps     install the Debian packages (apt) that are missing
#   make models   link the model files from $(SHARED)/models and verify them
#   make demo     a whole facility on this machine: broker, simulated camera, edged, its guard-post monitor
#   make demo-region  a region on this machine: regiond with its embedded NATS, two simulated facilities
#   make test     the whole test suite (what CI runs)
#   make eval     accuracy table on the development sets
#   make bench    per-stage speed on this box

SHARED     ?= $(abspath ../shared)
MODELS_DIR ?= $(abspath var/models)
GO         ?= go
BIN        := bin

export DOZOR_SHARED := $(SHARED)
export DOZOR_MODELS := $(MODELS_DIR)

# Packages without cgo: they must build and test with CGO_ENABLED=0.
PURE := ./recognizer/ ./recognizer/gallery/ ./recognizer/eval/ ./recognizer/track/ ./models/ \
        ./edge/ ./edge/config/ ./edge/custody/ ./edge/rules/ ./sync/wire/ ./sync/uplink/ \
        ./camera/ ./camera/simcam/ ./camera/live/ ./hw/ ./internal/backoff/ ./internal/stats/ \
        ./edge/monitor/ ./internal/webauth/ ./edge/monitor/web/ ./internal/webui/ \
        ./region/ ./region/broker/ ./region/config/ ./internal/pgtest/ ./internal/yamlconf/ ./internal/daemon/

.PHONY: all build deps models demo demo-region test vet test-pure test-matprofile fuzz eval bench clean deb check-deb

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

deps:
	./scripts/deps.sh

models: build
	./$(BIN)/edgectl models install --from $(SHARED)/models --to $(MODELS_DIR) --link
	./$(BIN)/edgectl models verify --dir $(MODELS_DIR)

demo: deps models
	SHARED=$(SHARED) ./scripts/demo.sh

demo-region: deps models
	SHARED=$(SHARED) ./scripts/demo-region.sh

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }

test-pure:
	CGO_ENABLED=0 $(GO) vet $(PURE)
	CGO_ENABLED=0 $(GO) test -count=1 $(PURE)

# gocv counts live Mats under this tag; the test binary fails unless the
# count is zero at the end.
test-matprofile:
	$(GO) test -count=1 -tags matprofile ./recognizer/opencv/ ./internal/engines/features/

# The whole suite: the amd64 tests, then the same recognizer and store
# tests as arm64 binaries under qemu (docs/arm64.md).
test: deps models vet test-pure
	$(GO) test -count=1 -timeout 30m ./...
	$(MAKE) test-matprofile
	$(MAKE) test-arm64

# Each fuzz target by its exact name (a bare prefix would match several);
# FUZZTIME=5s for a quick pass.
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParsePairs$$' -fuzztime $(FUZZTIME) ./recognizer/eval/
	$(GO) test -run '^$$' -fuzz '^FuzzParseList$$' -fuzztime $(FUZZTIME) ./recognizer/eval/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeImage$$' -fuzztime $(FUZZTIME) ./recognizer/opencv/
	$(GO) test -run '^$$' -fuzz '^FuzzSearch$$' -fuzztime $(FUZZTIME) ./recognizer/gallery/
	$(GO) test -run '^$$' -fuzz '^FuzzUpdate$$' -fuzztime $(FUZZTIME) ./recognizer/track/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./edge/config/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./edge/rules/
	$(GO) test -run '^$$' -fuzz '^FuzzParseWindow$$' -fuzztime $(FUZZTIME) ./edge/custody/
	$(GO) test -run '^$$' -fuzz '^FuzzParseParams$$' -fuzztime $(FUZZTIME) ./edge/custody/
	$(GO) test -run '^$$' -fuzz '^FuzzRuleParams$$' -fuzztime $(FUZZTIME) ./edge/store/
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./sync/wire/
	$(GO) test -run '^$$' -fuzz '^FuzzDepacketizeDecode$$' -fuzztime $(FUZZTIME) ./camera/avcodec/
	$(GO) test -run '^$$' -fuzz '^FuzzParseCSV$$' -fuzztime $(FUZZTIME) ./edge/enroll/
	$(GO) test -run '^$$' -fuzz '^FuzzParseTopic$$' -fuzztime $(FUZZTIME) ./sync/wire/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeHWTestPing$$' -fuzztime $(FUZZTIME) ./sync/wire/
	$(GO) test -run '^$$' -fuzz '^FuzzParseCPUInfo$$' -fuzztime $(FUZZTIME) ./hw/
	$(GO) test -run '^$$' -fuzz '^FuzzHubWriteAccessUnit$$' -fuzztime $(FUZZTIME) ./camera/live/
	$(GO) test -run '^$$' -fuzz '^FuzzParseHash$$' -fuzztime $(FUZZTIME) ./internal/webauth/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeResendRequest$$' -fuzztime $(FUZZTIME) ./sync/wire/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./region/config/
	$(GO) test -run '^$$' -fuzz '^FuzzParseSites$$' -fuzztime $(FUZZTIME) ./region/config/
	$(GO) test -run '^$$' -fuzz '^FuzzDashboardQuery$$' -fuzztime $(FUZZTIME) ./region/dashboard/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeJSON$$' -fuzztime $(FUZZTIME) ./edge/monitor/
	$(GO) test -run '^$$' -fuzz '^FuzzCheckImage$$' -fuzztime $(FUZZTIME) ./edge/monitor/
	$(GO) test -run '^$$' -fuzz '^FuzzReadUploads$$' -fuzztime $(FUZZTIME) ./edge/monitor/
	$(GO) test -run '^$$' -fuzz '^FuzzSightingQuery$$' -fuzztime $(FUZZTIME) ./edge/monitor/
	$(GO) test -run '^$$' -fuzz '^FuzzAuditQuery$$' -fuzztime $(FUZZTIME) ./edge/monitor/
	$(GO) test -run '^$$' -fuzz '^FuzzAlertQuery$$' -fuzztime $(FUZZTIME) ./edge/monitor/

eval: build
	./$(BIN)/edgectl eval table --dataset $(SHARED)/testdata/lfw-dev --dataset $(SHARED)/testdata/celeba-dev --dataset $(SHARED)/testdata/cfp-dev --plot-dir var

bench: build
	./$(BIN)/edgectl bench

clean:
	rm -rf $(BIN)

# linux/arm64 on this amd64 machine (docs/arm64.md): an arm64 Debian 12
# sysroot in var/arm64 (made once), Debian's aarch64 cross toolchain, and
# the arm64 tests run under qemu-aarch64-static.
#   make arm64               bin/linux-arm64/edged and edgectl
#   make test-arm64          arm64 test binaries of the recognizer, store and
#                            config packages run under qemu; a smoke run of
#                            the arm64 edgectl and edged; the runtime check
#   make check-arm64-runtime the Dockerfile.arm64 runtime packages cover the
#                            shared objects the binaries need
ARM64_BIN := $(BIN)/linux-arm64

.PHONY: arm64 test-arm64 arm64-deps arm64-sysroot check-arm64-runtime

arm64-deps:
	./scripts/arm64/deps.sh

arm64-sysroot: arm64-deps
	./scripts/arm64/sysroot.sh

arm64: arm64-sysroot
	./scripts/arm64/build.sh $(ARM64_BIN)

check-arm64-runtime: arm64
	./scripts/arm64/check-runtime.sh -v $(ARM64_BIN)

test-arm64: arm64
	./scripts/arm64/test.sh $(ARM64_BIN)
	./scripts/arm64/check-runtime.sh $(ARM64_BIN)

# Debian packages (packaging/deb): bin/dozor-edge_<version>_<arch>.deb with
# edged, edgectl, the hardened unit dozor-edged.service and the commented
# /etc/dozor/edged.yaml; Depends derived by dpkg-shlibdeps. The arm64 one is
# built by the cross build above. VERSION= overrides git describe.
#   make deb                  both architectures (DEB_ARCH=amd64 for one)
#   make check-deb            install the amd64 one in a fresh Debian 12 root,
#                             boot it and run the unit there, lintian, list
#                             the arm64 one (packaging/deb/check.sh)
DEB_ARCH ?= amd64 arm64

deb: deps $(if $(filter arm64,$(DEB_ARCH)),arm64-sysroot)
	for a in $(DEB_ARCH); do ./packaging/deb/build.sh $$a $(BIN) || exit 1; done

check-deb: deb
	./packaging/deb/check.sh $(BIN)
