# Targets for developers; CI runs .ci/run.
.PHONY: build test testrace short cov lint tidy fuzz bench

build:
	CGO_ENABLED=0 go build -o bin/lkv ./cmd/lkv

test:
	go test ./...

short:
	go test -short ./...

testrace:
	go test -race -short -count=1 ./store ./peer/... ./client ./jail/... ./membership ./election ./slots

cov:
	go test -coverprofile=cover.out ./... && go tool cover -func=cover.out | tail -1

lint:
	gofmt -l . | tee /dev/stderr | (! read)
	go vet ./...
	go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

tidy:
	go mod tidy && git diff --exit-code go.mod go.sum

fuzz:
	go test -fuzz=FuzzDecodeRequest -fuzztime=60s ./peer/wire
	go test -fuzz=FuzzDecodeResponse -fuzztime=60s ./peer/wire
	go test -fuzz=FuzzDecodeResponse -fuzztime=60s ./jail/lambda

bench:
	go test -run XXX -bench . -benchtime 2s ./store ./peer/wire
