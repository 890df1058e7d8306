# The four daemons' images from one file: one build stage whose apt layer (the -dev
# packages) and copy of common/ are built once and cached for all four, then one
# final stage per daemon, named after it, with that daemon's runtime details.
# Build from the repository root (the daemons need common/), naming the daemon twice:
#   docker build --target order-service --build-arg DAEMON=order-service -t eda/order-service .
# (docker-compose.yml does this for each; `make images` builds all four with podman.)
# A DAEMON that does not match the target fails at the target's COPY of the binary.

FROM debian:12 AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        build-essential pkg-config ca-certificates \
        librdkafka-dev libmicrohttpd-dev libjansson-dev libpq-dev libmongoc-dev libbson-dev \
        libjwt-dev libcurl4-openssl-dev uuid-dev check \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY common/ common/
ARG DAEMON
COPY ${DAEMON}/ ${DAEMON}/
# The runtime packages are the ones that own the libraries the binary loads (it is
# linked with --as-needed), so no list is kept by hand: a daemon that starts using
# a library gets its package in the image.
RUN test -n "${DAEMON}" && make BUILD=/out /out/bin/${DAEMON} \
    && for lib in $(ldd /out/bin/${DAEMON} | awk '$2 == "=>" && $3 ~ /^\// {print $3}' \
                    | xargs realpath | sort -u); do \
           dpkg -S "$lib" 2>/dev/null || dpkg -S "${lib#/usr}" || exit 1; \
       done >/out/library-owners \
    && cut -d: -f1 /out/library-owners | sort -u >/out/runtime-packages

# The daemon's runtime libraries on Debian 12 slim, and nothing to build with.
FROM debian:12-slim AS runtime
COPY --from=build /out/runtime-packages /tmp/runtime-packages
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        ca-certificates $(cat /tmp/runtime-packages) \
    && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages

# docker run -p 8080:8080 -e JWT_SECRET=... -e ORDER_SERVICE_URL=... eda/api-gateway
FROM runtime AS api-gateway
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin gateway
COPY --from=build /out/bin/api-gateway /app/api-gateway
COPY api-gateway/openapi.json /app/openapi.json
ENV PORT=8080 OPENAPI_FILE=/app/openapi.json
USER 10001
EXPOSE 8080
# SIGTERM drains requests in flight (up to ~10 s) before exiting 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/app/api-gateway"]

# docker run -p 8001:8001 -e DATABASE_URL=... -e KAFKA_BOOTSTRAP_SERVERS=... eda/order-service
FROM runtime AS order-service
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin orders
COPY --from=build /out/bin/order-service /app/order-service
COPY order-service/migrations/ /app/migrations/
ENV PORT=8001 MIGRATIONS_DIR=/app/migrations
USER 10001
EXPOSE 8001
# SIGTERM: stop HTTP, answer long-polls, commit consumer offsets, flush the
# producer (undelivered outbox rows stay for the next leader), then exit 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/app/order-service"]

# docker run -p 8002:8002 -e MONGODB_URL=... -e KAFKA_BOOTSTRAP_SERVERS=... eda/inventory-service
FROM runtime AS inventory-service
RUN useradd --system --uid 10002 --no-create-home inventory
COPY --from=build /out/bin/inventory-service /usr/local/bin/inventory-service
COPY inventory-service/seed/catalogue.json /usr/share/inventory-service/catalogue.json
ENV PORT=8002
USER inventory
EXPOSE 8002
# The port answers (bash, not sh: dash has no /dev/tcp); compose checks /readyz.
HEALTHCHECK CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8002"]
# SIGTERM: stop HTTP, stop the consumers (commit stored offsets), flush and
# mark pending events (the rest stay in the outbox for the replay), exit 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/inventory-service"]

# docker run -e KAFKA_BOOTSTRAP_SERVERS=kafka:9092 -e SMTP_URL=smtp://mailpit:1025 eda/notification-service
# Without SMTP_URL, e-mails go to the spool volume /var/spool/notification-service.
FROM runtime AS notification-service
RUN useradd --system --uid 10003 --no-create-home --shell /usr/sbin/nologin notification \
    && install -d -o 10003 -g 10003 -m 0750 /var/spool/notification-service \
                  /var/lib/notification-service
COPY --from=build /out/bin/notification-service /app/notification-service
COPY notification-service/templates/ /usr/share/notification-service/templates/
ENV PORT=8003 \
    TEMPLATE_DIR=/usr/share/notification-service/templates \
    MAIL_SPOOL_DIR=/var/spool/notification-service \
    SENT_IDS_FILE=/var/lib/notification-service/sent-ids \
    MALLOC_ARENA_MAX=2
# The spool, and the record of sent event ids (SMTP: no e-mail twice after a restart).
VOLUME /var/spool/notification-service /var/lib/notification-service
USER 10003
EXPOSE 8003
# SIGTERM: stop HTTP, finish the e-mail in hand, commit offsets, leave the group, exit 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/app/notification-service"]
