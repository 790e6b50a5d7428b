#!/usr/bin/env python3
"""An independent reader and applier of ota-build packages (.otapkg).

Written from docs/FORMAT.md alone ("ota-build package format, version 1.7", including its 1.7
clarification) and the protobuf schema it links (proto/ota_package.proto), never from src/: the
conformance test test/interop/independent-reader.test.ts runs it on every package kind the builder
writes, so CI proves that a reader written from the page applies what the builder makes. Section
marks such as "§4b" name the FORMAT.md section each part follows.

usage: ota_reader.py PKG --keys DIR [--old OLD] [-o OUT] [--in-place]

  PKG         the package file
  --keys DIR  the pinned public keys: every *.pub.pem in DIR (§5: the signature block whose key
              id, the sha256 of the key's SPKI DER, is one of them is checked)
  --old OLD   the old image; for a release package (more than one partition, or a release
              layout) a folder of <partition>.img
  -o OUT      write the new image (a folder of <partition>.img for a release package); the file
              is written only after every check passed
  --in-place  apply an in-place package (§4b) to the --old image file itself, rewriting it where
              it is (use a copy); without it an in-place package is applied A/B style to -o

Prints what it did to stderr, ending with an "ops:" line (op counts by kind, e.g.
"ops: COPY=3 DIFF/zstd-dict=4 ZERO=3") and a "features:" line (the decoder paths a package
exercised), which the conformance test checks. Exit 0 on success; on refusal one line
"REFUSED <CODE>: <detail>" and the exit code FORMAT.md gives for CODE (4 package, 5 wrong base or
content, 6 signature, 7 newer format or unknown id); 1 for an environment problem (a tool
missing), 2 for bad usage.

Implements:
  §1-§2  layout and header checks; §5 signature sections (1..4 blocks, padding, same keys in
         both sections) and both signatures, verified with the openssl CLI as §5's recipe does;
  §3-§4  strict protobuf decoding, the canonical re-encode (stash_ids written unpacked, one tag
         per id), the target-header ranges and the manifest invariants (op fields, extents,
         exact cover, DONT_CARE, blob order, op limits, minor-version features, counts);
  §4b    the in-place proof (steps 1-6) and in-place application with STASH/FREE, or A/B
         application of an in-place package;
  §4     every codec (none, gzip, brotli, zstd, xz with the LZMA2, x86-BCJ and ARM64-BCJ
         chains) and differ (bsdiff, zstd-dict, bsdf2, bsdiff-lzma, deflate-aware with zlib and
         recipe segments, exec-aware for AArch64 and x86-64 with label tables), with the
         decoder-memory and size rules §4 lists; sourceless DIFFs (1.4) and target sources (1.6);
  §6     the reading order: metadata signature before decoding, every base checked before
         anything is written, payload signature before the ops, each blob's and source's sha256
         before use, each output checked against target.sha256 before it is written.

Deliberately not implemented: streaming and its checkpoints (§6a), resuming an interrupted
in-place apply (§4b: only a fresh image, or one already at the target, is accepted), a stash
folder and fsync ordering (stashes live in memory), device profiles and their limits
(DEVICE_LIMIT_EXCEEDED), --device-target and anti-rollback timestamps, sparse output (the output
is raw, DONT_CARE blocks as zeros), the proof's step budget (§4b step 7) and counting limits on the
wire before decoding (§4: counts are checked after decoding), partition_layouts' file names (a
release is read and written as <partition>.img). Images are held in memory: it is a conformance
tool, not a device updater.

Needs Python 3.8+ (standard library only: its zlib must be madler's 1.2.13 or later for
deflate-aware, and its lzma's liblzma 5.4 or later for the ARM64 filter), and on PATH: the
`openssl` CLI (signatures, key ids), the `zstd` CLI (zstd blobs and zstd-dict patches) and `node`
(brotli: Node's built-in zlib decodes it through `node -e`, as Python has no brotli module).
"""
import argparse
import bisect
import bz2
import hashlib
import lzma
import os
import re
import struct
import subprocess
import sys
import tempfile
import zlib

FORMAT_MAJOR = 1
READER_MINOR = 7

# The exit code of each refusal code, as FORMAT.md names them.
EXIT_CODES = {
    'PKG_TRUNCATED': 4, 'PKG_BAD_MAGIC': 4, 'PKG_UNSUPPORTED_VERSION': 4, 'PKG_BAD_HEADER': 4,
    'PKG_BAD_LENGTH': 4, 'PKG_SIZE_MISMATCH': 4, 'PKG_BAD_SIGNATURE_BLOCK': 4, 'PKG_BAD_MANIFEST': 4,
    'PKG_NON_CANONICAL': 4, 'PKG_IN_PLACE_UNSAFE': 4, 'BLOB_DECODE_FAILED': 4,
    'WRONG_BASE': 5, 'SOURCE_MISMATCH': 5, 'BLOB_HASH_MISMATCH': 5, 'OUTPUT_MISMATCH': 5,
    'SIG_MISSING': 6, 'SIG_KEY_MISMATCH': 6, 'SIG_WRONG_KEY': 6, 'SIG_METADATA_INVALID': 6, 'SIG_PAYLOAD_INVALID': 6,
    'PKG_NEWER_MINOR': 7, 'UNKNOWN_CODEC': 7, 'UNKNOWN_DIFFER': 7,
}


class Refuse(Exception):
    """A refusal: a FORMAT.md code and a one-line detail."""

    def __init__(self, code, detail=''):
        super().__init__('%s: %s' % (code, detail) if detail else code)
        self.code = code


class EnvironmentProblem(Exception):
    """The reader cannot run here (a tool missing or unsuitable): not the package's fault."""


# Op counts and decoder paths taken, printed at the end ("ops:", "features:").
OPS = {}
FEATURES = {}


def count(table, key, n=1):
    table[key] = table.get(key, 0) + n


def sha(b):
    return hashlib.sha256(b).digest()


def run_tool(cmd, **kw):
    try:
        return subprocess.run(cmd, capture_output=True, **kw)
    except FileNotFoundError:
        raise EnvironmentProblem('%s is required on PATH' % cmd[0])


# ================================================================= §4 protobuf wire format
def read_varint(b, i, maxlen=10):
    """Unsigned LEB128 at b[i]; returns (value, next index)."""
    v = 0
    s = 0
    start = i
    while True:
        if i >= len(b):
            raise ValueError('truncated varint')
        c = b[i]
        i += 1
        v |= (c & 0x7F) << s
        s += 7
        if not c & 0x80:
            return v, i
        if i - start >= maxlen:
            raise ValueError('varint longer than %d bytes' % maxlen)


def enc_varint(v):
    out = bytearray()
    while True:
        c = v & 0x7F
        v >>= 7
        if v:
            out.append(c | 0x80)
        else:
            out.append(c)
            return bytes(out)


# proto/ota_package.proto: field number -> (name, kind, repeated). Kinds: u32/u64 varints,
# s string, b bytes, or a message name. stash_ids is [packed = false] (§4).
SCHEMA = {
    'TargetHeader': {1: ('target_id', 's', 0), 2: ('vendor', 's', 0), 3: ('platform', 's', 0), 4: ('storage', 's', 0),
                     5: ('block_size_bytes', 'u32', 0), 6: ('update_mode', 's', 0),
                     7: ('signature_algorithm', 'u32', 0), 8: ('decoder_memory_limit_bytes', 'u64', 0),
                     9: ('max_operation_bytes', 'u64', 0), 10: ('partition_layout', 's', 0),
                     11: ('slot_suffixes', 's', 1), 12: ('release_layout', 's', 0),
                     13: ('partition_layouts', 'PartitionLayout', 1), 14: ('max_stash_bytes', 'u64', 0)},
    'PartitionLayout': {1: ('name', 's', 0), 2: ('slot_suffix', 's', 0), 3: ('layout_size_bytes', 'u64', 0),
                        4: ('file_name', 's', 0), 5: ('lun', 'u32', 0), 6: ('start_sector', 'u64', 0),
                        7: ('sector_size_bytes', 'u32', 0), 8: ('region', 's', 0), 9: ('address_bytes', 'u64', 0),
                        10: ('partition_id', 's', 0)},
    'Extent': {1: ('start_block', 'u64', 0), 2: ('block_count', 'u64', 0)},
    'ImageIdentity': {1: ('size_bytes', 'u64', 0), 2: ('sha256', 'b', 0), 3: ('version', 's', 0),
                      5: ('dont_care_extents', 'Extent', 1)},
    'Operation': {1: ('type', 'u32', 0), 2: ('dst_extents', 'Extent', 1), 3: ('src_extents', 'Extent', 1),
                  4: ('src_sha256', 'b', 0), 5: ('blob_offset', 'u64', 0), 6: ('blob_size_bytes', 'u64', 0),
                  7: ('blob_sha256', 'b', 0), 8: ('codec', 'u32', 0), 9: ('differ', 'u32', 0),
                  10: ('decoder_memory_bytes', 'u64', 0), 11: ('stash_id', 'u32', 0), 12: ('stash_ids', 'u32', 1),
                  13: ('dst_sha256', 'b', 0), 14: ('target_src_extents', 'Extent', 1)},
    'PartitionUpdate': {1: ('name', 's', 0), 2: ('source', 'ImageIdentity', 0), 3: ('target', 'ImageIdentity', 0),
                        4: ('operations', 'Operation', 1), 5: ('converted_replace_ops', 'u32', 0)},
    'Manifest': {1: ('block_size_bytes', 'u32', 0), 2: ('timestamp_seconds', 'u64', 0), 3: ('source_version', 's', 0),
                 4: ('target_version', 's', 0), 5: ('partitions', 'PartitionUpdate', 1),
                 6: ('max_decoder_memory_bytes', 'u64', 0), 7: ('required_space_bytes', 'u64', 0)},
}
INT_LIMIT = {'u32': 1 << 32, 'u64': 1 << 64}


def pb_decode(b, msg):
    """Strict proto3 decoding (§4): unknown fields and wrong wire types are refused. A message
    field that is absent stays None. Repeated varints are read in either wire form; the canonical
    re-encode then refuses the packed one."""
    sch = SCHEMA[msg]
    out = {name: ([] if rep else {'s': '', 'b': b''}.get(kind, 0 if kind in INT_LIMIT else None))
           for (name, kind, rep) in sch.values()}
    i = 0
    while i < len(b):
        key, i = read_varint(b, i)
        fno, wt = key >> 3, key & 7
        if fno not in sch:
            raise ValueError('%s: unknown field %d' % (msg, fno))
        name, kind, rep = sch[fno]
        if wt == 0 and kind in INT_LIMIT:
            v, i = read_varint(b, i)
            vals = [v]
        elif wt == 2:
            ln, i = read_varint(b, i)
            if i + ln > len(b):
                raise ValueError('%s.%s: truncated' % (msg, name))
            raw = b[i:i + ln]
            i += ln
            if kind in INT_LIMIT:
                if not rep:
                    raise ValueError('%s.%s: packed but not repeated' % (msg, name))
                vals = []
                j = 0
                while j < len(raw):
                    v, j = read_varint(raw, j)
                    vals.append(v)
            elif kind == 's':
                vals = [raw.decode('utf-8')]
            elif kind == 'b':
                vals = [bytes(raw)]
            else:
                vals = [pb_decode(raw, kind)]
        else:
            raise ValueError('%s.%s: wire type %d' % (msg, name, wt))
        if kind in INT_LIMIT and any(v >= INT_LIMIT[kind] for v in vals):
            raise ValueError('%s.%s: value out of range' % (msg, name))
        if rep:
            out[name].extend(vals)
        else:
            out[name] = vals[-1]
    return out


def pb_encode(d, msg):
    """The canonical encoding (§4): field-number order, proto3 default omission, repeated
    varints (stash_ids) unpacked, one tag per value."""
    out = bytearray()
    for fno in sorted(SCHEMA[msg]):
        name, kind, rep = SCHEMA[msg][fno]
        v = d[name]
        if kind in INT_LIMIT:
            for x in (v if rep else [v] if v else []):
                out += enc_varint(fno << 3) + enc_varint(x)
            continue
        for it in (v if rep else [] if v in (None, '', b'') else [v]):
            body = it.encode('utf-8') if kind == 's' else it if kind == 'b' else pb_encode(it, kind)
            out += enc_varint(fno << 3 | 2) + enc_varint(len(body)) + body
    return bytes(out)


# ================================================================= §5 signatures
ALGS = {1: ('ed25519', 64), 2: ('ecdsa-p256', 72), 3: ('ecdsa-p384', 104), 4: ('rsa-2048', 256), 5: ('rsa-4096', 512)}
MAX_SIGNATURES = 4


def load_keys(keydir):
    """The pinned keys: key id (sha256 of the SPKI DER) -> path of each *.pub.pem in keydir."""
    keys = {}
    for f in sorted(os.listdir(keydir)):
        if f.endswith('.pub.pem'):
            p = os.path.join(keydir, f)
            r = run_tool(['openssl', 'pkey', '-pubin', '-in', p, '-outform', 'DER'])
            if r.returncode:
                raise EnvironmentProblem('openssl cannot read %s' % p)
            keys[sha(r.stdout)] = p
    if not keys:
        raise EnvironmentProblem('no *.pub.pem in %s' % keydir)
    return keys


def parse_sig_section(sec, what):
    """§5 section rules: 1..4 blocks of one algorithm, reserved and padding zero, no key twice."""
    if len(sec) < 36 or sec[0] not in ALGS:
        raise Refuse('PKG_BAD_SIGNATURE_BLOCK', '%s: algorithm' % what)
    alg = sec[0]
    bsz = 36 + ALGS[alg][1]
    if len(sec) % bsz or not 1 <= len(sec) // bsz <= MAX_SIGNATURES:
        raise Refuse('PKG_BAD_SIGNATURE_BLOCK', '%s: size %d' % (what, len(sec)))
    blocks = []
    for k in range(len(sec) // bsz):
        blk = sec[k * bsz:(k + 1) * bsz]
        n = struct.unpack_from('<H', blk, 2)[0]
        if blk[0] != alg or blk[1] != 0 or not 1 <= n <= ALGS[alg][1] or any(blk[36 + n:]):
            raise Refuse('PKG_BAD_SIGNATURE_BLOCK', '%s block %d' % (what, k))
        blocks.append((bytes(blk[4:36]), bytes(blk[36:36 + n])))
    if len({kid for kid, _ in blocks}) != len(blocks):
        raise Refuse('PKG_BAD_SIGNATURE_BLOCK', '%s: a key id appears twice' % what)
    return alg, blocks


def openssl_verify(alg, keypath, statement, sig):
    """§5 "Checking a signature with openssl": the same commands, on the statement itself."""
    with tempfile.TemporaryDirectory(prefix='ota-reader-') as td:
        st, sg = os.path.join(td, 'statement.bin'), os.path.join(td, 'signature.bin')
        with open(st, 'wb') as f:
            f.write(statement)
        with open(sg, 'wb') as f:
            f.write(sig)
        if alg == 1:
            cmd = ['openssl', 'pkeyutl', '-verify', '-pubin', '-inkey', keypath, '-rawin', '-in', st, '-sigfile', sg]
        else:
            cmd = ['openssl', 'dgst', '-sha256', '-verify', keypath, '-signature', sg, st]
        return run_tool(cmd).returncode == 0


# ================================================================= §1-§2, §5, §6 steps 1-3
class Package:
    """The parsed package: header fields, sections, the verified signer, target header, manifest."""


def open_package(data, keys):
    """§6 steps 1-2 (header, signature sections, metadata signature), then step 3's decoding."""
    p = Package()
    if len(data) < 64:
        raise Refuse('PKG_TRUNCATED')
    if data[:6] != b'OTAPKG':
        raise Refuse('PKG_BAD_MAGIC')
    p.major, p.minor = data[6], data[7]
    if p.major != FORMAT_MAJOR:
        raise Refuse('PKG_UNSUPPORTED_VERSION', 'major %d' % p.major)
    if p.minor > READER_MINOR:
        raise Refuse('PKG_NEWER_MINOR', '1.%d' % p.minor)
    hs, flags, ths, ms, mss, pss, bss = struct.unpack_from('<IIIIIIQ', data, 8)
    if hs != 64 or flags or any(data[40:64]):
        raise Refuse('PKG_BAD_HEADER')
    if mss == 0 or pss == 0:
        raise Refuse('SIG_MISSING')
    if not (1 <= ths <= 65536 and 1 <= ms <= 64 << 20 and bss <= 1 << 50):
        raise Refuse('PKG_BAD_LENGTH')
    if 64 + ths + ms + mss + bss + pss != len(data):
        raise Refuse('PKG_SIZE_MISMATCH')
    o_man = 64 + ths
    o_ms = o_man + ms
    o_blob = o_ms + mss
    o_ps = o_blob + bss
    alg, mblocks = parse_sig_section(data[o_ms:o_blob], 'metadata')
    alg2, pblocks = parse_sig_section(data[o_ps:], 'payload')
    if alg2 != alg:
        raise Refuse('PKG_BAD_SIGNATURE_BLOCK', 'the sections use different algorithms')
    if [kid for kid, _ in mblocks] != [kid for kid, _ in pblocks]:
        raise Refuse('SIG_KEY_MISMATCH')
    if len(mblocks) > 1 and p.minor < 2:
        raise Refuse('PKG_BAD_SIGNATURE_BLOCK', '%d signatures at minor %d' % (len(mblocks), p.minor))
    # §5 "Which signature counts": the first block whose key is pinned.
    pinned = [k for k, (kid, _) in enumerate(mblocks) if kid in keys]
    if not pinned:
        raise Refuse('SIG_WRONG_KEY', 'no pinned key among %s' % ', '.join(kid.hex()[:16] for kid, _ in mblocks))
    k = pinned[0]
    p.signer_block, p.signer_key, p.alg, p.signatures = k, keys[mblocks[k][0]], alg, len(mblocks)
    if not openssl_verify(alg, p.signer_key, b'OTABUILD/1/METADATA\0' + sha(data[:o_ms]), mblocks[k][1]):
        raise Refuse('SIG_METADATA_INVALID', 'metadata signature (block %d)' % k)
    p.payload_statement = b'OTABUILD/1/PAYLOAD\0' + sha(data[:o_ps])
    p.payload_signature = pblocks[k][1]
    th_raw, man_raw = data[64:o_man], data[o_man:o_ms]
    for raw, msg, attr in ((th_raw, 'TargetHeader', 'th'), (man_raw, 'Manifest', 'man')):
        try:
            setattr(p, attr, pb_decode(raw, msg))
        except (ValueError, UnicodeDecodeError) as e:
            raise Refuse('PKG_BAD_MANIFEST', '%s does not decode: %s' % (msg, e))
        if pb_encode(getattr(p, attr), msg) != raw:
            raise Refuse('PKG_NON_CANONICAL', msg)
    if p.th['signature_algorithm'] != alg:
        raise Refuse('PKG_BAD_SIGNATURE_BLOCK', 'the target header names algorithm %d' % p.th['signature_algorithm'])
    p.blobs = memoryview(data)[o_blob:o_ps]
    return p


def verify_payload(p):
    """§6 step 5, with the block of the same index as the metadata signature's (§5)."""
    if not openssl_verify(p.alg, p.signer_key, p.payload_statement, p.payload_signature):
        raise Refuse('SIG_PAYLOAD_INVALID', 'payload signature (block %d)' % p.signer_block)


# ================================================================= §3, §4 invariants
ZERO, COPY, REPLACE, DIFF, STASH, FREE = 1, 2, 3, 4, 5, 6
OP_NAMES = {ZERO: 'ZERO', COPY: 'COPY', REPLACE: 'REPLACE', DIFF: 'DIFF', STASH: 'STASH', FREE: 'FREE'}
RELEASE_LAYOUTS = ('qualcomm-rawprogram', 'mediatek-scatter', 'unisoc-pac', 'generic-folder')
EMPTY_SHA = sha(b'')


def bad(detail):
    raise Refuse('PKG_BAD_MANIFEST', detail)


def blocks_of(exts):
    for e in exts:
        yield from range(e['start_block'], e['start_block'] + e['block_count'])


def nblocks(exts):
    return sum(e['block_count'] for e in exts)


def check_extents(exts, image_blocks, what):
    for e in exts:
        if e['block_count'] == 0 or e['start_block'] + e['block_count'] > image_blocks:
            bad('%s: extent %d+%d outside %d blocks' % (what, e['start_block'], e['block_count'], image_blocks))


def check_identity(ident, bs, what):
    if ident is None:
        bad('%s is missing' % what)
    if not 1 <= ident['size_bytes'] <= 1 << 50 or -(-ident['size_bytes'] // bs) > 0xFFFFFFFF:
        bad('%s size %d' % (what, ident['size_bytes']))
    if len(ident['sha256']) != 32:
        bad('%s sha256' % what)
    if len(ident['dont_care_extents']) > 65536:
        bad('%s: too many DONT_CARE extents' % what)
    check_extents(ident['dont_care_extents'], -(-ident['size_bytes'] // bs), what + ' DONT_CARE')


def check_target_header(p):
    """§3 ranges and the partition layouts."""
    th, man = p.th, p.man
    bs = th['block_size_bytes']
    if not re.fullmatch(r'[a-z0-9][a-z0-9._-]{0,63}', th['target_id']):
        bad('target_id %r' % th['target_id'])
    if not (512 <= bs <= 1 << 20 and bs & (bs - 1) == 0) or bs != man['block_size_bytes']:
        bad('block size %d / %d' % (bs, man['block_size_bytes']))
    if not bs <= th['max_operation_bytes'] <= 1 << 30:
        bad('max_operation_bytes %d' % th['max_operation_bytes'])
    if not 1 <= th['decoder_memory_limit_bytes'] <= 1 << 40:
        bad('decoder_memory_limit_bytes %d' % th['decoder_memory_limit_bytes'])
    if th['update_mode'] not in ('ab', 'in-place'):
        bad('update_mode %r' % th['update_mode'])
    if th['max_stash_bytes'] > 1 << 40 or (th['update_mode'] == 'ab' and th['max_stash_bytes']):
        bad('max_stash_bytes %d' % th['max_stash_bytes'])
    layouts = th['partition_layouts']
    if bool(th['release_layout']) != bool(layouts) or (layouts and th['release_layout'] not in RELEASE_LAYOUTS):
        bad('release_layout %r with %d partition layouts' % (th['release_layout'], len(layouts)))
    if len(layouts) > 512:
        bad('too many partition layouts')
    names = {part['name'] for part in man['partitions']}
    seen = set()
    for pl in layouts:
        key = (pl['name'], pl['slot_suffix'])
        if pl['name'] not in names or pl['slot_suffix'] not in ('', '_a', '_b') or key in seen:
            bad('partition layout %s%s' % key)
        if any(len(v) > 256 for v in pl.values() if isinstance(v, str)):
            bad('partition layout %s: a string over 256 characters' % pl['name'])
        if pl['sector_size_bytes'] and not (512 <= pl['sector_size_bytes'] <= 65536
                                            and pl['sector_size_bytes'] & (pl['sector_size_bytes'] - 1) == 0):
            bad('partition layout %s: sector size' % pl['name'])
        seen.add(key)


def has_blob(op):
    return op['blob_offset'] or op['blob_size_bytes'] or op['blob_sha256']


def check_op_fields(op, idx, inplace):
    """§4's op table (required and forbidden fields), 1.3's in-place fields, 1.6's target sources."""
    t = op['type']
    what = 'op %d (%s)' % (idx, OP_NAMES.get(t, t))
    has = {'dst': bool(op['dst_extents']), 'src': bool(op['src_extents'] or op['src_sha256']),
           'src_sha': bool(op['src_sha256']), 'blob': bool(has_blob(op)), 'codec': bool(op['codec']),
           'differ': bool(op['differ']), 'stash_id': bool(op['stash_id']), 'stash_ids': bool(op['stash_ids']),
           'dst_sha': bool(op['dst_sha256']), 'target_src': bool(op['target_src_extents'])}
    rules = {  # op type: (required, forbidden)
        ZERO: ({'dst'}, {'src', 'blob', 'codec', 'differ'}),
        COPY: ({'dst', 'src', 'src_sha'}, {'blob', 'codec', 'differ'}),
        REPLACE: ({'dst', 'blob'}, {'src', 'differ'}),
        DIFF: ({'dst', 'src_sha', 'blob', 'differ'}, {'codec'}),
        STASH: ({'src', 'src_sha', 'stash_id'}, {'dst', 'blob', 'codec', 'differ', 'stash_ids', 'dst_sha'}),
        FREE: ({'stash_id'}, set(has) - {'stash_id'}),
    }
    if t not in rules:
        bad('%s: unknown op type' % what)
    required, forbidden = rules[t]
    forbidden = forbidden | ({'stash_id'} if t not in (STASH, FREE) else set())
    forbidden |= {'target_src'} if t != DIFF or inplace else set()
    forbidden |= {'stash_ids'} if t not in (COPY, DIFF) or not inplace else set()
    forbidden |= {'dst_sha'} if not inplace else set()
    missing = [f for f in required if not has[f]]
    present = [f for f in forbidden if has[f]]
    if missing or present:
        bad('%s: missing %s, forbidden %s' % (what, missing, present))
    for f in ('src_sha256', 'blob_sha256', 'dst_sha256'):
        if op[f] and len(op[f]) != 32:
            bad('%s: %s is not 32 bytes' % (what, f))
    if (t in (REPLACE, DIFF)) and len(op['blob_sha256']) != 32:
        bad('%s: no blob sha256' % what)
    if inplace and t in (REPLACE, DIFF) and not op['dst_sha256']:
        raise Refuse('PKG_IN_PLACE_UNSAFE', '%s has no dst_sha256 (§4b proof step 1)' % what)
    if any(not 1 <= s <= 0xFFFFFFFF for s in op['stash_ids']):
        bad('%s: stash id 0' % what)
    if t == REPLACE and op['codec'] not in CODECS:
        raise Refuse('UNKNOWN_CODEC', '%s: codec %d' % (what, op['codec']))
    if t == DIFF and op['differ'] not in DIFFERS:
        raise Refuse('UNKNOWN_DIFFER', '%s: differ %d' % (what, op['differ']))


def check_manifest(p):
    """§4 invariants, checked before any write, and the features each minor version allows."""
    th, man, minor = p.th, p.man, p.minor
    bs = man['block_size_bytes']
    inplace = th['update_mode'] == 'in-place'
    parts = man['partitions']
    if not 1 <= len(parts) <= 256:
        bad('%d partitions' % len(parts))
    names = [part['name'] for part in parts]
    if len(set(names)) != len(names) or not all(re.fullmatch(r'[A-Za-z0-9_.-]{1,64}', n) for n in names):
        bad('partition names %r' % names)
    if sum(len(part['operations']) for part in parts) > 32768:
        bad('more than 32768 operations')
    all_extents = 0
    if minor < 1 and (th['release_layout'] or any(not part['operations'] for part in parts)):
        bad('a 1.1 feature at minor 0')
    if minor < 3 and (inplace or th['max_stash_bytes']):
        bad('an in-place package at minor %d' % minor)
    if inplace and len(parts) != 1:
        bad('an in-place package of %d partitions' % len(parts))
    expect_off = 0
    max_mem = 0
    for part in parts:
        name = part['name']
        tgt, src = part['target'], part['source']
        check_identity(tgt, bs, name + ' target')
        if src is not None:
            check_identity(src, bs, name + ' source')
        if minor < 3 and part['converted_replace_ops']:
            bad('converted_replace_ops below minor 3')
        if part['converted_replace_ops'] and not inplace:
            bad('converted_replace_ops in an ab package')
        tblocks = -(-tgt['size_bytes'] // bs)
        sblocks = -(-src['size_bytes'] // bs) if src else 0
        if not part['operations']:
            # §4 "Multi-partition packages": unchanged, the source identical to the target.
            if src is None or any(src[f] != tgt[f] for f in ('size_bytes', 'sha256', 'dont_care_extents')):
                bad('partition %s has no operations but its source is not its target' % name)
            continue
        cover = bytearray(tblocks)
        for b in blocks_of(tgt['dont_care_extents']):
            cover[b] += 1
        src_dont_care = set(blocks_of(src['dont_care_extents'])) if src else set()
        written = bytearray(tblocks)  # blocks written by earlier ops (target sources, 1.6)
        for idx, op in enumerate(part['operations']):
            t = op['type']
            what = '%s op %d' % (name, idx)
            check_op_fields(op, idx, inplace)
            if minor < 3 and (t in (STASH, FREE) or op['stash_ids'] or op['dst_sha256']):
                bad('%s: an in-place field below minor 3' % what)
            exts = [op['dst_extents'], op['src_extents'], op['target_src_extents']]
            if any(len(e) > 65536 for e in exts):
                bad('%s: more than 65536 extents' % what)
            all_extents += sum(len(e) for e in exts)
            check_extents(op['dst_extents'], tblocks, what + ' dst')
            check_extents(op['target_src_extents'], tblocks, what + ' target src')
            if op['src_extents']:
                if src is None:
                    bad('%s reads a source, but partition %s has none' % (what, name))
                check_extents(op['src_extents'], sblocks if not inplace else tblocks, what + ' src')
                if any(b in src_dont_care for b in blocks_of(op['src_extents'])):
                    bad('%s reads a DONT_CARE block' % what)
            if t == COPY and nblocks(op['src_extents']) != nblocks(op['dst_extents']):
                bad('%s: COPY of %d blocks to %d' % (what, nblocks(op['src_extents']), nblocks(op['dst_extents'])))
            if t == DIFF and not op['src_extents']:
                if minor < 4:
                    bad('%s: a sourceless DIFF below minor 4' % what)
                if inplace:
                    bad('%s: a sourceless DIFF in an in-place package' % what)
                if not op['target_src_extents'] and op['src_sha256'] != EMPTY_SHA:
                    bad('%s: a sourceless DIFF whose src_sha256 is not that of no bytes' % what)
            if op['target_src_extents']:
                if minor < 6:
                    bad('%s: target source extents below minor 6' % what)
                if any(not written[b] for b in blocks_of(op['target_src_extents'])):
                    bad('%s reads target blocks no earlier op wrote' % what)
            dst_bytes = nblocks(op['dst_extents']) * bs
            src_bytes = (nblocks(op['src_extents']) + nblocks(op['target_src_extents'])) * bs
            if dst_bytes > th['max_operation_bytes'] or src_bytes > 4 * th['max_operation_bytes']:
                bad('%s writes %d / reads %d bytes, over the op limit' % (what, dst_bytes, src_bytes))
            if op['decoder_memory_bytes'] > th['decoder_memory_limit_bytes']:
                bad('%s declares %d bytes of decoder memory' % (what, op['decoder_memory_bytes']))
            max_mem = max(max_mem, op['decoder_memory_bytes'])
            if t in (REPLACE, DIFF):
                if op['blob_offset'] != expect_off:
                    bad('%s: blob at %d, expected %d' % (what, op['blob_offset'], expect_off))
                expect_off += op['blob_size_bytes']
            for b in blocks_of(op['dst_extents']):
                cover[b] += 1
                written[b] = 1
        if any(c != 1 for c in cover):
            bad('partition %s: destinations and DONT_CARE do not cover the target exactly once' % name)
    if all_extents > 131072:
        bad('more than 131072 extents')
    if man['max_decoder_memory_bytes'] < max_mem:
        bad('max_decoder_memory_bytes %d under an op\'s %d' % (man['max_decoder_memory_bytes'], max_mem))
    if expect_off != len(p.blobs):
        bad('blobs end at %d, the blob section at %d' % (expect_off, len(p.blobs)))


def prove_in_place(p):
    """§4b's proof, steps 1-6, over block sets (no step budget)."""
    part = p.man['partitions'][0]
    bs = p.man['block_size_bytes']
    src, tgt = part['source'], part['target']

    def unsafe(detail):
        raise Refuse('PKG_IN_PLACE_UNSAFE', detail)

    if src is None or src['size_bytes'] != tgt['size_bytes']:
        unsafe('old and new images differ in size (step 1)')
    written = set()
    live = {}
    named_ever = set()
    stash_bytes = peak = 0
    for idx, op in enumerate(part['operations']):
        t = op['type']
        dst = set(blocks_of(op['dst_extents']))
        if t == STASH:
            if written.intersection(blocks_of(op['src_extents'])):
                unsafe('op %d stashes a block already written (step 2)' % idx)
            if op['stash_id'] in named_ever:
                unsafe('op %d reuses stash id %d (step 2)' % (idx, op['stash_id']))
            named_ever.add(op['stash_id'])
            live[op['stash_id']] = set(blocks_of(op['src_extents']))
            stash_bytes += nblocks(op['src_extents']) * bs
            peak = max(peak, stash_bytes)
        elif t == FREE:
            if op['stash_id'] not in live:
                unsafe('op %d frees stash %d, which is not live (step 3)' % (idx, op['stash_id']))
            stash_bytes -= len(live.pop(op['stash_id'])) * bs
        elif t in (COPY, DIFF):
            if any(s not in live for s in op['stash_ids']):
                unsafe('op %d names a stash that is not live (step 4)' % idx)
            stashed = set().union(*(live[s] for s in op['stash_ids']))
            identity = t == COPY and op['src_extents'] == op['dst_extents']
            for b in blocks_of(op['src_extents']):
                if b not in stashed and (b in written or (b in dst and not identity)):
                    unsafe('op %d reads block %d from the image after it is overwritten (step 4)' % (idx, b))
            if not identity:
                written |= dst
        else:
            written |= dst
    if live:
        unsafe('stashes %s are live after the last op (step 5)' % sorted(live))
    if peak > p.th['max_stash_bytes']:
        unsafe('stash peak %d over max_stash_bytes %d (step 6)' % (peak, p.th['max_stash_bytes']))
    return peak


# ================================================================= §4 wire ids: codecs
def decode_failed(detail):
    raise Refuse('BLOB_DECODE_FAILED', detail)


def dec_none(blob, n, mem):
    return bytes(blob)


def dec_gzip(blob, n, mem):
    """§4 gzip: exactly one RFC 1952 member, its fixed 32 KiB window within the declared memory."""
    if mem < 32768:
        decode_failed('gzip needs a 32 KiB window, the op declares %d bytes' % mem)
    d = zlib.decompressobj(31)
    try:
        out = d.decompress(bytes(blob), n + 1)
    except zlib.error as e:
        decode_failed('gzip: %s' % e)
    if not d.eof or d.unused_data or d.unconsumed_tail:
        decode_failed('gzip: not exactly one member')
    return out


# Decodes stdin with Node's zlib (brotliDecompressSync), output capped at argv[1] bytes; refuses a
# stream that ends before its input does (trailing bytes: engine.bytesWritten counts what it read).
BROTLI_JS = r"""
const z = require('zlib'); const c = [];
process.stdin.on('data', (d) => c.push(d));
process.stdin.on('end', () => {
  const input = Buffer.concat(c);
  try {
    const r = z.brotliDecompressSync(input, { info: true, maxOutputLength: Math.max(1, +process.argv[1]) });
    if (r.engine.bytesWritten !== input.length) throw new Error('bytes after the brotli stream');
    process.stdout.write(r.buffer);
  } catch (e) { process.stderr.write(String(e.message)); process.exit(1); }
});
"""


def brotli_wbits(b0):
    """RFC 7932 §9.1: the window bits from the stream header; None for the large-window marker."""
    if b0 & 1 == 0:
        return 16
    if (b0 >> 1) & 7:
        return 17 + ((b0 >> 1) & 7)
    m = (b0 >> 4) & 7
    if m == 1:
        return None
    return 8 + m if m else 17


def dec_brotli(blob, n, mem):
    """§4 brotli: one stream, no large window, 2^WBITS within the declared memory, nothing after."""
    if not blob:
        decode_failed('brotli: empty')
    wbits = brotli_wbits(blob[0])
    if wbits is None:
        decode_failed('brotli: large-window stream')
    if (1 << wbits) > mem:
        decode_failed('brotli window 2^%d over the declared %d bytes' % (wbits, mem))
    r = run_tool(['node', '-e', BROTLI_JS, str(n + 1)], input=bytes(blob))
    if r.returncode:
        decode_failed('brotli: %s' % r.stderr.decode(errors='replace').strip()[:200])
    return r.stdout


def zstd_frame_check(blob, n):
    """§4 zstd: one frame declaring content size n, with a checksum, no dictionary id, a window
    of at most 2^27 and no byte after it (walks the block headers to find the frame's end)."""
    b = bytes(blob)
    if len(b) < 6 or b[:4] != b'\x28\xb5\x2f\xfd':
        decode_failed('zstd: not a zstd frame')
    fhd = b[4]
    fcs_flag, single, checksum, dict_flag = fhd >> 6, (fhd >> 5) & 1, (fhd >> 2) & 1, fhd & 3
    if fhd & 0x08 or not checksum or dict_flag:
        decode_failed('zstd: reserved bit, no checksum or a dictionary id (descriptor %#x)' % fhd)
    i = 5
    window = None
    if not single:
        wd = b[i]
        i += 1
        wlog = 10 + (wd >> 3)
        window = (1 << wlog) + ((1 << wlog) >> 3) * (wd & 7)
    fcs_size = {0: 1 if single else 0, 1: 2, 2: 4, 3: 8}[fcs_flag]
    if not fcs_size:
        decode_failed('zstd: no content size')
    size = int.from_bytes(b[i:i + fcs_size], 'little') + (256 if fcs_size == 2 else 0)
    i += fcs_size
    if size != n:
        decode_failed('zstd: content size %d, the destination is %d' % (size, n))
    if window is not None and window > 1 << 27:
        decode_failed('zstd: window %d over 2^27' % window)
    while True:
        if i + 3 > len(b):
            decode_failed('zstd: truncated frame')
        h = int.from_bytes(b[i:i + 3], 'little')
        i += 3
        btype, bsize = (h >> 1) & 3, h >> 3
        if btype == 3:
            decode_failed('zstd: reserved block type')
        i += 1 if btype == 1 else bsize
        if h & 1:
            break
    if i + 4 != len(b):
        decode_failed('zstd: %d bytes after the frame' % (len(b) - i - 4))


def dec_zstd(blob, n, mem, dictionary=None):
    zstd_frame_check(blob, n)
    with tempfile.TemporaryDirectory(prefix='ota-reader-') as td:
        cmd = ['zstd', '-q', '-d', '-c', '--memory=128MB']
        if dictionary is not None:
            dp = os.path.join(td, 'dictionary')
            with open(dp, 'wb') as f:
                f.write(dictionary)
            cmd += ['-D', dp]
        r = run_tool(cmd, input=bytes(blob))
    if r.returncode:
        decode_failed('zstd: %s' % r.stderr.decode(errors='replace').strip()[:200])
    return r.stdout


XZ_CHAINS = {(0x21,): 'lzma2', (0x04, 0x21): 'x86', (0x0A, 0x21): 'arm64'}
XZ_CHECK_BYTES = {1: 4, 4: 8, 10: 32}


def xz_filter_chains(b):
    """The filter chain of each block of a .xz stream, found through its index (§4 xz)."""
    if len(b) < 32 or b[:6] != b'\xfd7zXZ\x00' or b[-2:] != b'YZ':
        decode_failed('xz: not one .xz stream')
    flags = b[6:8]
    check = flags[1] & 0x0F
    if flags[0] or check not in XZ_CHECK_BYTES:
        decode_failed('xz: no integrity check (or unknown flags)')
    if b[-4:-2] != flags:
        decode_failed('xz: footer flags differ from the header\'s')
    index_size = (struct.unpack_from('<I', b, len(b) - 8)[0] + 1) * 4
    index = b[len(b) - 12 - index_size:len(b) - 12]
    if len(index) != index_size or index[0] != 0:
        decode_failed('xz: index')
    records, i = read_varint(index, 1)
    pos = 12
    chains = []
    for _ in range(records):
        unpadded, i = read_varint(index, i)
        _uncompressed, i = read_varint(index, i)
        bf = b[pos + 1]
        j = pos + 2
        if bf & 0x40:
            _, j = read_varint(b, j)
        if bf & 0x80:
            _, j = read_varint(b, j)
        chain = []
        for _ in range((bf & 3) + 1):
            fid, j = read_varint(b, j)
            props, j = read_varint(b, j)
            chain.append((fid, props))
            j += props
        chains.append(chain)
        pos += unpadded + (-unpadded % 4)
    return chains


def dec_xz(blob, n, mem):
    """§4 xz: one stream with a check; blocks of [LZMA2], [x86 BCJ, LZMA2] or (one block only)
    [ARM64 BCJ, LZMA2], BCJ filters without a start offset; liblzma's limit the declared memory
    plus 64 KiB. liblzma checks the container itself (CRCs, padding, header sizes)."""
    b = bytes(blob)
    chains = xz_filter_chains(b)
    for chain in chains:
        ids = tuple(f for f, _ in chain)
        if ids not in XZ_CHAINS or (len(ids) == 2 and chain[0][1] != 0):
            decode_failed('xz: filter chain %s' % ['%#x/%d' % f for f in chain])
        if ids[0] == 0x0A and len(chains) != 1:
            decode_failed('xz: the ARM64 filter in a stream of %d blocks' % len(chains))
        count(FEATURES, 'xz:' + XZ_CHAINS[ids])
    d = lzma.LZMADecompressor(lzma.FORMAT_XZ, memlimit=mem + 65536)
    try:
        out = d.decompress(b, n + 1)
    except lzma.LZMAError as e:
        decode_failed('xz: %s' % e)
    if not d.eof or d.unused_data:
        decode_failed('xz: the stream does not end exactly at the blob\'s end')
    return out


CODECS = {0: ('none', dec_none), 1: ('gzip', dec_gzip), 2: ('brotli', dec_brotli), 3: ('zstd', dec_zstd),
          4: ('xz', dec_xz)}


# ================================================================= §4 differs: the bsdiff family
def offt(b, i):
    """A 64-bit sign-magnitude integer (a "-0" reads as 0)."""
    v = struct.unpack_from('<Q', b, i)[0]
    mag = v & ((1 << 63) - 1)
    return -mag if v >> 63 else mag


def control_tuples(ctrl, all_seeks):
    """BSDIFF40 control tuples (add, copy, seek). Add and copy magnitudes must be under 2^48; the
    seeks too when all_seeks, else the walk checks the seeks it reads (§4 bsdiff-lzma)."""
    if len(ctrl) % 24:
        decode_failed('control block of %d bytes is not whole tuples' % len(ctrl))
    tuples = [(offt(ctrl, k), offt(ctrl, k + 8), offt(ctrl, k + 16)) for k in range(0, len(ctrl), 24)]
    for x, y, z in tuples:
        if abs(x) >= 1 << 48 or abs(y) >= 1 << 48 or (all_seeks and abs(z) >= 1 << 48):
            decode_failed('control field of magnitude 2^48 or more')
        if x < 0 or y < 0:
            decode_failed('negative add or copy length')
    return tuples


def control_walk(src, tuples, diff, extra, newsize):
    """BSDIFF40's walk (§4 bsdiff-lzma): add diff bytes to the source (positions outside it read
    as 0), copy extra bytes, seek; stops when the new size is written."""
    out = bytearray(newsize)
    S = len(src)
    old = new = di = ei = 0
    for x, y, z in tuples:
        if new >= newsize:
            break
        if new + x + y > newsize or di + x > len(diff) or ei + y > len(extra):
            decode_failed('control walk runs past the new size or a block')
        seg = bytearray(diff[di:di + x])
        lo, hi = max(0, -old), min(x, S - old)
        if hi > lo:
            s = src[old + lo:old + hi]
            for k in range(hi - lo):
                seg[lo + k] = (seg[lo + k] + s[k]) & 0xFF
        out[new:new + x] = seg
        di += x
        new += x
        out[new:new + y] = extra[ei:ei + y]
        ei += y
        new += y
        if abs(z) >= 1 << 48:
            decode_failed('seek of magnitude 2^48 or more')
        old += x + z
        if abs(old) >= 1 << 48:
            decode_failed('old position of magnitude 2^48 or more')
    if new != newsize:
        decode_failed('the control walk wrote %d of %d bytes' % (new, newsize))
    return bytes(out)


def bz2_one(data, cap):
    """§4 bsdiff: exactly one bzip2 stream (nothing after it), decoding to at most cap bytes."""
    d = bz2.BZ2Decompressor()
    try:
        out = d.decompress(bytes(data), cap + 1)
    except (OSError, ValueError) as e:
        decode_failed('bzip2: %s' % e)
    if not d.eof or d.unused_data or len(out) > cap:
        decode_failed('a bzip2 block is not exactly one stream within %d bytes' % cap)
    return out


def bsdiff_header(blob, n):
    """§4 bsdiff/bsdf2: the 32-byte header's lengths; returns the three blocks' bytes."""
    cl, dl, ns = offt(blob, 8), offt(blob, 16), offt(blob, 24)
    if ns != n or cl < 0 or dl < 0 or 32 + cl + dl > len(blob):
        decode_failed('bsdiff header (new size %d, destination %d)' % (ns, n))
    return [blob[32:32 + cl], blob[32 + cl:32 + cl + dl], blob[32 + cl + dl:]]


def bsdiff_caps(n, mem):
    return [min(24 * (-(-n // 8) + 1), mem), min(n, mem), min(n, mem)]


def patch_bsdiff(src, blob, n, mem):
    """§4 bsdiff (differ 1): BSDIFF40, three bzip2 streams within their caps."""
    if len(blob) < 32 or bytes(blob[:8]) != b'BSDIFF40':
        decode_failed('bsdiff magic')
    ctrl, diff, extra = (bz2_one(part, cap) for part, cap in zip(bsdiff_header(blob, n), bsdiff_caps(n, mem)))
    return control_walk(src, control_tuples(ctrl, False), diff, extra, n)


def patch_bsdf2(src, blob, n, mem):
    """§4 bsdf2 (differ 3): BSDIFF40's layout, each block bzip2 (1) or brotli (2)."""
    if len(blob) < 32 or bytes(blob[:5]) != b'BSDF2':
        decode_failed('bsdf2 magic')
    blocks = []
    for comp, part, cap in zip(blob[5:8], bsdiff_header(blob, n), bsdiff_caps(n, mem)):
        if comp == 1:
            blocks.append(bz2_one(part, cap))
            count(FEATURES, 'bsdf2:bzip2')
        elif comp == 2:
            out = dec_brotli(part, cap, mem)
            if len(out) > cap:
                decode_failed('bsdf2 brotli block over %d bytes' % cap)
            blocks.append(out)
            count(FEATURES, 'bsdf2:brotli')
        else:
            decode_failed('bsdf2 compressor id %d' % comp)
    return control_walk(src, control_tuples(blocks[0], False), blocks[1], blocks[2], n)


def read_lzvar(b, i):
    """§4 bsdiff-lzma varint: unsigned LEB128, at most 7 bytes, shortest form."""
    start = i
    v, i = read_varint(b, i, maxlen=7)
    if i - start > 1 and b[i - 1] == 0:
        decode_failed('varint not in shortest form')
    return v, i


def clog2(x):
    """ceil(log2(x)) for x >= 1 (0 for x <= 1)."""
    return max(0, (x - 1).bit_length())


def lzma2_raw(data, dlog, n):
    """§4 bsdiff-lzma: a raw LZMA2 stream with a 2^dlog dictionary, decoding to exactly n bytes and
    ending with its end marker as its last byte."""
    d = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[{'id': lzma.FILTER_LZMA2, 'dict_size': 1 << dlog}])
    try:
        out = d.decompress(bytes(data), n + 1)
    except lzma.LZMAError as e:
        decode_failed('LZMA2 block: %s' % e)
    if not d.eof or d.unused_data or len(out) != n:
        decode_failed('LZMA2 block does not end exactly (%d of %d bytes)' % (len(out), n))
    return out


def lz_header(blob, mem):
    """§4 bsdiff-lzma header, checked whole before anything is decoded: returns (new size, the three
    blocks as [log, decoded length, encoded length, bytes])."""
    if bytes(blob[:8]) != b'BSDIFFLZ':
        decode_failed('bsdiff-lzma magic')
    n, i = read_lzvar(blob, 8)
    blocks = []
    for _ in range(3):
        if i >= len(blob):
            decode_failed('bsdiff-lzma header truncated')
        lg = blob[i]
        dl, i = read_lzvar(blob, i + 1)
        el, i = read_lzvar(blob, i)
        blocks.append([lg, dl, el])
    for (lg, dl, el), cap in zip(blocks, [3 * n + 24, 2 * n, n]):
        if dl > cap or dl > mem:
            decode_failed('bsdiff-lzma block of %d decoded bytes (cap %d, memory %d)' % (dl, cap, mem))
        if lg == 0 and el != dl:
            decode_failed('bsdiff-lzma stored block of %d bytes declares %d' % (el, dl))
        if lg != 0 and not 12 <= lg <= min(28, max(12, clog2(min(dl, n)))):
            decode_failed('bsdiff-lzma dictionary log %d for %d bytes' % (lg, dl))
    if sum(b[1] for b in blocks) > 3 * n + 24:
        decode_failed('bsdiff-lzma blocks over 3 x new size + 24')
    if sum(b[2] for b in blocks) != len(blob) - i:
        decode_failed('bsdiff-lzma encoded lengths do not end at the blob\'s end')
    for b in blocks:
        b.append(blob[i:i + b[2]])
        i += b[2]
    return n, blocks


def lz_block(block):
    lg, dl, _el, data = block
    return bytes(data) if lg == 0 else lzma2_raw(data, lg, dl)


def expand_sparse(sp, length):
    """§4 bsdiff-lzma sparse diff: (varint gap, non-zero byte) pairs over `length` bytes."""
    out = bytearray(length)
    i = pos = 0
    while i < len(sp):
        gap, i = read_lzvar(sp, i)
        if i >= len(sp):
            decode_failed('sparse diff: truncated pair')
        pos += gap
        if sp[i] == 0 or pos >= length:
            decode_failed('sparse diff: a zero value or a byte past its length')
        out[pos] = sp[i]
        i += 1
        pos += 1
    return bytes(out)


def patch_bsdiff_lzma(src, blob, n, mem):
    """§4 bsdiff-lzma (differ 4)."""
    ns, blocks = lz_header(blob, mem)
    if ns != n:
        decode_failed('bsdiff-lzma new size %d, the destination is %d' % (ns, n))
    ctrl, sparse, extra = (lz_block(b) for b in blocks)
    tuples = control_tuples(ctrl, False)
    adds = sum(x for x, _, _ in tuples)
    copies = sum(y for _, y, _ in tuples)
    if adds + copies != n or copies != len(extra):
        decode_failed('control sums: adds %d + copies %d vs new size %d, extra %d' % (adds, copies, n, len(extra)))
    return control_walk(src, tuples, expand_sparse(sparse, adds), extra, n)


def patch_zstd_dict(src, blob, n, mem):
    """§4 zstd-dict (differ 2): the source as a raw-content dictionary, without its first byte
    when it begins with the zstd dictionary magic."""
    if bytes(src[:4]) == b'\x37\xa4\x30\xec':
        count(FEATURES, 'zstd-dict:magic-source')
        src = src[1:]
    return dec_zstd(blob, n, mem, dictionary=bytes(src))


# ================================================================= §4 deflate-aware
def inflate_exact(data, ilen):
    """§4 deflate-aware apply step 1: an old stream is complete raw deflate (32 KiB window), ends
    exactly at its deflated length and inflates to exactly ilen bytes."""
    d = zlib.decompressobj(-15)
    try:
        out = d.decompress(bytes(data), ilen + 1)
    except zlib.error as e:
        decode_failed('old stream: %s' % e)
    if not d.eof or d.unused_data or d.unconsumed_tail or len(out) != ilen:
        decode_failed('an old stream is not exactly its declared lengths')
    return out


def require_reference_zlib():
    """§4: deflate segments need madler zlib 1.2.13 or later (not older, not a fork)."""
    v = zlib.ZLIB_RUNTIME_VERSION
    parts = v.split('.')
    if not re.fullmatch(r'\d+(\.\d+)*', v) or tuple(int(x) for x in parts[:3]) < (1, 2, 13):
        raise EnvironmentProblem('python3\'s zlib is %s; deflate-aware needs madler zlib 1.2.13 or later' % v)


def patch_deflate_aware(src, blob, n, mem):
    """§4 deflate-aware (differ 5): header, the memory bound, then apply steps 1-3."""
    if bytes(blob[:8]) != b'DEFLDIFF':
        decode_failed('deflate-aware magic')
    ns, i = read_lzvar(blob, 8)
    if ns != n:
        decode_failed('deflate-aware new size %d, the destination is %d' % (ns, n))
    K, i = read_lzvar(blob, i)
    if K > 4096:
        decode_failed('deflate-aware: %d old streams' % K)
    olds = []
    for _ in range(K):
        off, i = read_lzvar(blob, i)
        dl, i = read_lzvar(blob, i)
        il, i = read_lzvar(blob, i)
        if dl < 1 or off + dl > len(src):
            decode_failed('deflate-aware: old stream outside the source')
        olds.append((off, dl, il))
    I = sum(il for _, _, il in olds)
    if I > 1 << 30:
        decode_failed('deflate-aware: old streams inflate to over 2^30 bytes')
    N, i = read_lzvar(blob, i)
    if N > 65536:
        decode_failed('deflate-aware: %d segments' % N)
    segs = []
    for _ in range(N):
        if i >= len(blob):
            decode_failed('deflate-aware: truncated segment table')
        kind = blob[i]
        i += 1
        if kind == 0:
            ln, i = read_lzvar(blob, i)
            if ln < 1:
                decode_failed('deflate-aware: empty raw segment')
            segs.append(('raw', ln))
        elif kind == 1:
            params = tuple(blob[i:i + 4])
            il, i = read_lzvar(blob, i + 4)
            dl, i = read_lzvar(blob, i)
            lv, wb, ml, st = params
            if not (1 <= lv <= 9 and 9 <= wb <= 15 and 1 <= ml <= 9 and st in (0, 1, 4) and dl >= 1):
                decode_failed('deflate-aware: deflate segment parameters %r' % (params,))
            segs.append(('deflate', params, il, dl))
        elif kind == 2:
            rl, i = read_lzvar(blob, i)
            il, i = read_lzvar(blob, i)
            dl, i = read_lzvar(blob, i)
            if rl < 1 or dl < 1:
                decode_failed('deflate-aware: recipe segment lengths')
            segs.append(('recipe', rl, il, dl))
        else:
            decode_failed('deflate-aware: segment kind %d' % kind)
    raw_total = sum(s[1] for s in segs if s[0] == 'raw')
    recipes_total = sum(s[1] for s in segs if s[0] == 'recipe')
    if raw_total + sum(s[3] for s in segs if s[0] != 'raw') != n:
        decode_failed('deflate-aware: segments do not add up to the new size')
    X = raw_total + sum(s[2] for s in segs if s[0] != 'raw') + recipes_total
    if X > 1 << 30:
        decode_failed('deflate-aware: expanded target over 2^30 bytes')
    S = len(src)
    d = min(28, max(12, clog2(X)))
    M = (S + I) + 2 * X + (3 * X + 24) + (1 << d) + 65584
    need = S + I + M + 2 * n + 368640 + (262144 if recipes_total else 0)
    if mem < need:
        decode_failed('deflate-aware: the op declares %d bytes, the patch needs %d' % (mem, need))
    # 1. the expanded source: the source, then each old stream inflated.
    expanded_src = bytearray(src)
    for off, dl, il in olds:
        expanded_src += inflate_exact(src[off:off + dl], il)
        count(FEATURES, 'deflate:old-stream')
    # 2. the inner patch makes the expanded target.
    expanded = patch_bsdiff_lzma(bytes(expanded_src), blob[i:], X, mem)
    # 3. the segments: raw bytes, re-deflated streams, streams re-made from recipes.
    out = bytearray()
    p = 0
    rp = X - recipes_total
    for s in segs:
        if s[0] == 'raw':
            out += expanded[p:p + s[1]]
            p += s[1]
            continue
        data = expanded[p:p + s[2]]
        p += s[2]
        if s[0] == 'deflate':
            require_reference_zlib()
            lv, wb, ml, st = s[1]
            c = zlib.compressobj(lv, zlib.DEFLATED, -wb, ml, st)
            z = c.compress(data) + c.flush(zlib.Z_FINISH)
            count(FEATURES, 'deflate:zlib-segment')
        else:
            z = remake_recipe(data, expanded[rp:rp + s[1]])
            rp += s[1]
            count(FEATURES, 'deflate:recipe-segment')
        if len(z) != s[3]:
            decode_failed('deflate-aware: a %s segment re-made %d bytes, not %d' % (s[0], len(z), s[3]))
        out += z
    return bytes(out)


class BitWriter:
    """RFC 1951 §3.1.1: bits LSB first; Huffman codes most significant bit first."""

    def __init__(self):
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def put(self, v, nbits):
        self.acc |= (v & ((1 << nbits) - 1)) << self.n
        self.n += nbits
        while self.n >= 8:
            self.out.append(self.acc & 0xFF)
            self.acc >>= 8
            self.n -= 8

    def put_code(self, code, length):
        self.put(int(format(code, '0%db' % length)[::-1], 2) if length else 0, length)


def huffman_codes(lengths):
    """RFC 1951 §3.2.2 codes of code lengths; an over-subscribed code is refused (§4 Recipes)."""
    if sum(2.0 ** -ln for ln in lengths if ln) > 1.0:
        decode_failed('recipe: over-subscribed code')
    mx = max(lengths, default=0)
    bl_count = [0] * (mx + 2)
    for ln in lengths:
        if ln:
            bl_count[ln] += 1
    code = 0
    next_code = [0] * (mx + 2)
    for bits in range(1, mx + 1):
        code = (code + bl_count[bits - 1]) << 1
        next_code[bits] = code
    codes = [0] * len(lengths)
    for sym, ln in enumerate(lengths):
        if ln:
            codes[sym] = next_code[ln]
            next_code[ln] += 1
    return codes


FIXED_LIT = [8] * 144 + [9] * 112 + [7] * 24 + [8] * 8
FIXED_DIST = [5] * 30
LBASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227,
         258]
LEXT = [0] * 8 + [1] * 4 + [2] * 4 + [3] * 4 + [4] * 4 + [5] * 4 + [0]
DBASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073,
         4097, 6145, 8193, 12289, 16385, 24577]
DEXT = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]
CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]


def length_code(length):
    """RFC 1951 §3.2.5 (length 258 always as code 285)."""
    if length == 258:
        return 28, 0
    c = bisect.bisect_right(LBASE, length) - 1
    return c, length - LBASE[c]


def distance_code(dist):
    c = bisect.bisect_right(DBASE, dist) - 1
    return c, dist - DBASE[c]


def remake_recipe(C, R):
    """§4 Recipes (1.7): re-make a raw deflate stream from its inflated bytes C and recipe R."""
    n = len(C)
    w = BitWriter()
    ri = 0

    def u8():
        nonlocal ri
        if ri >= len(R):
            decode_failed('recipe truncated')
        ri += 1
        return R[ri - 1]

    def var():
        nonlocal ri
        v, ri = read_lzvar(R, ri)
        return v

    def H(q):
        return (((C[q] << 16 | C[q + 1] << 8 | C[q + 2]) * 0x9E3779B1) & 0xFFFFFFFF) >> 17

    # The chain: each hash's latest position and each position's previous one, linked up to p.
    head = {}
    prev = {}
    linked = 0

    def link_to(p):
        nonlocal linked
        while linked < p:
            if linked + 3 <= n:
                h = H(linked)
                prev[linked] = head.get(h, -1)
                head[h] = linked
            linked += 1

    p = 0
    while True:
        block_head = u8()
        if block_head > 5:
            decode_failed('recipe: block head %d' % block_head)
        bfinal, btype = block_head & 1, block_head >> 1
        w.put(bfinal, 1)
        w.put(btype, 2)
        if btype == 0:
            pad = u8()
            nb = (8 - w.n) % 8
            if pad >= 1 << nb:
                decode_failed('recipe: stored block padding')
            w.put(pad, nb)
            L = var()
            if L > 65535 or p + L > n:
                decode_failed('recipe: stored LEN %d' % L)
            w.put(L, 16)
            w.put(L ^ 0xFFFF, 16)
            w.out += C[p:p + L]  # byte-aligned here: the padding, then 32 bits
            p += L
        else:
            if btype == 1:
                lit_lens, dist_lens = FIXED_LIT, FIXED_DIST
            else:
                hlit, hdist, hclen = u8(), u8(), u8()
                if hlit > 29 or hdist > 29 or hclen > 15:
                    decode_failed('recipe: dynamic header')
                w.put(hlit, 5)
                w.put(hdist, 5)
                w.put(hclen, 4)
                cl_lens = [0] * 19
                for k in range(hclen + 4):
                    v = u8()
                    if v > 7:
                        decode_failed('recipe: code-length code length %d' % v)
                    cl_lens[CL_ORDER[k]] = v
                    w.put(v, 3)
                cl_codes = huffman_codes(cl_lens)
                total = hlit + hdist + 258
                S = var()
                if S > total:
                    decode_failed('recipe: %d code-length symbols' % S)
                seq = []
                for _ in range(S):
                    sym = u8()
                    if sym > 18 or cl_lens[sym] == 0:
                        decode_failed('recipe: code-length symbol %d' % sym)
                    w.put_code(cl_codes[sym], cl_lens[sym])
                    if sym < 16:
                        seq.append(sym)
                        continue
                    cnt = u8()
                    if sym == 16:
                        if cnt > 3 or not seq:
                            decode_failed('recipe: repeat 16')
                        w.put(cnt, 2)
                        seq += [seq[-1]] * (3 + cnt)
                    elif sym == 17:
                        if cnt > 7:
                            decode_failed('recipe: repeat 17')
                        w.put(cnt, 3)
                        seq += [0] * (3 + cnt)
                    else:
                        if cnt > 127:
                            decode_failed('recipe: repeat 18')
                        w.put(cnt, 7)
                        seq += [0] * (11 + cnt)
                    if len(seq) > total:
                        decode_failed('recipe: code lengths run past their end')
                if len(seq) != total:
                    decode_failed('recipe: code lengths stop short')
                lit_lens, dist_lens = seq[:hlit + 257], seq[hlit + 257:]
            lit_codes, dist_codes = huffman_codes(lit_lens), huffman_codes(dist_lens)

            def symbol(codes, lens, s):
                if s >= len(lens) or lens[s] == 0:
                    decode_failed('recipe: a symbol without a code')
                w.put_code(codes[s], lens[s])

            while True:
                L = var()
                if p + L > n:
                    decode_failed('recipe: literals past the inflated bytes')
                for b in C[p:p + L]:
                    symbol(lit_codes, lit_lens, b)
                p += L
                k = var()
                if k == 0:
                    symbol(lit_codes, lit_lens, 256)
                    break
                if k <= 256:
                    if p + 3 > n:
                        decode_failed('recipe: a rank where no 3 bytes are left')
                    link_to(p)
                    q = head.get(H(p), -1)
                    for _ in range(k - 1):
                        if q < 0:
                            break
                        q = prev[q]
                    if q < 0 or p - q > 32768:
                        decode_failed('recipe: rank %d has no entry within the window' % k)
                    d = p - q
                elif k == 257:
                    d = var()
                    if d > 32767:
                        decode_failed('recipe: distance %d' % d)
                    d += 1
                else:
                    decode_failed('recipe: token %d' % k)
                if d > p:
                    decode_failed('recipe: distance past the start')
                s = var()
                if s > 258:
                    decode_failed('recipe: shortening %d' % s)
                m = 0
                lim = min(258, n - p)
                while m < lim and C[p + m] == C[p + m - d]:
                    m += 1
                length = m - s
                if length < 3:
                    decode_failed('recipe: match of length %d' % length)
                lc, le = length_code(length)
                symbol(lit_codes, lit_lens, 257 + lc)
                w.put(le, LEXT[lc])
                dc, de = distance_code(d)
                symbol(dist_codes, dist_lens, dc)
                w.put(de, DEXT[dc])
                p += length
        if bfinal:
            break
    trailing = u8()
    nb = (8 - w.n) % 8
    if trailing >= 1 << nb:
        decode_failed('recipe: trailing bits')
    w.put(trailing, nb)
    if ri != len(R) or p != n:
        decode_failed('recipe did not end exactly (recipe %d/%d, inflated %d/%d)' % (ri, len(R), p, n))
    return bytes(w.out)


# ================================================================= §4 exec-aware
def unzigzag(v):
    return v // 2 if v % 2 == 0 else -(v + 1) // 2


def sext(v, bits):
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def patch_exec_aware(src, blob, n, mem):
    """§4 exec-aware (differ 6): runs, (1.5) a label table, regions from the inner patch's control
    tuples, the picked regions of a copy of the source adjusted, then the inner patch."""
    if len(blob) < 9 or bytes(blob[:8]) != b'EXECDIFF':
        decode_failed('exec-aware magic')
    arch_byte = blob[8]
    arch = arch_byte & 0x7F
    if arch not in (1, 2) or arch_byte & 0x7F != arch_byte & ~0x80:
        decode_failed('exec-aware arch %#x' % arch_byte)
    T = n
    K, i = read_lzvar(blob, 9)
    if K > (3 * T + 24) // 24 + 1:
        decode_failed('exec-aware: %d runs' % K)
    runs = []
    for _ in range(K):
        r, i = read_lzvar(blob, i)
        runs.append(r)
    S = len(src)
    d = min(28, max(12, clog2(T)))
    need = S + 4 * (3 * T + 24) + (S + 2 * T + (3 * T + 24) + (1 << d) + 65584)
    labels = []
    if arch_byte & 0x80:
        L, i = read_lzvar(blob, i)
        if L > (3 * T + 24) // 24 or need + 24 * L > mem:
            decode_failed('exec-aware: %d label intervals' % L)
        f = h = 0
        for k in range(L):
            g, i = read_lzvar(blob, i)
            ln, i = read_lzvar(blob, i)
            z, i = read_lzvar(blob, i)
            b = unzigzag(g) if k == 0 else f + g
            f = b + ln + 1
            h += unzigzag(z)
            if max(abs(b), abs(f), abs(h)) >= 1 << 40:
                decode_failed('exec-aware: label interval of magnitude 2^40 or more')
            labels.append((b, f, h))
        need += 24 * L
        count(FEATURES, 'exec:labels')
    if mem < need:
        decode_failed('exec-aware: the op declares %d bytes, the patch needs %d' % (mem, need))
    inner = blob[i:]
    ns, blocks = lz_header(inner, mem)
    if ns != T:
        decode_failed('exec-aware: inner new size %d, the destination is %d' % (ns, T))
    tuples = control_tuples(lz_block(blocks[0]), True)
    if sum(x for x, _, _ in tuples) > T or sum(y for _, y, _ in tuples) > T:
        decode_failed('exec-aware: control sums over the new size')
    # Regions: candidate runs, sorted and clipped.
    candidates = []
    old = new = 0
    for x, y, z in tuples:
        if x >= 16 and old >= 0 and old + x <= S:
            candidates.append((old, new, x))
        new += x + y
        old += x + z
    candidates.sort(key=lambda c: (c[0], -c[2], c[1]))
    regions = []
    E = 0
    for start, nw, length in candidates:
        c = max(0, E - start)
        if length - c < 16:
            continue
        regions.append((start + c, nw + c, length - c))
        E = start + length
    if sum(runs) > len(regions) or K > len(regions) + 1:
        decode_failed('exec-aware: runs over the %d regions' % len(regions))
    starts = [r[0] for r in regions]
    label_starts = [lb[0] for lb in labels]

    def maps(t):
        k = bisect.bisect_right(starts, t) - 1
        if k >= 0 and t < regions[k][0] + regions[k][2]:
            return t - regions[k][0] + regions[k][1]
        k = bisect.bisect_right(label_starts, t) - 1
        if k >= 0 and t < labels[k][1]:
            return t + labels[k][2]
        return None

    count(FEATURES, 'exec:' + ('aarch64' if arch == 1 else 'x86-64'))
    adjusted = bytearray(src)
    k = 0
    for run_index, r in enumerate(runs):
        if run_index % 2:
            for start, nw, length in regions[k:k + r]:
                (adjust_aarch64 if arch == 1 else adjust_x86_64)(src, adjusted, start, start + length,
                                                                 nw - start, maps)
                count(FEATURES, 'exec:adjusted-region')
        k += r
    return patch_bsdiff_lzma(bytes(adjusted), inner, T, mem)


def adjust_aarch64(src, out, s, e, d, maps):
    """§4 exec-aware, aarch64: read the original source, write into its copy, inside [s, e)."""
    p = -(-s // 4) * 4
    while p + 4 <= e:
        w = struct.unpack_from('<I', src, p)[0]
        field = None
        if (w & 0x7C000000) == 0x14000000:
            field = (0, 26)  # B, BL
        elif (w & 0xFF000010) == 0x54000000 or (w & 0x7E000000) == 0x34000000 or (w & 0x3B000000) == 0x18000000:
            field = (5, 19)  # B.cond, CBZ/CBNZ, LDR/LDRSW/PRFM literal
        elif (w & 0x7E000000) == 0x36000000:
            field = (5, 14)  # TBZ/TBNZ
        if field:
            shift, bits = field
            t2 = maps(p + 4 * sext(w >> shift, bits))
            if t2 is not None and (t2 - (p + d)) % 4 == 0:
                imm = (t2 - (p + d)) // 4
                if -(1 << (bits - 1)) <= imm < 1 << (bits - 1):
                    mask = ((1 << bits) - 1) << shift
                    struct.pack_into('<I', out, p, (w & ~mask & 0xFFFFFFFF) | ((imm << shift) & mask))
        elif (w & 0x9F000000) == 0x10000000:  # ADR
            t2 = maps(p + sext(((w >> 29) & 3) | ((w >> 3) & 0x1FFFFC), 21))
            if t2 is not None:
                imm = t2 - (p + d)
                if -(1 << 20) <= imm < 1 << 20:
                    struct.pack_into('<I', out, p, (w & 0x9F00001F) | ((imm & 3) << 29) | (((imm >> 2) & 0x7FFFF) << 5))
        elif (w & 0x9F000000) == 0x90000000:  # ADRP, and its partner
            imm = sext(((w >> 29) & 3) | ((w >> 3) & 0x1FFFFC), 21)
            rd = w & 31
            partner = None
            g = lo = 0
            for k in range(1, 5):
                q = p + 4 * k
                if q + 4 > e:
                    break
                u = struct.unpack_from('<I', src, q)[0]
                if (u & 0x9F000000) == 0x90000000:
                    break  # another ADRP: no partner
                if (u >> 5) & 31 != rd:
                    continue
                if (u & 0xFFC00000) == 0x91000000:
                    g = 0
                elif (u & 0x3B000000) == 0x39000000:
                    g = 4 if (u & 0x04800000) == 0x04800000 else u >> 30
                else:
                    continue  # rd in bits 5-9 but neither ADD nor a load/store: skipped (1.7 clarification)
                partner = (q, u)
                lo = ((u >> 10) & 0xFFF) << g
                break
            t2 = maps((p // 4096) * 4096 + 4096 * imm + lo)
            if t2 is not None:
                pages = t2 // 4096 - (p + d) // 4096
                lo2 = t2 - 4096 * (t2 // 4096)
                if -(1 << 20) <= pages < 1 << 20 and lo2 % (1 << g) == 0:
                    struct.pack_into('<I', out, p,
                                     (w & 0x9F00001F) | ((pages & 3) << 29) | (((pages >> 2) & 0x7FFFF) << 5))
                    if partner:
                        q, u = partner
                        struct.pack_into('<I', out, q, (u & 0xFFC003FF) | ((lo2 >> g) << 10))
        p += 4


# §4 exec-aware x86-64: RIP-relative opcodes -> the immediate bytes after their disp32.
X86_ONE_BYTE = dict.fromkeys(bytes.fromhex('01 03 09 0B 11 13 19 1B 21 23 29 2B 31 33 39 3B '
                                           '63 84 85 86 87 88 89 8A 8B 8D 8F D0 D1 D3 FE FF'), 0)
X86_ONE_BYTE.update(dict.fromkeys(bytes.fromhex('6B 80 83 C0 C1 C6'), 1))
X86_ONE_BYTE.update(dict.fromkeys(bytes.fromhex('69 81 C7'), 4))
X86_TWO_BYTE = dict.fromkeys([*range(0x10, 0x19), 0x1F, *range(0x28, 0x30), *range(0x40, 0x50), 0x51,
                              *range(0x54, 0x60), *bytes.fromhex('60 61 62 66 6C 6D 6E 6F 7E 7F AF B6 B7 BE BF '
                                                                 'D4 D6 DB DF EB EF FA FB FE')], 0)
X86_TWO_BYTE.update(dict.fromkeys(bytes.fromhex('70 BA C2 C6'), 1))


def adjust_x86_64(src, out, s, e, d, maps):
    """§4 exec-aware, x86-64: calls, jumps, jcc and RIP-relative operands inside [s, e)."""
    p = s
    while p < e:
        a = end = None
        c = src[p]
        if c in (0xE8, 0xE9):
            a = p + 1
            end = a + 4
        elif c == 0x0F and p + 1 < e and 0x80 <= src[p + 1] <= 0x8F:
            a = p + 2
            end = a + 4
        else:
            imm = modrm = None
            if c == 0x0F:
                if p + 2 < e:
                    imm, modrm = X86_TWO_BYTE.get(src[p + 1]), p + 2
            elif p + 1 < e:
                imm, modrm = X86_ONE_BYTE.get(c), p + 1
                if c in (0xF6, 0xF7):
                    imm = (1 if c == 0xF6 else 4) if src[modrm] & 0x30 == 0 else 0
                if imm == 4 and ((p - 1 >= s and src[p - 1] == 0x66)
                                 or (p - 2 >= s and 0x40 <= src[p - 1] <= 0x47 and src[p - 2] == 0x66)):
                    imm = 2
            if imm is not None and src[modrm] & 0xC7 == 0x05:
                a = modrm + 1
                end = a + 4 + imm
        if a is not None and a + 4 <= e:
            t2 = maps(end + struct.unpack_from('<i', src, a)[0])
            if t2 is not None:
                v = t2 - (end + d)
                if -(1 << 31) <= v < 1 << 31:
                    struct.pack_into('<i', out, a, v)
                p = end
                continue
        p += 1


DIFFERS = {1: ('bsdiff', patch_bsdiff), 2: ('zstd-dict', patch_zstd_dict), 3: ('bsdf2', patch_bsdf2),
           4: ('bsdiff-lzma', patch_bsdiff_lzma), 5: ('deflate-aware', patch_deflate_aware),
           6: ('exec-aware', patch_exec_aware)}


# ================================================================= §6 applying
def read_blocks(img, exts, bs, limit=None):
    """§4: the bytes of `exts` (whole blocks, in extent order); bytes at or past `limit` read as 0
    (1.6: target blocks read back past target.size_bytes)."""
    out = bytearray()
    for e in exts:
        a = e['start_block'] * bs
        chunk = bytearray(img[a:a + e['block_count'] * bs])
        chunk += bytes(e['block_count'] * bs - len(chunk))
        if limit is not None and a + len(chunk) > limit:
            chunk[max(0, limit - a):] = bytes(len(chunk) - max(0, limit - a))
        out += chunk
    return bytes(out)


def as_read(img, size, bs, dont_care):
    """An image as §4 "Image identity" reads it: size bytes, DONT_CARE blocks as zeros, padded
    with zeros to whole blocks."""
    b = bytearray(img[:size])
    b += bytes(-(-size // bs) * bs - len(b))
    for e in dont_care:
        b[e['start_block'] * bs:(e['start_block'] + e['block_count']) * bs] = bytes(e['block_count'] * bs)
    return b


def identity_sha(img, ident, bs):
    return sha(bytes(as_read(img, ident['size_bytes'], bs, ident['dont_care_extents'])[:ident['size_bytes']]))


def check_base(part, old, bs):
    """§6 step 4: the old image's size and sha256, DONT_CARE blocks as zeros."""
    src = part['source']
    if old is None:
        raise Refuse('WRONG_BASE', 'partition %s needs its old image' % part['name'])
    if len(old) != src['size_bytes'] or identity_sha(old, src, bs) != src['sha256']:
        raise Refuse('WRONG_BASE', 'the old image of %s is not the package\'s source' % part['name'])


def blob_of(p, op, idx):
    blob = p.blobs[op['blob_offset']:op['blob_offset'] + op['blob_size_bytes']]
    if sha(blob) != op['blob_sha256']:
        raise Refuse('BLOB_HASH_MISMATCH', 'op %d' % idx)
    return blob


def decode_op(p, op, idx, source):
    """§4 op table, §6 step 6: a REPLACE's or DIFF's bytes, its blob's sha256 checked first, decoded
    or patched to exactly the destination size (and its dst_sha256, when it has one)."""
    blob = blob_of(p, op, idx)
    n = nblocks(op['dst_extents']) * p.man['block_size_bytes']
    mem = op['decoder_memory_bytes']
    try:
        if op['type'] == REPLACE:
            name, fn = CODECS[op['codec']]
            data = fn(blob, n, mem)
            count(OPS, 'REPLACE/' + name)
        else:
            name, fn = DIFFERS[op['differ']]
            data = fn(source, blob, n, mem)
            count(OPS, 'DIFF/' + name)
    except (ValueError, IndexError, struct.error) as e:  # a truncated field inside a blob
        raise Refuse('BLOB_DECODE_FAILED', 'op %d: %s' % (idx, e))
    if len(data) != n:
        raise Refuse('BLOB_DECODE_FAILED', 'op %d made %d bytes, its destination is %d' % (idx, len(data), n))
    if op['dst_sha256'] and sha(data) != op['dst_sha256']:
        raise Refuse('BLOB_DECODE_FAILED', 'op %d: the bytes made are not its dst_sha256' % idx)
    return data


def check_source(op, idx, data):
    if sha(data) != op['src_sha256']:
        raise Refuse('SOURCE_MISMATCH', 'op %d' % idx)
    return data


def write_blocks(img, exts, bs, data):
    """An op's output, to its dst extents in list order (§4)."""
    at = 0
    for e in exts:
        n = e['block_count'] * bs
        img[e['start_block'] * bs:e['start_block'] * bs + n] = data[at:at + n]
        at += n


def apply_ab(p, part, old):
    """§6 step 6-7 for one partition, A/B: returns the new image (raw, DONT_CARE as zeros)."""
    bs = p.man['block_size_bytes']
    tgt, src = part['target'], part['source']
    size = tgt['size_bytes']
    if not part['operations']:
        count(FEATURES, 'unchanged-partition')
        return bytes(as_read(old, size, bs, src['dont_care_extents'])[:size])
    if tgt['dont_care_extents']:
        count(FEATURES, 'dont-care:target')
    if src and src['dont_care_extents']:
        count(FEATURES, 'dont-care:source')
    old_read = as_read(old, src['size_bytes'], bs, src['dont_care_extents']) if src else b''
    out = bytearray(-(-size // bs) * bs)
    for idx, op in enumerate(part['operations']):
        t = op['type']
        if t == ZERO:
            data = bytes(nblocks(op['dst_extents']) * bs)
            count(OPS, 'ZERO')
        elif t == COPY:
            data = check_source(op, idx, read_blocks(old_read, op['src_extents'], bs))
            count(OPS, 'COPY')
        elif t == REPLACE:
            data = decode_op(p, op, idx, None)
        elif t == DIFF:
            # 1.6: old-image blocks, then blocks earlier ops wrote (past the target's size: zeros).
            source = read_blocks(old_read, op['src_extents'], bs) + read_blocks(out, op['target_src_extents'], bs,
                                                                               limit=size)
            if op['target_src_extents']:
                count(FEATURES, 'target-src')
            if not op['src_extents'] and not op['target_src_extents']:
                count(FEATURES, 'sourceless')
            data = decode_op(p, op, idx, check_source(op, idx, source))
        else:
            # §4b: an in-place package applied A/B style reads every source from the old image.
            count(OPS, OP_NAMES[t] + '(skipped)')
            continue
        write_blocks(out, op['dst_extents'], bs, data)
    result = bytes(out[:size])
    if identity_sha(result, tgt, bs) != tgt['sha256']:
        raise Refuse('OUTPUT_MISMATCH', 'partition %s' % part['name'])
    return result


class ImageFile:
    """§4b: the in-place image, a file read and rewritten where it is; bytes past its end read as 0
    and are never written."""

    def __init__(self, path, size, bs):
        self.fd = os.open(path, os.O_RDWR)
        self.size, self.bs = size, bs

    def read(self, exts):
        out = bytearray()
        for e in exts:
            n = e['block_count'] * self.bs
            chunk = os.pread(self.fd, n, e['start_block'] * self.bs)
            out += chunk + bytes(n - len(chunk))
        return bytes(out)

    def write(self, exts, data):
        at = 0
        for e in exts:
            n = e['block_count'] * self.bs
            off = e['start_block'] * self.bs
            os.pwrite(self.fd, data[at:at + min(n, self.size - off)], off)
            at += n

    def close(self):
        os.fsync(self.fd)
        os.close(self.fd)


def apply_in_place(p, part, path, old):
    """§4b "Applying": a fresh image only (one already at the target is left as it is)."""
    bs = p.man['block_size_bytes']
    src, tgt = part['source'], part['target']
    if len(old) == tgt['size_bytes'] and identity_sha(old, tgt, bs) == tgt['sha256'] \
            and identity_sha(old, src, bs) != src['sha256']:
        count(FEATURES, 'in-place:already-done')
        return
    check_base(part, old, bs)
    verify_payload(p)
    img = ImageFile(path, tgt['size_bytes'], bs)
    stashes = {}

    def read_source(op):
        # Blocks inside a named stash come from the stash, every other from the image.
        if not op['stash_ids']:
            return img.read(op['src_extents'])
        saved = {}
        for sid in op['stash_ids']:
            saved.update(stashes[sid])
            count(FEATURES, 'in-place:stash-read')
        return b''.join(saved[b] if b in saved else img.read([{'start_block': b, 'block_count': 1}])
                        for b in blocks_of(op['src_extents']))

    for idx, op in enumerate(part['operations']):
        t = op['type']
        if t not in (REPLACE, DIFF):
            count(OPS, OP_NAMES[t])  # decode_op counts REPLACE/<codec> and DIFF/<differ>
        if t == STASH:
            data = check_source(op, idx, img.read(op['src_extents']))
            stashes[op['stash_id']] = {b: data[k * bs:(k + 1) * bs] for k, b in enumerate(blocks_of(op['src_extents']))}
            continue
        if t == FREE:
            del stashes[op['stash_id']]
            continue
        if t == ZERO:
            data = bytes(nblocks(op['dst_extents']) * bs)
        elif t == REPLACE:
            data = decode_op(p, op, idx, None)
        else:
            data = check_source(op, idx, read_source(op))
            if t == COPY and op['src_extents'] == op['dst_extents']:
                count(FEATURES, 'in-place:identity-copy')
                continue
            if t == DIFF:
                data = decode_op(p, op, idx, data)
        img.write(op['dst_extents'], data)
    img.close()
    with open(path, 'rb') as f:
        result = f.read()
    if identity_sha(result, tgt, bs) != tgt['sha256']:
        raise Refuse('OUTPUT_MISMATCH', 'the image after the last op')


# ================================================================= main
def main(argv):
    ap = argparse.ArgumentParser(prog='ota_reader.py', description='Independent reader of ota-build packages, '
                                 'written from docs/FORMAT.md alone (see the module docstring).')
    ap.add_argument('pkg', metavar='PKG')
    ap.add_argument('--keys', metavar='DIR', required=True, help='folder of pinned *.pub.pem public keys')
    ap.add_argument('--old', metavar='OLD', help='old image, or a folder of <partition>.img for a release')
    ap.add_argument('-o', '--out', metavar='OUT', help='new image, or a folder for a release')
    ap.add_argument('--in-place', action='store_true', help='rewrite the --old image in place (§4b)')
    a = ap.parse_args(argv)
    if a.in_place and (a.out or not a.old or not os.path.isfile(a.old)):
        ap.error('--in-place rewrites the --old image file itself: give --old IMAGE and no -o')

    def log(msg):
        print('ota_reader: ' + msg, file=sys.stderr)

    with open(a.pkg, 'rb') as f:
        data = f.read()
    p = open_package(data, load_keys(a.keys))
    check_target_header(p)
    check_manifest(p)
    inplace = p.th['update_mode'] == 'in-place'
    if a.in_place and not inplace:
        raise Refuse('PKG_BAD_MANIFEST', '--in-place, but the package is %s' % p.th['update_mode'])
    if inplace:
        log('in-place proof: stash peak %d bytes' % prove_in_place(p))
    parts = p.man['partitions']
    release = len(parts) > 1 or bool(p.th['release_layout'])
    log('format %d.%d, target %s, %s, block %d, %d partition(s)' % (
        p.major, p.minor, p.th['target_id'], p.th['update_mode'], p.man['block_size_bytes'], len(parts)))
    log('signature: %s, %d block(s), checked block %d with %s' % (
        ALGS[p.alg][0], p.signatures, p.signer_block, os.path.basename(p.signer_key)))

    def old_image(part):
        if a.old is None:
            return None
        path = os.path.join(a.old, part['name'] + '.img') if os.path.isdir(a.old) else a.old
        if not os.path.exists(path):
            return None
        with open(path, 'rb') as f:
            return f.read()

    if a.in_place:
        apply_in_place(p, parts[0], a.old, old_image(parts[0]))
        log('partition %s rewritten in place: sha256 = target' % parts[0]['name'])
    else:
        # §6 step 4 for every partition before anything is written, then step 5, then the ops.
        olds = {}
        for part in parts:
            if part['source'] is not None:
                olds[part['name']] = old_image(part)
                check_base(part, olds[part['name']], p.man['block_size_bytes'])
        verify_payload(p)
        results = {}
        for part in parts:
            results[part['name']] = apply_ab(p, part, olds.get(part['name']))
            log('partition %s: %d ops, %d bytes, sha256 = target' % (
                part['name'], len(part['operations']), len(results[part['name']])))
        if a.out:
            if release:
                os.makedirs(a.out, exist_ok=True)
                outputs = [(os.path.join(a.out, name + '.img'), img) for name, img in results.items()]
            else:
                outputs = [(a.out, next(iter(results.values())))]
            for path, img in outputs:
                with open(path + '.partial', 'wb') as f:
                    f.write(img)
                os.replace(path + '.partial', path)
    print('ops: ' + ' '.join('%s=%d' % kv for kv in sorted(OPS.items())), file=sys.stderr)
    print('features: ' + ' '.join('%s=%d' % kv for kv in sorted(FEATURES.items())), file=sys.stderr)
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main(sys.argv[1:]))
    except Refuse as e:
        print('REFUSED %s' % str(e).replace('\n', ' '), file=sys.stderr)
        sys.exit(EXIT_CODES.get(e.code, 4))
    except (EnvironmentProblem, OSError) as e:
        print('ERROR: %s' % e, file=sys.stderr)
        sys.exit(1)
