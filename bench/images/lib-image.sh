# shellcheck shell=bash
#
# bench/images/lib-image.sh — shared helpers for building deterministic test
# images out of real software files taken from npm package tarballs.
#
# Owns: fetching tarballs into the cache, unpacking them into a staging tree,
# normalising that tree (modes, mtimes), and turning a tree into a
# reproducible ext4 image. Sourced by:
#   sample-images/make-samples.sh   (the small committed pair)
#   bench/images/make-pair.sh       (bigger benchmark pairs)
#
# Reproducibility rules (same inputs -> byte-identical image on any host):
#   * tarballs come from the npm registry by exact version (immutable there);
#   * every file gets mode 0644/0755, every dir 0755, mtime = IMG_EPOCH;
#   * mke2fs runs with our own mke2fs.conf (not the host's), C locale (it
#     sorts directory entries with alphasort), a UUID and hash seed derived
#     from a label, E2FSPROGS_FAKE_TIME, and explicit lazy-init/discard;
#   * mke2fs 1.47.0 copies atime/ctime/uid/gid from the host's stat(), which
#     we cannot control, so a debugfs pass pins them afterwards.

IMG_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
IMG_REPO_ROOT="$(cd "$IMG_LIB_DIR/../.." && pwd)"
IMG_CACHE="${IMG_CACHE:-$IMG_REPO_ROOT/bench/work/cache}"
# 2024-01-01T00:00:00Z: every timestamp inside the images.
IMG_EPOCH=1704067200
IMG_BLOCK_SIZE=4096

img_log() { printf '%s\n' "$*" >&2; }
img_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

img_require_tools() {
  local tool
  for tool in npm tar mke2fs e2fsck debugfs dumpe2fs sha256sum truncate "$@"; do
    command -v "$tool" >/dev/null 2>&1 || img_die "missing tool: $tool"
  done
}

# File name `npm pack` gives a tarball: @scope/name@1.2.3 -> scope-name-1.2.3.tgz
img_tarball_name() {
  local name="$1" version="$2"
  local flat="${name#@}"
  printf '%s-%s.tgz\n' "${flat//\//-}" "$version"
}

# Print the path of the cached tarball for NAME@VERSION, downloading it once.
img_fetch_pkg() {
  local name="$1" version="$2"
  local file tmp
  file="$IMG_CACHE/$(img_tarball_name "$name" "$version")"
  if [[ ! -s "$file" ]]; then
    mkdir -p "$IMG_CACHE"
    tmp="$(mktemp -d "$IMG_CACHE/.download.XXXXXX")"
    img_log "  fetching $name@$version"
    if ! (cd "$tmp" && npm pack "$name@$version" --silent >/dev/null 2>npm.log); then
      cat "$tmp/npm.log" >&2
      rm -rf "$tmp"
      img_die "npm pack $name@$version failed"
    fi
    mv "$tmp/$(basename "$file")" "$file"
    rm -rf "$tmp"
  fi
  printf '%s\n' "$file"
}

# Unpack NAME@VERSION into DEST (the tarball's top folder is dropped).
img_extract_pkg() {
  local name="$1" version="$2" dest="$3"
  local tgz
  tgz="$(img_fetch_pkg "$name" "$version")"
  mkdir -p "$dest"
  tar -xzf "$tgz" -C "$dest" --strip-components=1 \
    --no-same-owner --no-same-permissions
}

# Total size of the regular files under DIR, each rounded up to whole blocks
# (computed from file sizes, so it does not depend on the host filesystem).
img_tree_bytes() {
  find "$1" -type f -printf '%s\n' |
    awk -v bs="$IMG_BLOCK_SIZE" '{ t += int(($1 + bs - 1) / bs) * bs } END { printf "%d\n", t }'
}

# Give every entry under DIR a fixed mode and mtime.
img_normalize_tree() {
  local dir="$1"
  find "$dir" -type d -exec chmod 0755 {} +
  find "$dir" -type f -perm /111 -exec chmod 0755 {} +
  find "$dir" -type f ! -perm /111 -exec chmod 0644 {} +
  find "$dir" -exec touch -h -d "@$IMG_EPOCH" {} +
}

# A stable, valid-looking UUID derived from LABEL.
img_uuid() {
  local h
  h="$(printf '%s' "$1" | sha256sum | cut -c1-32)"
  printf '%s-%s-5%s-a%s-%s\n' "${h:0:8}" "${h:8:4}" "${h:13:3}" "${h:17:3}" "${h:20:12}"
}

# Our own mke2fs.conf so the host's /etc/mke2fs.conf cannot change the result.
# Features follow a typical read-only Android ext4 partition: no journal,
# extents, flex_bg, 64bit, metadata checksums.
img_write_mke2fs_conf() {
  cat >"$1" <<'EOF'
[defaults]
	blocksize = 4096
	inode_size = 256
	inode_ratio = 16384
	reserved_ratio = 0.0
	enable_periodic_fsck = 0

[fs_types]
	ext4 = {
		features = sparse_super,large_file,filetype,dir_index,ext_attr,extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,extra_isize,^has_journal,^resize_inode
	}
	default = {
		inode_ratio = 16384
	}
EOF
}

# Refuse names debugfs' command parser could misread.
img_check_paths() {
  local bad nl=$'\n'
  bad="$(cd "$1" && find . -name '*"*' -o -name "*${nl}*" -o -name '*\\*' | head -n 1)"
  [[ -z "$bad" ]] || img_die "unsupported character in file name: $bad"
}

# Pin the inode fields mke2fs copied from the host (atime, ctime, crtime,
# uid, gid) for every entry of SRC inside IMG.
img_pin_inodes() {
  local src="$1" img="$2" cmds="$3"
  {
    printf '/\n'
    (cd "$src" && find . -mindepth 1 | LC_ALL=C sort | cut -c2-)
  } | awk -v t="@$IMG_EPOCH" '{
      p = "\"" $0 "\""
      printf "sif %s uid 0\nsif %s gid 0\n", p, p
      n = split("atime ctime mtime crtime", f, " ")
      for (i = 1; i <= n; i++) printf "sif %s %s %s\nsif %s %s_extra 0\n", p, f[i], t, p, f[i]
    }' >"$cmds"
  E2FSPROGS_FAKE_TIME="$IMG_EPOCH" debugfs -w -f "$cmds" "$img" >"$cmds.log" 2>&1 ||
    { cat "$cmds.log" >&2; img_die "debugfs failed on $img"; }
  # debugfs echoes each command as "debugfs: ..."; anything else is a complaint.
  if grep -v -E '^debugfs( 1\.|: )' "$cmds.log" >"$cmds.err"; then
    head -n 20 "$cmds.err" >&2
    img_die "debugfs reported problems on $img"
  fi
}

# e2fsck in read-only mode; dies unless the image is clean.
img_fsck() {
  local img="$1" out
  if ! out="$(e2fsck -fn "$img" 2>&1)"; then
    printf '%s\n' "$out" >&2
    img_die "e2fsck found problems in $img"
  fi
  printf '%s\n' "$out" | tail -n 1
}

# Build IMG (SIZE_MIB MiB, ext4) from the tree SRC. LABEL seeds the UUID and
# the directory hash seed; VOLNAME is the ext4 volume label; INODES (optional)
# overrides the inode count (default: one per 16 KiB).
img_mkfs_ext4() {
  local src="$1" img="$2" size_mib="$3" label="$4" volname="$5" inodes="${6:-}"
  local tmp uuid
  local -a extra=()
  if [[ -n "$inodes" ]]; then extra=(-N "$inodes"); fi
  tmp="$(mktemp -d)"
  uuid="$(img_uuid "$label")"
  img_check_paths "$src"
  img_write_mke2fs_conf "$tmp/mke2fs.conf"
  rm -f "$img"
  truncate -s "$((size_mib * 1024 * 1024))" "$img"
  LC_ALL=C MKE2FS_CONFIG="$tmp/mke2fs.conf" E2FSPROGS_FAKE_TIME="$IMG_EPOCH" \
    mke2fs -q -F -t ext4 -T default -b "$IMG_BLOCK_SIZE" -m 0 \
      -L "$volname" -M "/$volname" -U "$uuid" "${extra[@]}" \
      -E "hash_seed=$uuid,root_owner=0:0,nodiscard,lazy_itable_init=0" \
      -d "$src" "$img" >"$tmp/mke2fs.log" 2>&1 ||
    { cat "$tmp/mke2fs.log" >&2; rm -rf "$tmp"; img_die "mke2fs failed for $img"; }
  img_pin_inodes "$src" "$img" "$tmp/debugfs.cmds"
  rm -rf "$tmp"
}

# Number of entries (files, dirs, links) under DIR, not counting DIR.
img_tree_entries() {
  find "$1" -mindepth 1 -printf '.' | wc -c
}

# "used/total blocks" of an ext4 image, as a percentage.
img_fill_percent() {
  dumpe2fs -h "$1" 2>/dev/null | awk -F: '
    /^Block count/ { total = $2 + 0 }
    /^Free blocks/ { free = $2 + 0 }
    END { if (total) printf "%d\n", (total - free) * 100 / total }'
}
