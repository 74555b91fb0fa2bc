# The API and the worker share one image; docker-compose picks the command.
FROM node:22-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json worker.ts ./
COPY src ./src
COPY migrations ./migrations
COPY scripts/build-web.ts ./scripts/
COPY web ./web
RUN npx tsx scripts/build-web.ts
USER node
CMD ["npx", "tsx", "src/api/main.ts"]
