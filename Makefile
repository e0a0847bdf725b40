# dozor: face-recognition edge appliance.
#   make deps     install the Debian packages (apt) that are missing
#   make models   link the model files from $(SHARED)/models and verify them
#   make demo     a whole facility on this machine: broker, simulated camera, edged, live sightings
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
PURE := ./recognizer/ ./recognizer/gallery/ ./recognizer/eval/ ./recognizer/track/ ./models/ ./internal/progress/ \
        ./edge/config/ ./edge/rules/ ./sync/wire/ ./sync/uplink/ \
        ./camera/ ./camera/simcam/ ./hw/

.PHONY: all build deps models demo test vet test-pure test-matprofile fuzz eval bench clean

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

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }

test-pure:
	CGO_ENABLED=0 $(GO) vet $(PURE)
	CGO_ENABLED=0 $(GO) test -count=1 $(PURE)

# gocv counts live Mats under this tag; the test binary fails unless the
# count is zero at the end.
test-matprofile:
	$(GO) test -count=1 -tags matprofile ./recognizer/opencv/

test: deps models vet test-pure
	$(GO) test -count=1 -timeout 30m ./...
	$(MAKE) test-matprofile

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParsePairs -fuzztime 30s ./recognizer/eval/
	$(GO) test -run '^$$' -fuzz FuzzParseList -fuzztime 30s ./recognizer/eval/
	$(GO) test -run '^$$' -fuzz FuzzDecodeImage -fuzztime 30s ./recognizer/opencv/
	$(GO) test -run '^$$' -fuzz FuzzSearch -fuzztime 30s ./recognizer/gallery/
	$(GO) test -run '^$$' -fuzz FuzzUpdate -fuzztime 30s ./recognizer/track/
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./edge/config/
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./edge/rules/
	$(GO) test -run '^$$' -fuzz FuzzParseWindow -fuzztime 30s ./edge/rules/
	$(GO) test -run '^$$' -fuzz FuzzParseParams -fuzztime 30s ./edge/rules/
	$(GO) test -run '^$$' -fuzz FuzzRuleParams -fuzztime 30s ./edge/store/
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 30s ./sync/wire/
	$(GO) test -run '^$$' -fuzz FuzzDepacketizeDecode -fuzztime 30s ./camera/avcodec/
	$(GO) test -run '^$$' -fuzz FuzzParseCSV -fuzztime 30s ./edge/enroll/
	$(GO) test -run '^$$' -fuzz FuzzParseTopic -fuzztime 30s ./sync/wire/

eval: build
	./$(BIN)/edgectl eval table --dataset $(SHARED)/testdata/lfw-dev --dataset $(SHARED)/testdata/celeba-dev --dataset $(SHARED)/testdata/cfp-dev --plot-dir var

bench: build
	./$(BIN)/edgectl bench

clean:
	rm -rf $(BIN)
