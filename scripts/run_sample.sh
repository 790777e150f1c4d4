#!/usr/bin/env bash
# Sets up, builds and runs the whole kspam workflow on the bundled sample data.
# Artifacts land in runs/sample/ (override with KSPAM_RUN_DIR); extra arguments go to `kspam run`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/build.sh" kspam
cd "$root"
exec "$root/build/bin/kspam" run --out "${KSPAM_RUN_DIR:-runs/sample}" "$@"
