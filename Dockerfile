# gatepass container image.
#
#   docker build -t gatepass:$(git rev-parse --short HEAD) .
#
# The binary is built with cgo because the OpenSSL signer loads libcrypto.so.3
# at run time. Builder and runtime are both Debian bookworm, so the binary
# links against the same glibc it runs on. No key, secret or setting is baked
# in: everything comes from the environment and mounted files at run time.

FROM golang:1.26-bookworm AS build
WORKDIR /src
# Modules first, so a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The version, commit and build date `gatepass version` reports:
# docker build --build-arg VERSION=v0.1.0 --build-arg COMMIT=$(git rev-parse HEAD) --build-arg DATE=$(date -u +%FT%TZ) .
ARG VERSION="" COMMIT="" DATE=""
RUN CGO_ENABLED=1 go build -trimpath -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.date=${DATE}" -o /out/gatepass ./cmd/gatepass

FROM debian:bookworm-slim AS runtime
# libssl3 carries libcrypto.so.3 for the OpenSSL signer; ca-certificates
# verify the identity provider's JWKS over https.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 gatepass \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin gatepass
COPY --from=build /out/gatepass /usr/local/bin/gatepass
# Numeric, so Kubernetes can verify runAsNonRoot without a name lookup.
USER 10001:10001
# 8080: public API (HTTP_ADDR). 9090: metrics and probes (ADMIN_ADDR).
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/gatepass"]
CMD ["serve"]
