// Independent reading and re-signing of package bytes, written from docs/FORMAT.md (not from
// src/): section layout from the 64-byte header, header field offsets, and both signatures.

import { createHash, createPrivateKey, sign } from 'node:crypto';
import { readdirSync } from 'node:fs';

/** Offsets of the header's fields (FORMAT.md §2). */
export const HEADER_FIELD = {
  magic: 0,
  formatMajor: 6,
  formatMinor: 7,
  headerSizeBytes: 8,
  flags: 12,
  targetHeaderSizeBytes: 16,
  manifestSizeBytes: 20,
  metadataSignatureSizeBytes: 24,
  payloadSignatureSizeBytes: 28,
  blobSectionSizeBytes: 32,
  reserved: 40,
} as const;

/** Section names in file order. */
export const SECTION_NAMES = [
  'header',
  'targetHeader',
  'manifest',
  'metadataSignature',
  'blobs',
  'payloadSignature',
] as const;
export type SectionName = (typeof SECTION_NAMES)[number];

/** One section's place in the file. */
export interface Section {
  readonly name: SectionName;
  readonly offsetBytes: number;
  readonly sizeBytes: number;
}

/** Reads the section layout of a well-formed package from its header. */
export function sectionsOf(pkg: Buffer): Section[] {
  const sizes = [
    64,
    pkg.readUInt32LE(HEADER_FIELD.targetHeaderSizeBytes),
    pkg.readUInt32LE(HEADER_FIELD.manifestSizeBytes),
    pkg.readUInt32LE(HEADER_FIELD.metadataSignatureSizeBytes),
    Number(pkg.readBigUInt64LE(HEADER_FIELD.blobSectionSizeBytes)),
    pkg.readUInt32LE(HEADER_FIELD.payloadSignatureSizeBytes),
  ];
  let offset = 0;
  return SECTION_NAMES.map((name, i) => {
    const s = { name, offsetBytes: offset, sizeBytes: sizes[i]! };
    offset += sizes[i]!;
    return s;
  });
}

/** The section called `name`. */
export function sectionNamed(pkg: Buffer, name: SectionName): Section {
  return sectionsOf(pkg).find((s) => s.name === name)!;
}

/** Every section boundary offset (0, each section start, and the file end). */
export function boundariesOf(pkg: Buffer): number[] {
  const out = new Set<number>([0, pkg.length]);
  for (const s of sectionsOf(pkg)) {
    out.add(s.offsetBytes);
    out.add(s.offsetBytes + s.sizeBytes);
  }
  return [...out].sort((a, b) => a - b);
}

function writeSignature(
  pkg: Buffer,
  blockOffset: number,
  blockSize: number,
  context: string,
  coveredEnd: number,
  keyPem: string,
): void {
  const key = createPrivateKey(keyPem);
  const digest = createHash('sha256').update(pkg.subarray(0, coveredEnd)).digest();
  const statement = Buffer.concat([Buffer.from(context, 'ascii'), Buffer.of(0), digest]);
  const signature = sign(key.asymmetricKeyType === 'ed25519' ? null : 'sha256', statement, key);
  pkg.writeUInt16LE(signature.length, blockOffset + 2);
  pkg.fill(0, blockOffset + 36, blockOffset + blockSize);
  signature.copy(pkg, blockOffset + 36);
}

/**
 * Recomputes both signatures in place with `keyPem` (FORMAT.md §5), keeping the blocks' algorithm
 * and key id. Lets a test reach the checks behind the signatures with deliberately bad content.
 */
export function resign(pkg: Buffer, keyPem: string): Buffer {
  const s = Object.fromEntries(sectionsOf(pkg).map((x) => [x.name, x])) as Record<SectionName, Section>;
  writeSignature(
    pkg,
    s.metadataSignature.offsetBytes,
    s.metadataSignature.sizeBytes,
    'OTABUILD/1/METADATA',
    s.metadataSignature.offsetBytes,
    keyPem,
  );
  writeSignature(
    pkg,
    s.payloadSignature.offsetBytes,
    s.payloadSignature.sizeBytes,
    'OTABUILD/1/PAYLOAD',
    s.payloadSignature.offsetBytes,
    keyPem,
  );
  return pkg;
}

/** sha256 hex of bytes. */
export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Files in `dir` (including dot files such as temp outputs). */
export function filesIn(dir: string): string[] {
  return readdirSync(dir).sort();
}
