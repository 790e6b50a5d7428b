// Counts a manifest's partitions, operations and extents by walking the protobuf wire format,
// BEFORE protobufjs decodes it: a hostile manifest of millions of tiny ops is refused with a
// typed error instead of being materialized. Pure; reads only lengths and tags.

import { PackageFormatError } from '../errors/ota-error.js';
import {
  MAX_DONT_CARE_EXTENTS,
  MAX_EXTENTS_PER_OPERATION,
  MAX_OPERATIONS,
  MAX_PARTITIONS,
  MAX_TOTAL_EXTENTS,
} from './limits.js';

/** Field numbers of the repeated messages the walk counts (see proto/ota_package.proto). */
const MANIFEST_PARTITIONS = 5;
const PARTITION_SOURCE = 2;
const PARTITION_TARGET = 3;
const PARTITION_OPERATIONS = 4;
const OPERATION_DST = 2;
const OPERATION_SRC = 3;
/** `target_src_extents` (1.6). */
const OPERATION_TARGET_SRC = 14;
/**
 * `stash_ids` (1.3), counted with the extents: written one tag per id (the schema's
 * `packed = false`); a packed run, which a canonical manifest never holds, by its byte length.
 */
const OPERATION_STASH_IDS = 12;
const IDENTITY_DONT_CARE = 5;

/** What a manifest holds, counted on the wire. */
export interface ManifestCounts {
  readonly partitionCount: number;
  readonly operationCount: number;
  readonly extentCount: number;
}

/** Throws PackageFormatError when any count in `bytes` exceeds its limit; returns the counts. */
export function checkManifestCounts(bytes: Uint8Array): ManifestCounts {
  let operations = 0;
  let extents = 0;
  const addExtents = (n: number) => {
    extents += n;
    if (extents > MAX_TOTAL_EXTENTS) bad(`more than ${MAX_TOTAL_EXTENTS} extents in all`);
  };
  const partitions = countField(bytes, MANIFEST_PARTITIONS, (partition) => {
    forEachField(partition, (field, body) => {
      if (field === PARTITION_OPERATIONS) {
        if (++operations > MAX_OPERATIONS) bad(`more than ${MAX_OPERATIONS} operations`);
        for (const f of [OPERATION_DST, OPERATION_SRC, OPERATION_TARGET_SRC]) {
          const n = countField(body, f);
          if (n > MAX_EXTENTS_PER_OPERATION) bad(`an operation has more than ${MAX_EXTENTS_PER_OPERATION} extents`);
          addExtents(n);
        }
        let stashIds = 0;
        forEachField(
          body,
          (f, ids) => {
            if (f === OPERATION_STASH_IDS) stashIds += ids.length;
          },
          (f) => {
            if (f === OPERATION_STASH_IDS) stashIds++;
          },
        );
        if (stashIds > MAX_EXTENTS_PER_OPERATION)
          bad(`an operation names more than ${MAX_EXTENTS_PER_OPERATION} stashes`);
        addExtents(stashIds);
      } else if (field === PARTITION_SOURCE || field === PARTITION_TARGET) {
        const n = countField(body, IDENTITY_DONT_CARE);
        if (n > MAX_DONT_CARE_EXTENTS) bad(`an image has more than ${MAX_DONT_CARE_EXTENTS} DONT_CARE extents`);
        addExtents(n);
      }
    });
  });
  if (partitions > MAX_PARTITIONS) bad(`more than ${MAX_PARTITIONS} partitions`);
  return { partitionCount: partitions, operationCount: operations, extentCount: extents };
}

/** Counts length-delimited occurrences of `field` in a message, calling `each` on their bodies. */
function countField(message: Uint8Array, field: number, each?: (body: Uint8Array) => void): number {
  let n = 0;
  forEachField(message, (f, body) => {
    if (f !== field) return;
    n++;
    each?.(body);
  });
  return n;
}

/**
 * Calls `each` with every length-delimited field of a message, and `scalar` (if given) with the
 * number of every other field.
 */
function forEachField(
  m: Uint8Array,
  each: (field: number, body: Uint8Array) => void,
  scalar?: (field: number) => void,
): void {
  let at = 0;
  const varint = (): number => {
    let value = 0;
    for (let shift = 0; shift < 64; shift += 7) {
      if (at >= m.length) bad('truncated varint');
      const b = m[at++]!;
      if (shift < 53) value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return value;
    }
    return bad('varint longer than 10 bytes');
  };
  while (at < m.length) {
    const key = varint();
    const wireType = key % 8;
    const field = Math.floor(key / 8);
    if (wireType === 2) {
      const length = varint();
      if (length > m.length - at) bad(`field ${field} runs past the end of its message`);
      each(field, m.subarray(at, at + length));
      at += length;
    } else {
      if (wireType === 0) varint();
      else if (wireType === 1) at += 8;
      else if (wireType === 5) at += 4;
      else bad(`unsupported wire type ${wireType} for field ${field}`);
      scalar?.(field);
    }
    if (at > m.length) bad('truncated field');
  }
}

function bad(detail: string): never {
  throw new PackageFormatError('PKG_BAD_MANIFEST', `manifest ${detail}`);
}
