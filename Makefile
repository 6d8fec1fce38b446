# Everyday commands. PostgreSQL and Redis come from scripts/services.sh, which reuses
# DATABASE_URL / REDIS_URL or local servers, or starts private ones under .data/.
# CI=true (from the environment or `make test CI=true`) reaches the tests: a missing
# PostgreSQL or Redis then fails them instead of skipping them.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c

# Runs the rest of the recipe line with DATABASE_URL and REDIS_URL set.
SERVICES := env_=$$(scripts/services.sh) && eval "$$env_" &&
STATICCHECK := go tool staticcheck
GOFILES := find . \( -name .git -o -name .data -o -path ./bin -o -path ./tmp -o -name node_modules \) -prune -o -name '*.go' -print0

.PHONY: run test lint vet fmt-check build migrate services services-stop docker

run:
	$(SERVICES) go run ./cmd/canteen dev

test:
	scripts/services.sh browser
	$(SERVICES) go test -race -count=1 ./...
	$(MAKE) --no-print-directory lint

lint: vet fmt-check
	$(STATICCHECK) ./...
	go mod tidy -diff

vet:
	go vet ./...

fmt-check:
	@files=$$($(GOFILES) | xargs -0 -r gofmt -l); \
	if [ -n "$$files" ]; then echo "gofmt needed in:"; echo "$$files"; exit 1; fi

build:
	go build -o bin/canteen ./cmd/canteen

migrate:
	$(SERVICES) go run ./cmd/canteen migrate up

services:
	@scripts/services.sh

services-stop:
	@scripts/services.sh stop

docker:
	docker build -f deploy/Dockerfile -t canteen:dev .
