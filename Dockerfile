# One image for every EcoCoin process; the command picks the service (see docker-compose.yml).
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# npm ci applies these patches to installed packages (postinstall: patch-package); see "Patched packages" in the README.
COPY patches ./patches
# tsx runs the TypeScript sources directly, so the image carries the dev tools it needs to run them.
RUN npm ci --include=dev --no-audit --no-fund && npm cache clean --force
COPY tsconfig.json rover.yaml ./
COPY lib ./lib
COPY schema ./schema
COPY gateway ./gateway
COPY subgraphs ./subgraphs
COPY scripts ./scripts
# The blockchain subgraph and the contract deploy step use the compiled ABIs and bytecode (committed).
COPY contracts/artifacts ./contracts/artifacts
# Where the deploy step writes the contract addresses for the blockchain subgraph (a named volume in compose,
# which takes this folder's owner, so the node user can write it).
RUN mkdir -p /var/lib/ecocoin && chown node:node /var/lib/ecocoin
USER node
ENV HOST=0.0.0.0
# node itself, not npx, so SIGTERM reaches the process that drains (SHUTDOWN_TIMEOUT_MS).
CMD ["node", "--import", "tsx", "gateway/src/index.ts"]
