#!/usr/bin/env bash
# Kind repeat (issue 17, done-when 6: "phone scale"): a pair made of another pair's images, each
# concatenated COUNT times (old.img = base old.img x COUNT, new.img = base new.img x COUNT).
# Each image is written to a temporary file and renamed, so a half-written image never looks done.
# Usage: make-repeat-pair.sh BASE_DIR COUNT OUT_DIR
set -euo pipefail
base=$1 count=$2 out=$3
mkdir -p "$out"
for img in old.img new.img; do
  parts=()
  for ((i = 0; i < count; i++)); do parts+=("$base/$img"); done
  cat "${parts[@]}" >"$out/$img.tmp"
  mv -f "$out/$img.tmp" "$out/$img"
done
