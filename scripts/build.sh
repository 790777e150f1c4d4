#!/usr/bin/env bash
# Sets up (scripts/setup.sh), configures and builds kspam (Release, Ninja, ccache) into build/.
# Usage: scripts/build.sh [target ...]     (no target: everything)
# KSPAM_JOBS sets the parallel jobs (default: all cores); KSPAM_CMAKE_ARGS adds configure options.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
jobs="${KSPAM_JOBS:-$(nproc)}"
# shellcheck disable=SC2086
cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=Release ${KSPAM_CMAKE_ARGS:-} >/dev/null
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$root/build" -j "$jobs" "${targets[@]}"
