#!/usr/bin/env bash
# Ensure a local Python base image exists, built without pulling from any registry.
#
#   scripts/base_image.sh [NAME:TAG]     (default aic-base/python:3.11-slim-bookworm)
#
# If the tag exists in the engine already, nothing is done (the engine's data root keeps
# it across runs). Otherwise a Debian bookworm minbase rootfs is made with debootstrap
# (python3, python3-venv, python3-pip, ca-certificates), the host's extra CA
# certificates (e.g. an intercepting proxy's) are added to its trust store, and it is
# imported with `docker import`, set up to stand in for the official python:3.11-slim:
# `python`/`python3`/`pip` on PATH, LANG=C.UTF-8, CMD ["python3"].
# Our Dockerfiles create a venv at /usr/local/py and put /usr/local/py/bin first on PATH,
# which works on both this image and the official one.
#
# Environment: AIC_DEBIAN_MIRROR (default: the host's first Debian mirror, else
# http://deb.debian.org/debian), AIC_HOST_CA_BUNDLE (default
# /etc/ssl/certs/ca-certificates.crt), DOCKER_HOST (else scripts/docker_engine.sh start).
set -euo pipefail

NAME="${1:-aic-base/python:3.11-slim-bookworm}"
SUITE=bookworm
HOST_CA="${AIC_HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

msg() { echo "base_image: $*" >&2; }
die() { msg "error: $*"; exit 1; }

if ! timeout 20 docker info >/dev/null 2>&1; then
    eval "$("$HERE/docker_engine.sh" start)" || die "no docker engine"
    export DOCKER_HOST
fi

if docker image inspect "$NAME" >/dev/null 2>&1; then
    msg "$NAME exists already ($(docker image inspect -f '{{.Created}}' "$NAME")); nothing to do"
    exit 0
fi

[ "$(id -u)" = 0 ] || die "building $NAME needs root (debootstrap, chroot)"

if ! command -v debootstrap >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || die "debootstrap is missing and apt-get is not available"
    msg "installing debootstrap"
    { DEBIAN_FRONTEND=noninteractive apt-get update -q &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap; } >&2 || die "apt-get install debootstrap failed"
fi

if [ -z "${AIC_DEBIAN_MIRROR:-}" ]; then
    AIC_DEBIAN_MIRROR="$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list 2>/dev/null |
        grep -oE 'https?://[^ ]+/debian/?' | grep -v security | head -n1 || true)"
    AIC_DEBIAN_MIRROR="${AIC_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
fi
MIRROR="${AIC_DEBIAN_MIRROR%/}"
SECURITY_MIRROR="${AIC_DEBIAN_SECURITY_MIRROR:-${MIRROR}-security}"

WORK="$(mktemp -d /var/tmp/aic-base.XXXXXX)"
ROOTFS="$WORK/rootfs"
cleanup() {
    # never leave bind mounts behind before deleting the tree
    for m in proc sys dev/pts dev; do
        if mountpoint -q "$ROOTFS/$m" 2>/dev/null; then umount -l "$ROOTFS/$m" || true; fi
    done
    rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT

msg "debootstrap $SUITE from $MIRROR into $ROOTFS (about a minute)"
start=$SECONDS
debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
    "$SUITE" "$ROOTFS" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || {
    tail -n 30 "$WORK/debootstrap.log" >&2
    die "debootstrap failed"
}
msg "debootstrap done in $((SECONDS - start))s"

# apt sources like the official image (main, updates, security) so Dockerfiles can apt-get
rm -f "$ROOTFS/etc/apt/sources.list"
cat >"$ROOTFS/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY_MIRROR
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF

# Trust the host's extra CAs (an intercepting proxy's): every certificate in the host
# bundle that Debian's bundle lacks becomes its own file in the local trust store.
if [ -s "$HOST_CA" ]; then
    cp "$HOST_CA" "$ROOTFS/tmp/host-bundle.crt"
    chroot "$ROOTFS" /usr/bin/python3 - <<'EOF' >&2
import re
pem = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)
norm = lambda s: "".join(s.split())
known = {norm(c) for c in pem.findall(open("/etc/ssl/certs/ca-certificates.crt").read())}
extra = [c for c in pem.findall(open("/tmp/host-bundle.crt").read()) if norm(c) not in known]
for i, c in enumerate(extra):
    with open(f"/usr/local/share/ca-certificates/host-ca-{i}.crt", "w") as f:
        f.write(c + "\n")
print(f"base_image: {len(extra)} extra CA certificate(s) from the host added")
EOF
    rm -f "$ROOTFS/tmp/host-bundle.crt"
    chroot "$ROOTFS" update-ca-certificates >&2
else
    msg "warning: no host CA bundle at $HOST_CA; the image trusts Debian's CAs only"
fi

# python / pip names as in the official image; let pip install outside a venv too
ln -sf python3 "$ROOTFS/usr/bin/python"
[ -e "$ROOTFS/usr/bin/pip" ] || ln -sf pip3 "$ROOTFS/usr/bin/pip"
rm -f "$ROOTFS"/usr/lib/python3*/EXTERNALLY-MANAGED

# slim down: apt caches and lists, docs, man pages, locales, pycache
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/cache/apt/*.bin \
    "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/log/*.log "$ROOTFS"/var/log/apt/* \
    "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/* \
    "$ROOTFS"/tmp/* "$ROOTFS"/var/tmp/*
find "$ROOTFS/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} + 2>/dev/null || true
find "$ROOTFS/usr/lib" -name __pycache__ -type d -prune -exec rm -rf {} + 2>/dev/null || true
# keep later apt-get installs slim, like the official image
cat >"$ROOTFS/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
EOF
cat >"$ROOTFS/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
: >"$ROOTFS/etc/machine-id"

PYVER="$(chroot "$ROOTFS" python3 -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
msg "importing as $NAME (python $PYVER)"
tar --numeric-owner -C "$ROOTFS" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change "ENV PYTHON_VERSION=$PYVER" \
    --change 'WORKDIR /' \
    --change 'CMD ["python3"]' \
    --change "LABEL org.opencontainers.image.description=\"Debian $SUITE minbase + python3 $PYVER (debootstrap), stand-in for python:3.11-slim\"" \
    --message "scripts/base_image.sh: debootstrap $SUITE minbase + python3" \
    - "$NAME" >&2
msg "built $NAME: $(docker image inspect -f '{{.Size}}' "$NAME" | awk '{printf "%.0f MB", $1/1e6}') in $((SECONDS - start))s"
