#!/usr/bin/env python3
#
# bench/images/zip-tree.py — zips a folder the way APK/JAR builders do: every
# file a deflate member (zlib at the given level, windowBits -15, memLevel 8),
# local headers with sizes, no data descriptors. Used by make-pair.sh (kind apk).
#
# Usage: zip-tree.py <dir> <out.apk> <level 1..9>
# Deterministic: members in byte order of their paths, every timestamp
# 2024-01-01 00:00:00, mode 0644, no extra fields, so the same tree and level
# give the same archive (the deflate bytes are the host zlib's; zlib 1.2.x and
# 1.3.x give identical streams).
import os
import sys
import zipfile


def main() -> None:
    if len(sys.argv) != 4:
        sys.exit("usage: zip-tree.py <dir> <out.apk> <level 1..9>")
    src, out, level = sys.argv[1], sys.argv[2], int(sys.argv[3])
    paths = []
    for root, _dirs, files in os.walk(src):
        for name in files:
            full = os.path.join(root, name)
            paths.append(os.path.relpath(full, src).replace(os.sep, "/"))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
        for rel in sorted(paths, key=lambda p: p.encode()):
            info = zipfile.ZipInfo(rel, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o100644 << 16
            info.create_system = 3
            with open(os.path.join(src, rel), "rb") as f:
                z.writestr(info, f.read(), compresslevel=level)


if __name__ == "__main__":
    main()
