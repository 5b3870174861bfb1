# eks-access as a container: `eks-access serve`, the TokenReview webhook (a drop-in for
# aws-iam-authenticator server) and the access-policy authorizer. Manifests: deploy/.
#
#   docker build -t <registry>/eks-access:0.1.0 .
#
# Two stages: the build (npm ci, npm run build: esbuild bundles every dependency into dist/), then
# a runtime stage holding only dist/ and package.json ("type": "module" for dist/cli.js), run as
# the image's non-root user `node` (uid 1000). test/integration/dockerfile.test.ts runs these steps
# without a Docker engine and starts the result.
ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build && rm dist/meta.json

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /opt/eks-access
COPY --from=build /src/package.json ./
COPY --from=build /src/dist ./dist
USER node
# 21362: TokenReview (as aws-iam-authenticator); 21364: the authorizer alone
EXPOSE 21362
ENTRYPOINT ["node", "/opt/eks-access/dist/main.cjs", "serve"]
CMD ["--help"]
