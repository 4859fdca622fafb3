# Multi-stage build of the gateway (`healing-space`) and the mock model server (`mock-llm`).
#   docker build -t healing-space .
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p healing-space -p healing-llm --bin healing-space --bin mock-llm

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home /var/lib/healing-space healing \
 && mkdir -p /var/lib/healing-space && chown healing /var/lib/healing-space
COPY --from=build /src/target/release/healing-space /src/target/release/mock-llm /usr/local/bin/
USER healing
WORKDIR /var/lib/healing-space
ENV HEALING_BIND=0.0.0.0:8080 \
    HEALING_DATA_DIR=/var/lib/healing-space \
    HEALING_LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["healing-space"]
CMD ["serve"]
