#!/usr/bin/env bash
#
# sample-images/make-samples.sh — builds the small committed image pair.
#
# Owns: sample-images/system-v1.img, system-v2.img (8 MiB ext4 each),
# their sparse forms system-v1.simg, system-v2.simg, and SHA256SUMS.
# The images hold real files from npm packages at two versions, laid out
# like a phone system partition; v2 is a "patch update" of v1.
#
# Usage: sample-images/make-samples.sh
# Env:   IMG_CACHE  tarball cache (default bench/work/cache)
#
# Deterministic: running it twice gives byte-identical outputs (see
# bench/images/lib-image.sh for how).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/../bench/images/lib-image.sh
source "$HERE/../bench/images/lib-image.sh"

IMAGE_MIB=8

# place-in-image  package  v1-version  v2-version   ("-" = absent)
# mke2fs lays files out in name order, so the removed and the added package
# sit last (xbin/): the update changes files in place and only the tail moves.
PACKAGES=(
  "framework/react     react      18.3.0  18.3.1"
  "framework/scheduler scheduler  0.23.2  0.23.2"
  "framework/semver    semver     7.6.2   7.6.3"
  "lib64/rollup    @rollup/rollup-linux-x64-gnu    4.24.0  4.24.1"
  "lib64/xxhash    @node-rs/xxhash-linux-x64-gnu   1.7.6   1.7.6"
  "xbin/fswatch    @parcel/watcher-linux-x64-glibc 2.4.1   -"
  "xbin/crc32      @node-rs/crc32-linux-x64-gnu    -       1.10.6"
)

# build.prop text for release number N (1 = v1, 2 = v2).
write_build_prop() {
  local file="$1" n="$2"
  mkdir -p "$(dirname "$file")"
  cat >"$file" <<EOF
# ota-build sample system partition
ro.build.id=OTAB.240101.00$n
ro.build.version.incremental=100$n
ro.build.fingerprint=ota-build/sample/generic:14/OTAB.240101.00$n/100$n:user/release-keys
ro.product.name=sample
EOF
}

# Fill STAGE/system with the files of release N (column 3 or 4 of PACKAGES).
stage_release() {
  local stage="$1" n="$2"
  local line place name v1 v2 version
  rm -rf "$stage"
  mkdir -p "$stage/system"
  for line in "${PACKAGES[@]}"; do
    read -r place name v1 v2 <<<"$line"
    if [[ "$n" == 1 ]]; then version="$v1"; else version="$v2"; fi
    [[ "$version" == "-" ]] && continue
    img_extract_pkg "$name" "$version" "$stage/system/$place"
  done
  write_build_prop "$stage/system/build.prop" "$n"
  img_normalize_tree "$stage"
}

build_release() {
  local work="$1" n="$2"
  local img="$HERE/system-v$n.img"
  stage_release "$work/v$n" "$n"
  img_mkfs_ext4 "$work/v$n" "$img" "$IMAGE_MIB" "ota-build-sample-system-v$n" system
  img_log "system-v$n.img: $(img_fsck "$img") ($(img_fill_percent "$img")% used)"
  img2simg "$img" "$HERE/system-v$n.simg"
}

main() {
  img_require_tools img2simg
  WORK="$(mktemp -d)"
  trap 'rm -rf "$WORK"' EXIT
  build_release "$WORK" 1
  build_release "$WORK" 2
  (cd "$HERE" && sha256sum system-v1.img system-v2.img system-v1.simg system-v2.simg >SHA256SUMS)
  cat "$HERE/SHA256SUMS"
}

main "$@"
