#!/usr/bin/env bash
# Runs one tenant API server on 127.0.0.1:6443 with its data in $WARREN_DATA
# (default ./.warren/tenant), and tells how to point kubectl at it.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

data="${WARREN_DATA:-./.warren/tenant}"
listen="${WARREN_LISTEN:-127.0.0.1:6443}"
mkdir -p "$data"
data="$(cd "$data" && pwd)"
kubectl="$(python3 -c 'import sysconfig;print(sysconfig.get_path("scripts"))')/kubectl"

cargo build --release -p tenant-apiserver
cat >&2 <<MSG

  Warren tenant API server starting on https://$listen (data in $data)
  Once it logs "ready", in another terminal:

    export KUBECONFIG=$data/admin.kubeconfig
    $kubectl get namespaces
    $kubectl create deployment web --image=nginx

  Stop it with Ctrl-C; run this script again to start it on the same data.

MSG
exec cargo run --release -q -p tenant-apiserver -- --data-dir "$data" --listen "$listen"
