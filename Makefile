# The README's commands. `make run` and `make test` each do all the set-up they need.
SWIFT ?= swift

.PHONY: setup build run keys test broker validate docker clean

## Install system packages (librdkafka-dev, zlib1g-dev, kcat) if missing.
setup:
	@scripts/setup.sh

build: setup
	$(SWIFT) build

## The main job: the default pipeline on the embedded broker with the bundled sample feed.
## Alerts are signed and shared with the pipeline's partners with the keys in keys/ (made once).
run: build keys
	.build/debug/vigil run --pipeline pipelines/default.yaml

## The signing key and the default pipeline's pseudonym keys, if missing (existing keys are kept).
keys: build
	.build/debug/vigil keys generate --out keys --pipeline pipelines/default.yaml

## All tests (Swift Testing), against librdkafka's embedded broker. The files tests write go
## to a directory of this run's own, removed when every test passed and kept (and named) when
## one failed, for a look at what it wrote.
test: setup
	@tmp=$$(mktemp -d -t vigil-tests.XXXXXX); \
	TMPDIR=$$tmp $(SWIFT) test --disable-xctest; status=$$?; \
	if [ $$status -eq 0 ]; then rm -rf "$$tmp"; else echo "make test: the tests' files are in $$tmp"; fi; \
	exit $$status

## A standalone embedded broker for other tools (kcat, `vigil run --brokers`).
broker: build
	.build/debug/vigil broker --pipeline pipelines/default.yaml

validate: build keys
	.build/debug/vigil validate pipelines/*.yaml --config config/default.yaml

## Kafka (KRaft), Vigil and Prometheus in containers (needs Docker; keys made on the host first).
docker: keys
	docker compose up --build

clean:
	rm -rf .build
