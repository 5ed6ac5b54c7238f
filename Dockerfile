# Build: the bundled SQLite, libpq and OpenSSL need only a C toolchain, make and perl.
FROM rust:1-bookworm AS build
WORKDIR /src
# Dependencies first, in their own layer: a source change rebuilds only tokenvault itself.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src target/release/.fingerprint/tokenvault-* target/release/deps/tokenvault-* \
       target/release/deps/libtokenvault-*
COPY src ./src
COPY migrations ./migrations
RUN cargo build --release --locked && strip target/release/tokenvault

FROM debian:bookworm-slim
# CA certificates: provider endpoints are HTTPS.
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --system --home /var/lib/tokenvault --create-home tokenvault
COPY --from=build /src/target/release/tokenvault /usr/local/bin/tokenvault
# Not root; the working directory is the only writable place (SQLite data if no DATABASE_URL).
USER tokenvault
WORKDIR /var/lib/tokenvault
ENV TOKENVAULT_BIND=0.0.0.0:8000
EXPOSE 8000
# `serve` applies pending migrations before it listens.
HEALTHCHECK --interval=10s --timeout=5s --retries=5 CMD ["/usr/local/bin/tokenvault", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/tokenvault"]
CMD ["serve"]
