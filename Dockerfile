# One image for every EcoCoin process; the command picks the service (see docker-compose.yml).
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# tsx runs the TypeScript sources directly, so the image carries the dev tools it needs to run them.
RUN npm ci --include=dev --no-audit --no-fund && npm cache clean --force
COPY tsconfig.json rover.yaml ./
COPY lib ./lib
COPY schema ./schema
COPY gateway ./gateway
COPY subgraphs ./subgraphs
COPY scripts ./scripts
USER node
ENV HOST=0.0.0.0
CMD ["npx", "tsx", "gateway/src/index.ts"]
