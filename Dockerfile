# syntax=docker/dockerfile:1
# Build stage: compile TypeScript and build native modules (better-sqlite3) against the runtime's Node.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY config ./config
COPY adapters ./adapters
COPY models ./models
COPY gateway ./gateway
RUN npx tsc -p tsconfig.build.json && npm prune --omit=dev

# Runtime stage: Node, ffmpeg for camera streams, the compiled gateway and its models. No compilers.
FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg ca-certificates tini \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system parcelguard && useradd --system --gid parcelguard --home /var/lib/parcelguard parcelguard \
    && mkdir -p /var/lib/parcelguard /etc/parcelguard && chown parcelguard:parcelguard /var/lib/parcelguard
WORKDIR /opt/parcelguard
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/package.json ./package.json
COPY models ./models
COPY config/examples ./config/examples
ENV NODE_ENV=production PARCELGUARD_DATA_DIR=/var/lib/parcelguard
USER parcelguard
VOLUME ["/var/lib/parcelguard"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PARCELGUARD_HTTP_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["/usr/bin/tini", "--", "node", "dist/gateway/cli/main.js"]
CMD ["run", "/etc/parcelguard/config.yaml"]
