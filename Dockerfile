# Build: the bundled SQLite, libpq and OpenSSL need only a C toolchain, make and perl.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
RUN cargo build --release --locked && strip target/release/tokenvault

FROM debian:bookworm-slim
# CA certificates: provider endpoints are HTTPS.
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --system --home /var/lib/tokenvault --create-home tokenvault
COPY --from=build /src/target/release/tokenvault /usr/local/bin/tokenvault
USER tokenvault
WORKDIR /var/lib/tokenvault
ENV TOKENVAULT_BIND=0.0.0.0:8000
EXPOSE 8000
ENTRYPOINT ["/usr/local/bin/tokenvault"]
CMD ["serve"]
