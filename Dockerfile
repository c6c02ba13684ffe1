# syntax=docker/dockerfile:1
#
# keyward's image: one for both processes; docker-compose.yml picks the command
# (`node bin/keyward.js worker` or `node bin/keyward.js server`). TypeScript runs through tsx at
# run time, so there is no build stage. Configuration and secrets come from the environment when
# a container starts; none is baked in (.dockerignore also keeps .env out of the build context).

FROM node:20-bookworm-slim

WORKDIR /app

# Dependencies first, so that changing a source file does not reinstall them.
# tsx, a dependency, compiles the sources on the fly. Install scripts are skipped: no runtime
# piece needs one (the Temporal core bridge, esbuild and swc ship prebuilt binaries in their
# packages; the only script the project allows belongs to embedded PostgreSQL, the no-set-up
# default that a container with DATABASE_URL does not use).
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund \
    && npm cache clean --force

# The sources stay owned by root: the process can read them but not change them.
COPY . .

ENV NODE_ENV=production

# keyward's HTTP server (KEYWARD_API_PORT) when the container runs `server`.
EXPOSE 8080

CMD ["node", "bin/keyward.js", "server"]

USER node
