GO ?= go
export PATH := $(shell $(GO) env GOPATH)/bin:$(PATH)

.PHONY: test test-race dev build proto bench fmt

# The whole suite: vet, every test, then -race on the concurrent core.
test:
	$(GO) vet ./...
	$(GO) test -timeout 12m ./...
	$(GO) test -race -timeout 12m ./server/replica/... ./server/transport/... ./client

build:
	$(GO) build -o bin/ ./cmd/...

# A whole three-site cluster in one process (data in ./geomds-dev).
dev:
	$(GO) run ./cmd/geomds dev

# Regenerates proto/geomdspb from proto/*.proto. Needs protoc (Debian:
# apt-get install -y protobuf-compiler); the Go plugins come from the proxy.
proto:
	@command -v protoc >/dev/null || { echo "make proto: protoc not found; apt-get install -y protobuf-compiler" >&2; exit 1; }
	$(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
	$(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
	protoc -I proto --go_out=proto --go_opt=paths=source_relative \
		--go-grpc_out=proto --go-grpc_opt=paths=source_relative proto/*.proto
	mkdir -p proto/geomdspb && mv proto/*.pb.go proto/geomdspb/

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s ./server/namespace/ ./server/storage/
	cd bench && $(GO) run -mod=mod . --clients 1,16,64,256 --ops 10000
	cd bench && $(GO) run -mod=mod . --clients 64,256 --ops 10000 --shared-client

fmt:
	gofmt -l -w .
