# The Keel worker image (docker-compose's keel-worker): Keel installed from its own packed tarball, exactly as a
# user's `npm install keel` would, running as the unprivileged `node` user. Sandboxes are sibling containers on
# the host engine through the mounted socket (the container user needs the socket's group: see docker-compose.yml).
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm ci --no-audit --no-fund
COPY src ./src
COPY bin ./bin
COPY sandbox ./sandbox
COPY docs ./docs
COPY README.md ./
RUN npm run build && npm pack --ignore-scripts --pack-destination /tmp

FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends git tar ca-certificates && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /tmp/keel-*.tgz /tmp/
RUN echo '{"name":"keel-worker","private":true,"type":"module"}' > package.json \
 && npm install --omit=dev --no-audit --no-fund /tmp/keel-*.tgz && rm /tmp/keel-*.tgz \
 && mkdir -p /data && chown node:node /data
USER node
ENV KEEL_HOME=/data
# Two malloc arenas instead of glibc's 8 per core: ~20 MB less resident memory for a worker, at no measured cost
# (docs/operations.md). glibc reads it only as the process starts, so it lives here rather than in the worker.
ENV MALLOC_ARENA_MAX=2
# Semi-spaces of at most 2 MB per V8 isolate (the worker's main thread and its workflow thread) instead of 16: 1,000
# parked runs held 280-284 MB against 294-395 MB, for a few % more CPU per wake (docs/operations.md).
ENV NODE_OPTIONS=--max-semi-space-size=2
# KEEL_AGENTS names the module exporting `agents` (mounted into the container; see docker-compose.yml).
CMD ["npx", "keel", "worker"]
