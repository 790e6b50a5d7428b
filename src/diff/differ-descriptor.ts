// DifferDescriptor: the pure facts about a patch format that both halves of a differ plugin
// share (name, wire id, the device patcher's memory). Imports no differ or patcher.

import type { DifferName } from '../model/wire-ids.js';

/** Stable wire ids written into packages (defined in model/wire-ids.ts). */
export { DifferWireId, type DifferName } from '../model/wire-ids.js';

/** What the differ and the patcher of one patch format agree on. */
export interface DifferDescriptor {
  readonly name: DifferName;
  readonly wireId: number;
  /** Memory the device's patcher needs for these sizes. */
  decoderMemoryBytes(sourceBytes: number, targetBytes: number): number;
}
