# digits serve in a container: the page, the API and the shipped model. Multi-stage: the build stage has the
# dev tools; the image keeps only what serving needs, and runs as the unprivileged `node` user.
#   docker build -t digits .
#   docker run -p 3000:3000 -v digits-data:/data digits
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/bin ./bin
COPY --from=build /app/dist ./dist
COPY --from=build /app/models ./models
COPY --from=build /app/web/dist ./web/dist
COPY --from=build /app/node_modules ./node_modules
RUN mkdir /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s \
  CMD node -e "fetch('http://127.0.0.1:3000/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
# Behind a load balancer the Host is the service's name and the client's address comes in X-Forwarded-For.
CMD ["node", "bin/digits.js", "serve", "--host", "0.0.0.0", "--port", "3000", "--allow-host", "*", "--trust-proxy", "--samples", "/data/samples.db"]
