# syntax=docker/dockerfile:1
# Three stages: the web app (Node), the server (Rust, release), and a small runtime image that
# holds only the binary and web/dist. The binary is the `server` crate CI tests.

FROM node:20-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
COPY crates/api-http/openapi.json /src/crates/api-http/openapi.json
RUN npm run build

FROM rust:1.95-bookworm AS server
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p server

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --home-dir /data app
COPY --from=server /src/target/release/server /usr/local/bin/server
COPY --from=web /src/web/dist /app/web/dist
WORKDIR /data
USER app
ENV BIND=0.0.0.0:8000 \
    WEB_DIST=/app/web/dist \
    DATABASE_URL=sqlite:///data/users.db?mode=rwc \
    RUST_LOG=info
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s \
  CMD curl -fsS http://127.0.0.1:8000/api/ready/ || exit 1
ENTRYPOINT ["server"]
CMD ["serve"]
