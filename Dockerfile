# syntax=docker/dockerfile:1
# Multi-stage build of jft-gateway, jft-sim and jftctl: static binaries on distroless, non-root.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ENV CGO_ENABLED=0
RUN go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/jft-gateway ./cmd/jft-gateway && \
    go build -trimpath -ldflags "-s -w" -o /out/jft-sim ./cmd/jft-sim && \
    go build -trimpath -ldflags "-s -w" -o /out/jftctl ./cmd/jftctl

# The simulator image (docker build --target jft-sim).
FROM gcr.io/distroless/static-debian12:nonroot AS jft-sim
COPY --from=build /out/jft-sim /usr/local/bin/jft-sim
USER nonroot:nonroot
EXPOSE 8088
ENTRYPOINT ["/usr/local/bin/jft-sim"]

# The gateway image (default target). Run with a read-only root filesystem.
FROM gcr.io/distroless/static-debian12:nonroot AS jft-gateway
COPY --from=build /out/jft-gateway /usr/local/bin/jft-gateway
# jftctl for `kubectl exec … jftctl lag` and DLQ replays from inside the cluster.
COPY --from=build /out/jftctl /usr/local/bin/jftctl
USER nonroot:nonroot
EXPOSE 9464
ENTRYPOINT ["/usr/local/bin/jft-gateway"]
CMD ["serve"]
