# The l2lisp controller image. SQLite needs cgo, hence the full Go image
# for the build and glibc at run time.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -ldflags "-s -w" -o /out/l2lisp ./cmd/l2lisp

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* && useradd --system --home /var/lib/l2lisp l2lisp \
    && mkdir -p /var/lib/l2lisp /pki && chown l2lisp /var/lib/l2lisp /pki
COPY --from=build /out/l2lisp /usr/local/bin/l2lisp
USER l2lisp
VOLUME /var/lib/l2lisp /pki
EXPOSE 8080 6653 4342/udp
# Liveness only (-k): the CA that signed the certificate is the deployment's.
HEALTHCHECK --interval=10s --timeout=3s CMD curl -fsSk https://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/l2lisp"]
CMD ["serve", "--db", "/var/lib/l2lisp/l2lisp.db", "--listen", "0.0.0.0:8080"]
