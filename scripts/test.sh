#!/usr/bin/env bash
# Warren's whole test suite: installs what it needs, builds every binary, runs every test.
# Usage: bash scripts/test.sh [extra cargo test args, e.g. -p warren-tests --test kubectl]
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

# The end-to-end tests use the pip kubectl, never an older one earlier on PATH.
KUBECTL="${KUBECTL:-$(python3 -c 'import sysconfig;print(sysconfig.get_path("scripts"))')/kubectl}"
export KUBECTL

# The tests start the real binaries: build them first (the harness finds them in target/debug).
cargo build --workspace --bins
cargo test --workspace --no-fail-fast "$@"
