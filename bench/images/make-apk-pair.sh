#!/usr/bin/env bash
#
# bench/images/make-apk-pair.sh — builds an APK-like old/new image pair for
# benchmarks of the deflate-aware differ (issue 18).
#
# Owns: <outdir>/old.img, <outdir>/new.img and <outdir>/pair.txt (what went
# in). Packages and versions come from bench/images/catalog.tsv; tarballs,
# normalising and mke2fs from lib-image.sh (as make-pair.sh does).
#
# Usage: bench/images/make-apk-pair.sh apk <sizeMiB> <outdir>
#   kind apk    ext4; each JS package of the catalog (rows under framework/)
#               zipped into app/<name>/<name>.apk by zip-tree.py: every file
#               a deflate member made by zlib at levels 6, 9, 6, 1 in turn
#               (the common ones), old at v1, new at the "patch" version
# Env:
#   IMG_CACHE   tarball cache (default bench/work/cache)
#   IMG_WORK    scratch space (default bench/work); staging is removed after
#
# Packages are added in catalog order until the archives fill about
# FILL_TARGET % of sizeMiB (never past FILL_LIMIT %). Deterministic: same
# arguments and host zlib (1.2.x/1.3.x give identical streams) ->
# byte-identical images.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/lib-image.sh
source "$HERE/lib-image.sh"

CATALOG="$HERE/catalog.tsv"
IMG_WORK="${IMG_WORK:-$IMG_REPO_ROOT/bench/work}"
FILL_TARGET=60
FILL_LIMIT=80
APK_LEVELS=(6 9 6 1)

usage() {
  sed -n '/^# Usage:/,/^# Env:/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

write_build_prop() {
  cat >"$1" <<EOF
# ota-build benchmark system partition
ro.system.build.id=$2
ro.system.build.fingerprint=ota-build/bench/generic:14/$2/eng:user/release-keys
EOF
}

# Fill STAGE/old and STAGE/new with one .apk per JS package.
stage_apk_trees() {
  local size_mib="$1" stage="$2"
  local target=$((size_mib * 1048576 * FILL_TARGET / 100))
  local limit=$((size_mib * 1048576 * FILL_LIMIT / 100))
  local used=0 n=0 place name v1 patch major vnew bytes app level side version
  mkdir -p "$stage/old" "$stage/new"
  : >"$stage/packages.txt"
  while read -r place name v1 patch major; do
    ((used < target)) || break
    [[ "$place" == framework/* ]] || continue
    app="${place#framework/}"
    level="${APK_LEVELS[$((n % ${#APK_LEVELS[@]}))]}"
    vnew="$v1"
    [[ "$patch" == "=" ]] || vnew="$patch"
    for side in old new; do
      version="$v1"
      [[ "$side" == new ]] && version="$vnew"
      rm -rf "$stage/pkg"
      img_extract_pkg "$name" "$version" "$stage/pkg"
      img_normalize_tree "$stage/pkg"
      mkdir -p "$stage/$side/app/$app"
      python3 "$HERE/zip-tree.py" "$stage/pkg" "$stage/$side/app/$app/$app.apk" "$level"
    done
    bytes="$(img_tree_bytes "$stage/old/app/$app")"
    if ((used + bytes > limit)); then
      rm -rf "${stage:?}/old/app/$app" "${stage:?}/new/app/$app"
      continue
    fi
    used=$((used + bytes))
    n=$((n + 1))
    printf 'app/%s.apk %s %s -> %s (zlib level %s)\n' "$app" "$name" "$v1" "$vnew" "$level" >>"$stage/packages.txt"
  done < <(grep -v -E '^[[:space:]]*(#|$)' "$CATALOG")
  rm -rf "$stage/pkg"
  write_build_prop "$stage/old/build.prop" OTAB.240101.001
  write_build_prop "$stage/new/build.prop" OTAB.240101.002
  img_normalize_tree "$stage/old"
  img_normalize_tree "$stage/new"
}

main() {
  [[ $# -eq 3 && "$1" == apk ]] || usage
  local size_mib="$2" out="$3" inodes img
  [[ "$size_mib" =~ ^[1-9][0-9]*$ ]] || usage
  img_require_tools python3 cmp
  mkdir -p "$out" "$IMG_WORK"
  out="$(cd "$out" && pwd)"
  STAGE="$(mktemp -d "$IMG_WORK/staging.XXXXXX")"
  trap 'rm -rf "$STAGE"' EXIT
  stage_apk_trees "$size_mib" "$STAGE"
  inodes=$(($(img_tree_entries "$STAGE/old") * 3 / 2 + 64))
  img_mkfs_ext4 "$STAGE/old" "$out/old.img" "$size_mib" "bench-${size_mib}MiB-apk-old" system "$inodes"
  img_mkfs_ext4 "$STAGE/new" "$out/new.img" "$size_mib" "bench-${size_mib}MiB-apk-new" system "$inodes"
  {
    echo "kind: apk (ext4, ${size_mib} MiB, $inodes inodes)"
    for img in old new; do
      echo "$img.img: $(img_fill_percent "$out/$img.img")% used, e2fsck: $(img_fsck "$out/$img.img")"
    done
    echo "archives (old -> new):"
    sed 's/^/  /' "$STAGE/packages.txt"
    for img in old new; do
      printf '%s  %s (%d bytes)\n' "$(sha256sum <"$out/$img.img" | cut -d' ' -f1)" \
        "$out/$img.img" "$(stat -c %s "$out/$img.img")"
    done
  } | tee "$out/pair.txt"
}

main "$@"
