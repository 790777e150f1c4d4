#!/usr/bin/env bash
# Sets up, builds and runs the whole kspam test suite. GPU tests report themselves as skipped
# (by name) on a machine without an NVIDIA GPU.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/build.sh"
cd "$root/build"
ctest --output-on-failure -j "${KSPAM_JOBS:-$(nproc)}" "$@"
