// Signature algorithms the format supports, with their stable wire ids and signature slot sizes.

import type { SignatureAlgorithmName } from './target-profile.js';

/** Facts about one signature algorithm. */
export interface SignatureAlgorithmInfo {
  readonly name: SignatureAlgorithmName;
  readonly wireId: number;
  /** Bytes reserved for the signature in a signature block (largest possible encoding). */
  readonly slotSizeBytes: number;
  /** Same key and message always give the same signature. */
  readonly deterministic: boolean;
}

/** Every supported algorithm, in wire-id order. Never renumber; append only. */
export const SIGNATURE_ALGORITHMS: readonly SignatureAlgorithmInfo[] = [
  { name: 'ed25519', wireId: 1, slotSizeBytes: 64, deterministic: true },
  { name: 'ecdsa-p256', wireId: 2, slotSizeBytes: 72, deterministic: false },
  { name: 'ecdsa-p384', wireId: 3, slotSizeBytes: 104, deterministic: false },
  { name: 'rsa-2048', wireId: 4, slotSizeBytes: 256, deterministic: true },
  { name: 'rsa-4096', wireId: 5, slotSizeBytes: 512, deterministic: true },
];

/** Looks an algorithm up by name; undefined when unknown. */
export function algorithmByName(name: string): SignatureAlgorithmInfo | undefined {
  return SIGNATURE_ALGORITHMS.find((a) => a.name === name);
}

/** Looks an algorithm up by wire id; undefined when unknown. */
export function algorithmByWireId(wireId: number): SignatureAlgorithmInfo | undefined {
  return SIGNATURE_ALGORITHMS.find((a) => a.wireId === wireId);
}
