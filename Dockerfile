# The Keel worker image (docker-compose's keel-worker). Sandboxes run as sibling containers via the host socket.
FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends git tar ca-certificates && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
CMD ["node", "--import", "tsx", "src/cli.ts", "worker"]
