#!/usr/bin/env bash
#
# bench/images/make-pair.sh — builds an old/new image pair for benchmarks.
#
# Owns: <outdir>/old.img, <outdir>/new.img and <outdir>/pair.txt (what went
# in). Packages and versions come from bench/images/catalog.tsv.
#
# Usage: bench/images/make-pair.sh <kind> <sizeMiB> <outdir>
#   kind patch  ext4; most files unchanged, a dozen or so binaries/JS bundles
#               bumped by a patch version (catalog column "patch")
#   kind major  ext4; same files as "patch" in old.img, every package moved
#               to a later minor/major version (catalog column "major")
#   kind blob   raw blob, no filesystem: the ELF binaries of the native
#               packages (catalog rows under bin/ and lib64/) laid end to
#               end, 4 KiB aligned, at v1 vs the patch version, zero-padded
#               to exactly sizeMiB
# Env:
#   IMG_CACHE   tarball cache (default bench/work/cache)
#   IMG_WORK    scratch space (default bench/work); staging is removed after
#
# File content fills about FILL_TARGET % of sizeMiB (never past FILL_LIMIT %;
# ext4 metadata adds a few % more), going down the catalog; when it runs
# out, packages repeat under the next partition folder (product/,
# system_ext/, ...). mke2fs places files in name order, so a file added or
# grown early in the tree moves the blocks of everything after it: many
# more bytes differ between old and new than the changed files account for,
# as in an update built without a block map of the previous build.
# Deterministic: same arguments -> byte-identical images (see lib-image.sh).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/lib-image.sh
source "$HERE/lib-image.sh"

CATALOG="$HERE/catalog.tsv"
IMG_WORK="${IMG_WORK:-$IMG_REPO_ROOT/bench/work}"
FILL_TARGET=60
FILL_LIMIT=80
PARTITIONS=(system product system_ext vendor odm oem)

usage() {
  sed -n '/^# Usage:/,/^# Env:/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

# Catalog rows without comments: "place package v1 patch major".
catalog_rows() {
  grep -v -E '^[[:space:]]*(#|$)' "$CATALOG"
}

# Version a catalog row has in new.img for KIND.
new_version() {
  local kind="$1" v1="$2" patch="$3" major="$4"
  local v
  case "$kind" in
    major) v="$major" ;;
    *) v="$patch" ;;
  esac
  [[ "$v" == "=" ]] && v="$v1"
  printf '%s\n' "$v"
}

# build.prop for a partition: release 1 (old) or 2 (new), per kind.
write_build_prop() {
  local file="$1" part="$2" build_id="$3"
  cat >"$file" <<EOF
# ota-build benchmark $part partition
ro.$part.build.id=$build_id
ro.$part.build.fingerprint=ota-build/bench/generic:14/$build_id/eng:user/release-keys
EOF
}

build_id_for() {
  case "$1" in
    old) echo OTAB.240101.001 ;;
    patch) echo OTAB.240101.002 ;;
    major) echo OTAB.250601.001 ;;
    blob) echo OTAB.240101.002 ;;
  esac
}

# --- ext4 pairs -----------------------------------------------------------

# Fill STAGE/old and STAGE/new from the catalog until old holds about
# FILL_TARGET % of SIZE_MIB. Appends "part/place package v1 -> vN" lines to
# STAGE/packages.txt.
stage_ext4_trees() {
  local kind="$1" size_mib="$2" stage="$3"
  local target=$((size_mib * 1048576 * FILL_TARGET / 100))
  local limit=$((size_mib * 1048576 * FILL_LIMIT / 100))
  local used=0 copy=0 added part place name v1 patch major vnew bytes
  mkdir -p "$stage/old" "$stage/new"
  : >"$stage/packages.txt"
  while ((used < target && copy < ${#PARTITIONS[@]})); do
    part="${PARTITIONS[$copy]}"
    added=0
    while read -r place name v1 patch major; do
      ((used < target)) || break
      img_extract_pkg "$name" "$v1" "$stage/old/$part/$place"
      bytes="$(img_tree_bytes "$stage/old/$part/$place")"
      if ((used + bytes > limit)); then
        rm -rf "${stage:?}/old/$part/$place"
        continue
      fi
      vnew="$(new_version "$kind" "$v1" "$patch" "$major")"
      img_extract_pkg "$name" "$vnew" "$stage/new/$part/$place"
      used=$((used + bytes))
      added=1
      printf '%s/%s %s %s -> %s\n' "$part" "$place" "$name" "$v1" "$vnew" >>"$stage/packages.txt"
    done < <(catalog_rows)
    ((added)) || break
    write_build_prop "$stage/old/$part/build.prop" "$part" "$(build_id_for old)"
    write_build_prop "$stage/new/$part/build.prop" "$part" "$(build_id_for "$kind")"
    copy=$((copy + 1))
  done
  img_normalize_tree "$stage/old"
  img_normalize_tree "$stage/new"
}

# Inode count for both images: entries of the old tree plus 50 % (like a
# partition sized once and kept across updates; old.img is then the same for
# kinds patch and major).
pair_inode_count() {
  echo $(($(img_tree_entries "$1") * 3 / 2 + 64))
}

# "files N, changed C, added A, removed R" between two trees.
tree_changes() {
  local old="$1" new="$2" f changed=0
  local -a common
  mapfile -t common < <(comm -12 <(cd "$old" && find . -type f | LC_ALL=C sort) \
                                 <(cd "$new" && find . -type f | LC_ALL=C sort))
  for f in "${common[@]}"; do
    cmp -s "$old/$f" "$new/$f" || changed=$((changed + 1))
  done
  printf 'files %d -> %d, changed %d, added %d, removed %d\n' \
    "$(cd "$old" && find . -type f | wc -l)" "$(cd "$new" && find . -type f | wc -l)" "$changed" \
    "$(comm -13 <(cd "$old" && find . -type f | LC_ALL=C sort) <(cd "$new" && find . -type f | LC_ALL=C sort) | wc -l)" \
    "$(comm -23 <(cd "$old" && find . -type f | LC_ALL=C sort) <(cd "$new" && find . -type f | LC_ALL=C sort) | wc -l)"
}

make_ext4_pair() {
  local kind="$1" size_mib="$2" out="$3" stage="$4"
  local inodes img
  stage_ext4_trees "$kind" "$size_mib" "$stage"
  inodes="$(pair_inode_count "$stage/old")"
  img_mkfs_ext4 "$stage/old" "$out/old.img" "$size_mib" "bench-${size_mib}MiB-old" system "$inodes"
  img_mkfs_ext4 "$stage/new" "$out/new.img" "$size_mib" "bench-${size_mib}MiB-$kind-new" system "$inodes"
  {
    echo "kind: $kind (ext4, ${size_mib} MiB, $inodes inodes)"
    for img in old new; do
      echo "$img.img: $(img_fill_percent "$out/$img.img")% used, e2fsck: $(img_fsck "$out/$img.img")"
    done
    echo "trees: $(tree_changes "$stage/old" "$stage/new")"
    echo "packages (old -> new):"
    sed 's/^/  /' "$stage/packages.txt"
  } >"$stage/summary.txt"
}

# --- raw blob -------------------------------------------------------------

# The ELF files under DIR, in name order, one path per line.
elf_files() {
  local f
  while IFS= read -r f; do
    [[ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" == '177ELF' ]] && printf '%s\n' "$f"
  done < <(find "$1" -type f | LC_ALL=C sort)
  return 0
}

# Append FILES... to BLOB, then zero-pad BLOB to a 4 KiB boundary.
append_aligned() {
  local blob="$1"
  shift
  cat "$@" >>"$blob"
  truncate -s %4096 "$blob"
}

bytes_of() {
  local total=0 f
  for f in "$@"; do total=$((total + $(stat -c %s "$f"))); done
  echo $(((total + 4095) / 4096 * 4096))
}

make_blob_pair() {
  local size_mib="$1" out="$2" stage="$3"
  local size=$((size_mib * 1048576))
  local target=$((size * FILL_TARGET / 100)) limit=$((size * FILL_LIMIT / 100))
  local used=0 copy=0 added piece=0 place name v1 patch major vnew bytes
  local -a old_elves new_elves
  : >"$out/old.img"
  : >"$out/new.img"
  : >"$stage/packages.txt"
  while ((used < target && copy < ${#PARTITIONS[@]})); do
    added=0
    while read -r place name v1 patch major; do
      ((used < target)) || break
      [[ "$place" == bin/* || "$place" == lib64/* ]] || continue
      vnew="$(new_version patch "$v1" "$patch" "$major")"
      rm -rf "$stage/old" "$stage/new"
      img_extract_pkg "$name" "$v1" "$stage/old"
      img_extract_pkg "$name" "$vnew" "$stage/new"
      mapfile -t old_elves < <(elf_files "$stage/old")
      mapfile -t new_elves < <(elf_files "$stage/new")
      ((${#old_elves[@]} && ${#new_elves[@]})) || continue
      bytes="$(bytes_of "${old_elves[@]}")"
      (($(bytes_of "${new_elves[@]}") > bytes)) && bytes="$(bytes_of "${new_elves[@]}")"
      ((used + bytes <= limit)) || continue
      printf '%10d %s %s -> %s (%d ELF)\n' "$(stat -c %s "$out/old.img")" "$name" "$v1" "$vnew" \
        "${#old_elves[@]}" >>"$stage/packages.txt"
      append_aligned "$out/old.img" "${old_elves[@]}"
      append_aligned "$out/new.img" "${new_elves[@]}"
      used=$((used + bytes))
      added=1
      piece=$((piece + 1))
    done < <(catalog_rows)
    ((added)) || break
    copy=$((copy + 1))
  done
  truncate -s "$size" "$out/old.img" "$out/new.img"
  {
    echo "kind: blob (raw, ${size_mib} MiB, $piece pieces, $((used * 100 / size))% non-padding)"
    echo "pieces (offset in old.img, package old -> new):"
    sed 's/^/  /' "$stage/packages.txt"
  } >"$stage/summary.txt"
}

# --- main -----------------------------------------------------------------

print_result() {
  local out="$1" stage="$2" img
  cat "$stage/summary.txt"
  for img in old new; do
    printf '%s  %s (%d bytes)\n' "$(sha256sum <"$out/$img.img" | cut -d' ' -f1)" \
      "$out/$img.img" "$(stat -c %s "$out/$img.img")"
  done
}

main() {
  [[ $# -eq 3 ]] || usage
  local kind="$1" size_mib="$2" out="$3"
  [[ "$kind" =~ ^(patch|major|blob)$ ]] || usage
  [[ "$size_mib" =~ ^[1-9][0-9]*$ ]] || usage
  img_require_tools cmp comm od
  mkdir -p "$out" "$IMG_WORK"
  out="$(cd "$out" && pwd)"
  STAGE="$(mktemp -d "$IMG_WORK/staging.XXXXXX")"
  trap 'rm -rf "$STAGE"' EXIT
  if [[ "$kind" == blob ]]; then
    make_blob_pair "$size_mib" "$out" "$STAGE"
  else
    make_ext4_pair "$kind" "$size_mib" "$out" "$STAGE"
  fi
  print_result "$out" "$STAGE" | tee "$out/pair.txt"
}

main "$@"
