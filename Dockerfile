# Multi-stage build: compile with the Swift toolchain, run on a small Debian image that has only
# the runtime libraries librdkafka1 and libjemalloc2. Both stages use Debian bookworm, so the
# libraries' ABIs match.
FROM swift:6.3-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends librdkafka-dev zlib1g-dev libjemalloc-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
RUN swift build -c release --product vigil --static-swift-stdlib \
    && install -D "$(swift build -c release --show-bin-path)/vigil" /out/vigil

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends librdkafka1 libjemalloc2 ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/vigil /usr/local/bin/vigil
COPY pipelines /etc/vigil/pipelines
COPY config /etc/vigil/config
WORKDIR /etc/vigil
# An unprivileged user; the bootstrap file goes to a writable place. The directories that
# docker-compose mounts volumes on belong to that user (a new named volume takes the ownership of
# the directory it is mounted on), so the disclosure log and the learnt state can be written.
RUN mkdir -p /var/lib/vigil/audit /var/lib/vigil/state && chown -R 65532:65532 /var/lib/vigil
USER 65532:65532
ENV TMPDIR=/tmp
# The operations endpoint (/livez, /readyz, /metrics) must be reachable from outside the container.
ENV VIGIL_HTTP_ADDRESS=0.0.0.0
EXPOSE 9464
ENTRYPOINT ["/usr/local/bin/vigil"]
CMD ["run", "--pipeline", "/etc/vigil/pipelines/default.yaml", "--config", "/etc/vigil/config/default.yaml"]
