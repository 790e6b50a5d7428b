#!/usr/bin/env bash
#
# bench/images/make-arm64-pair.sh — builds an AArch64 old/new image pair for
# benchmarks of the exec-aware differ (issue 18).
#
# Owns: <outdir>/old.img, <outdir>/new.img and <outdir>/pair.txt (what went
# in). The shared libraries of two Debian 12 arm64 security versions of each
# package in PACKAGES (fetched with `apt-get download`, cached as .deb files),
# unpacked into an ext4 image as make-pair.sh's trees are (lib-image.sh).
#
# Usage: bench/images/make-arm64-pair.sh arm64 <sizeMiB> <outdir>
#   kind arm64  ext4; lib64/: (usr/)lib/aarch64-linux-gnu/ of libc6 and libssl3 (every
#               file the packages hold there: libc, ld.so, gconv modules,
#               libssl, libcrypto, engines), old at the first version,
#               new at the second
# Env:
#   IMG_CACHE   .deb cache (default bench/work/cache; debs go in deb-arm64/)
#   IMG_WORK    scratch space (default bench/work); staging is removed after
# Needs: the arm64 architecture in dpkg (as root: `dpkg --add-architecture
# arm64 && apt-get update`), dpkg-deb. Deterministic: same .deb files ->
# byte-identical images.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/lib-image.sh
source "$HERE/lib-image.sh"

IMG_WORK="${IMG_WORK:-$IMG_REPO_ROOT/bench/work}"
DEB_CACHE="$IMG_CACHE/deb-arm64"
# package old-version new-version (Debian 12 bookworm / bookworm-security)
PACKAGES=(
  "libc6 2.36-9+deb12u7 2.36-9+deb12u14"
  "libssl3 3.0.20-1~deb12u2 3.0.22-1~deb12u2"
)

usage() {
  sed -n '/^# Usage:/,/^# Env:/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

write_build_prop() {
  cat >"$1" <<PROP
# ota-build benchmark system partition
ro.system.build.id=$2
ro.system.build.fingerprint=ota-build/bench/generic:14/$2/eng:user/release-keys
PROP
}

# The cached .deb of NAME VERSION for arm64, downloaded once.
fetch_deb() {
  local name="$1" version="$2" file
  file="$DEB_CACHE/${name}_${version//:/%3a}_arm64.deb"
  if [[ ! -s "$file" ]]; then
    mkdir -p "$DEB_CACHE"
    (cd "$DEB_CACHE" && apt-get download -q "$name:arm64=$version" >&2) ||
      img_die "apt-get download $name:arm64=$version failed (is arm64 added? see Needs)"
  fi
  [[ -s "$file" ]] || img_die "no $file after apt-get download"
  printf '%s\n' "$file"
}

stage_trees() {
  local stage="$1" line name v_old v_new side version deb
  mkdir -p "$stage/old" "$stage/new"
  : >"$stage/packages.txt"
  for line in "${PACKAGES[@]}"; do
    read -r name v_old v_new <<<"$line"
    for side in old new; do
      version="$v_old"
      [[ "$side" == new ]] && version="$v_new"
      deb="$(fetch_deb "$name" "$version")"
      rm -rf "$stage/deb"
      dpkg-deb -x "$deb" "$stage/deb"
      mkdir -p "$stage/$side/lib64"
      for dir in lib/aarch64-linux-gnu usr/lib/aarch64-linux-gnu; do
        if [[ -d "$stage/deb/$dir" ]]; then cp -a "$stage/deb/$dir/." "$stage/$side/lib64/"; fi
      done
    done
    printf '%s %s -> %s (%s)\n' "$name" "$v_old" "$v_new" "$(sha256sum "$deb" | cut -c1-16)" >>"$stage/packages.txt"
  done
  rm -rf "$stage/deb"
  write_build_prop "$stage/old/build.prop" OTAB.240101.001
  write_build_prop "$stage/new/build.prop" OTAB.240101.002
  img_normalize_tree "$stage/old"
  img_normalize_tree "$stage/new"
}

main() {
  [[ $# -eq 3 && "$1" == arm64 ]] || usage
  local size_mib="$2" out="$3" inodes img
  [[ "$size_mib" =~ ^[1-9][0-9]*$ ]] || usage
  img_require_tools dpkg-deb apt-get cmp
  mkdir -p "$out" "$IMG_WORK"
  out="$(cd "$out" && pwd)"
  STAGE="$(mktemp -d "$IMG_WORK/staging.XXXXXX")"
  trap 'rm -rf "$STAGE"' EXIT
  stage_trees "$STAGE"
  inodes=$(($(img_tree_entries "$STAGE/old") * 3 / 2 + 64))
  img_mkfs_ext4 "$STAGE/old" "$out/old.img" "$size_mib" "bench-${size_mib}MiB-arm64-old" system "$inodes"
  img_mkfs_ext4 "$STAGE/new" "$out/new.img" "$size_mib" "bench-${size_mib}MiB-arm64-new" system "$inodes"
  {
    echo "kind: arm64 (ext4, ${size_mib} MiB, $inodes inodes)"
    for img in old new; do
      echo "$img.img: $(img_fill_percent "$out/$img.img")% used, e2fsck: $(img_fsck "$out/$img.img")"
    done
    echo "packages (old -> new, new .deb sha256 prefix):"
    sed 's/^/  /' "$STAGE/packages.txt"
    for img in old new; do
      printf '%s  %s (%d bytes)\n' "$(sha256sum <"$out/$img.img" | cut -d' ' -f1)" \
        "$out/$img.img" "$(stat -c %s "$out/$img.img")"
    done
  } | tee "$out/pair.txt"
}

main "$@"
