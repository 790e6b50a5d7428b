// Refuses a package built for another chipset target (exit 5): mix-and-match protection.

import { VerificationError } from '../errors/ota-error.js';
import type { TargetHeader } from '../model/target-header.js';
import { builtinTargets } from '../targets/target-registry.js';

/** Throws unless `deviceTarget` (an id or alias) names the package's target. No-op when absent. */
export function checkDeviceTarget(header: TargetHeader, deviceTarget: string | undefined): void {
  if (deviceTarget === undefined) return;
  const wanted = deviceTarget.trim().toLowerCase();
  const builtin = builtinTargets().find((t) => t.id === wanted || t.aliases.includes(wanted));
  const id = builtin?.id ?? wanted;
  if (id !== header.targetId) {
    throw new VerificationError('WRONG_TARGET', `package is built for target ${header.targetId} (${header.vendor} ${header.platform}), this device is ${id}`);
  }
}
