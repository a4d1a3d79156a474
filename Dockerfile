# Build the manager binary
FROM golang:1.26 AS builder
ARG TARGETOS
ARG TARGETARCH

WORKDIR /workspace
# Copy the Go Modules manifests and cache deps before copying the source, so a
# source change does not re-download them.
COPY go.mod go.mod
COPY go.sum go.sum
RUN go mod download

COPY cmd/ cmd/
COPY api/ api/
COPY internal/ internal/

# Static binary: no libc in the runtime image.
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} go build -trimpath -ldflags="-s -w" -a -o manager ./cmd

# The dumper's uploader (cmd/lc2-dump); only the dumper target builds this stage.
FROM builder AS dumper-builder
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} go build -trimpath -ldflags="-s -w" -o lc2-dump ./cmd/lc2-dump

# The dumper image (docker build --target dumper), run by the dump Jobs: pg_dump and
# pg_restore of the newest PostgreSQL major (PGDG's repository; PG_MAJOR picks it),
# MariaDB's client tools (mariadb-dump, mariadb) of Debian trixie (11.8), and
# lc2-dump. A dump is refused when the server is newer than these tools, so this
# image is what a new server major needs updated. Non-root; lc2-dump writes only a
# small client options file under $TMPDIR (mount an emptyDir at /tmp when the root
# filesystem is read-only).
FROM debian:trixie-slim AS dumper
ARG PG_MAJOR=18
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && install -d /usr/share/postgresql-common/pgdg \
 && curl -fsSL -o /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc https://www.postgresql.org/media/keys/ACCC4CF8.asc \
 && echo "deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc] https://apt.postgresql.org/pub/repos/apt trixie-pgdg main" \
    > /etc/apt/sources.list.d/pgdg.list \
 && apt-get update \
 && apt-get install -y --no-install-recommends "postgresql-client-${PG_MAJOR}" mariadb-client \
 && apt-get purge -y curl && apt-get autoremove -y \
 && rm -rf /var/lib/apt/lists/*
# The major's own binaries first: no pg_wrapper choosing among installed versions.
ENV PATH=/usr/lib/postgresql/${PG_MAJOR}/bin:$PATH
COPY --from=dumper-builder /workspace/lc2-dump /usr/local/bin/lc2-dump
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/lc2-dump"]

# distroless static, non-root: nothing but the binary and CA certificates. Last, so
# that a plain docker build still builds the manager.
FROM gcr.io/distroless/static:nonroot
WORKDIR /
COPY --from=builder /workspace/manager .
USER 65532:65532

ENTRYPOINT ["/manager"]
