# Parley images: one Dockerfile for both services, chosen with the APP build argument.
# Build from the repository root:
#   podman build --build-arg APP=chat  -t parley-chat:TAG  .
#   podman build --build-arg APP=admin -t parley-admin:TAG .   (admin also carries the migration command)
#   (docker build works the same.) Multi-stage: the build stage (full dependencies, esbuild) is the same
#   for both apps, so a second build reuses its cache; the deps stage installs only the chosen app's
#   production dependencies (its workspace's `dependencies` and those of the @parley/* packages it uses);
#   the final stage holds those node_modules and that app's esbuild output, runs as a non-root numeric
#   user, and contains no secrets (all configuration comes from the environment at run time).
# The base is the official Node 24 image pinned by exact version tag. To pin by digest as well, use
#   node:24.21.0-bookworm-slim@sha256:<digest> (docs/deploy.md, "Supply chain").
ARG NODE_IMAGE=docker.io/library/node:24.21.0-bookworm-slim
# chat or admin; no default, so an image is never built for the wrong app by omission.
ARG APP

# ---- manifests: the lockfile and every workspace's package.json (npm ci needs all the lockfile names) -
FROM ${NODE_IMAGE} AS manifests
WORKDIR /app
COPY package.json package-lock.json ./
COPY apps/admin/package.json apps/admin/
COPY apps/chat/package.json apps/chat/
COPY packages/chat-token/package.json packages/chat-token/
COPY packages/config/package.json packages/config/
COPY packages/db/package.json packages/db/
COPY packages/devtools/package.json packages/devtools/
COPY packages/logging/package.json packages/logging/
COPY packages/protocol/package.json packages/protocol/
COPY packages/telemetry/package.json packages/telemetry/

# ---- build: install everything (incl. esbuild/typescript) and bundle; independent of APP ----------------
FROM manifests AS build
# --ignore-scripts: no dependency needs an install script here (argon2 ships prebuilt binaries,
# esbuild its platform package); it also keeps third-party code from running at build time.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN node scripts/build.mjs

# ---- deps: the chosen app's production node_modules only ------------------------------------------------
FROM manifests AS deps
ARG APP
# --workspace: only apps/$APP's dependency closure (its @parley/* packages' dependencies included, its and
# their devDependencies such as @parley/devtools' embedded-postgres left out); --omit=optional drops
# pg-cloudflare. The @parley/* links are bundled by esbuild and not needed at run time. A dependency
# npm had to nest under a workspace (a version conflict) would not be found from apps/$APP/dist: fail.
RUN case "$APP" in chat|admin) ;; *) echo "build with --build-arg APP=chat or APP=admin (got '$APP')" >&2; exit 1 ;; esac \
 && npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund --workspace "apps/$APP" \
 && rm -rf node_modules/@parley node_modules/.package-lock.json \
 && if ls -d apps/*/node_modules packages/*/node_modules 2>/dev/null; then echo "nested node_modules above: not copied to the image" >&2; exit 1; fi \
 && npm cache clean --force

# ---- runtime: what both apps share ----------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=8080
WORKDIR /app
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
EXPOSE 8080

# ---- chat -------------------------------------------------------------------------------------------------
FROM runtime AS chat
COPY --from=build /app/apps/chat/dist ./apps/chat/dist
COPY apps/chat/package.json ./apps/chat/package.json
# Files stay owned by root and read-only for the app user; Kubernetes runs it with a read-only root
# filesystem (only /tmp is writable, an emptyDir).
USER 10001:10001
CMD ["node", "--enable-source-maps", "apps/chat/dist/main.js"]

# ---- admin (panel + HTTP API) and the migration command ---------------------------------------------------
FROM runtime AS admin
COPY --from=build /app/apps/admin/dist ./apps/admin/dist
COPY apps/admin/public ./apps/admin/public
COPY apps/admin/package.json ./apps/admin/package.json
# The migration command ships in this image too (Kubernetes Job / compose `migrate` service):
#   node packages/db/dist/migrate.js
COPY --from=build /app/packages/db/dist ./packages/db/dist
COPY packages/db/migrations ./packages/db/migrations
COPY packages/db/package.json ./packages/db/package.json
USER 10001:10001
CMD ["node", "--enable-source-maps", "apps/admin/dist/main.js"]

# ---- the image: the stage named by APP (BuildKit and buildah build only the stages it needs) -------------
FROM ${APP}
