# Two images from one build, sharing every layer but the last: `--target ingest` (the
# default, the last stage) runs dist/services/ingest/main.js, `--target worker`
# dist/services/worker/main.js. Each advertises only its own ports.
#
# Plain Dockerfile syntax (no BuildKit-only features), so Debian's docker.io and
# docker-compose v1 build it as well as `docker compose` does.

FROM node:24-bookworm-slim AS build
# Only for builds behind a TLS-inspecting proxy: the path of a CA bundle *inside the base
# image* for npm to trust (README, "Building behind a TLS-inspecting proxy"). Unset, Node
# trusts its own CA list, as it should against the real registry.
ARG NODE_EXTRA_CA_CERTS
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY services ./services
RUN npm run build

FROM node:24-bookworm-slim AS runtime
ARG NODE_EXTRA_CA_CERTS
ENV NODE_ENV=production DATA_DIR=/data
WORKDIR /app
# Production dependencies only: whatever dist/ imports at run time must be in `dependencies`
# (test/operations/production-install.test.ts checks both).
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
RUN mkdir -p /data && chown node:node /data
USER node

FROM runtime AS worker
# /metrics, /healthz, /readyz (WORKER_PORT).
EXPOSE 3001
CMD ["node", "dist/services/worker/main.js"]

FROM runtime AS ingest
# Uploads (PORT), and this instance's own /metrics, /healthz, /readyz (OPS_PORT).
EXPOSE 3000 3002
CMD ["node", "--max-semi-space-size=2", "dist/services/ingest/main.js"]
