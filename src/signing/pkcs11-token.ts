// PKCS#11 session handling over pkcs11js: load the module, C_Initialize, pick the token the URI
// names, log in, find the key, sign or generate, and always log out, close and C_Finalize. Every
// Cryptoki failure becomes a typed OtaError; the PIN is passed to C_Login only, never to a message.

import pkcs11js from 'pkcs11js';
import { IoError, SignatureError, UnsupportedError, UsageError } from '../errors/ota-error.js';
import type { Pkcs11Uri } from './pkcs11-uri.js';

type Module = InstanceType<typeof pkcs11js.PKCS11>;
type Handle = Buffer;

/** Mechanisms (CKM_*) ota-build uses; CKM_EDDSA and the Edwards generator postdate pkcs11js' table. */
export const MECHANISM = {
  sha256RsaPkcs: pkcs11js.CKM_SHA256_RSA_PKCS,
  ecdsa: pkcs11js.CKM_ECDSA,
  eddsa: 0x1057,
  rsaKeyPairGen: pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN,
  ecKeyPairGen: pkcs11js.CKM_EC_KEY_PAIR_GEN,
  ecEdwardsKeyPairGen: 0x1055,
} as const;

/** An open, logged-in session on the token a URI names. */
export interface TokenSession {
  readonly module: Module;
  readonly session: Handle;
  readonly slot: Handle;
  /** Label of the token, for messages. */
  readonly tokenLabel: string;
}

/** Where the token is and how to log in. */
export interface TokenAccess {
  readonly modulePath: string;
  readonly pin: string;
  readonly uri: Pkcs11Uri;
}

const PIN_ERRORS = new Set([pkcs11js.CKR_PIN_INCORRECT, pkcs11js.CKR_PIN_LEN_RANGE, pkcs11js.CKR_PIN_LOCKED]);

/** Name of a CKR_* code, for messages. */
function ckrName(code: number): string {
  const found = Object.entries(pkcs11js).find(([k, v]) => k.startsWith('CKR_') && v === code);
  return found ? found[0] : `CKR 0x${code.toString(16)}`;
}

/** Maps a pkcs11js error to a typed error (exit 6 unless a mechanism is missing: exit 7). */
export function tokenError(err: unknown, action: string): Error {
  if (err instanceof SignatureError || err instanceof UnsupportedError || err instanceof UsageError) return err;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'number') {
    if (PIN_ERRORS.has(code)) {
      return new SignatureError(
        'PKCS11_PIN_INCORRECT',
        `PKCS#11 login refused (${ckrName(code)}): wrong or locked user PIN`,
      );
    }
    if (code === pkcs11js.CKR_MECHANISM_INVALID || code === pkcs11js.CKR_MECHANISM_PARAM_INVALID) {
      return new UnsupportedError(
        'PKCS11_MECHANISM_UNSUPPORTED',
        `PKCS#11 ${action}: the token refuses the mechanism (${ckrName(code)})`,
      );
    }
    return new SignatureError('PKCS11_FAILED', `PKCS#11 ${action} failed: ${ckrName(code)}`);
  }
  return new SignatureError(
    'PKCS11_FAILED',
    `PKCS#11 ${action} failed: ${String((err as Error)?.message ?? err).split('\n')[0]}`,
  );
}

function trimmed(s: string): string {
  let end = s.length;
  while (end > 0 && (s[end - 1] === ' ' || s.charCodeAt(end - 1) === 0)) end--;
  return s.slice(0, end);
}

function findSlot(mod: Module, uri: Pkcs11Uri): { slot: Handle; tokenLabel: string } {
  const matches: { slot: Handle; tokenLabel: string; serial: string }[] = [];
  for (const slot of mod.C_GetSlotList(true)) {
    const info = mod.C_GetTokenInfo(slot);
    // A token never initialised (SoftHSM's free slot) holds no key: not a match.
    if ((info.flags & pkcs11js.CKF_TOKEN_INITIALIZED) === 0) continue;
    const label = trimmed(info.label);
    if (uri.token !== undefined && label !== uri.token) continue;
    if (uri.serial !== undefined && trimmed(info.serialNumber) !== uri.serial) continue;
    if (uri.manufacturer !== undefined && trimmed(info.manufacturerID) !== uri.manufacturer) continue;
    if (uri.model !== undefined && trimmed(info.model) !== uri.model) continue;
    if (uri.slotId !== undefined && slot.readUIntLE(0, Math.min(6, slot.length)) !== uri.slotId) continue;
    matches.push({ slot, tokenLabel: label, serial: trimmed(info.serialNumber) });
  }
  const which = uri.token !== undefined ? `token ${JSON.stringify(uri.token)}` : 'a token';
  if (matches.length === 0) throw new SignatureError('PKCS11_TOKEN_NOT_FOUND', `PKCS#11 module has no ${which}`);
  if (matches.length > 1) {
    throw new UsageError(
      'PKCS11_TOKEN_AMBIGUOUS',
      `PKCS#11 URI matches ${matches.length} tokens (${matches.map((m) => `${JSON.stringify(m.tokenLabel)} serial ${m.serial}`).join(', ')}); add token=<label> or serial=<serial>`,
    );
  }
  return matches[0]!;
}

/**
 * Runs `work` in a logged-in session and tears everything down afterwards, whatever happens.
 * One session per call: a build makes two signatures per key, and a fresh login keeps no token
 * state alive between them.
 */
export function withTokenSession<T>(access: TokenAccess, readWrite: boolean, work: (s: TokenSession) => T): T {
  const mod = new pkcs11js.PKCS11();
  try {
    mod.load(access.modulePath);
  } catch (err) {
    throw new IoError(
      'PKCS11_MODULE_LOAD_FAILED',
      `cannot load PKCS#11 module ${access.modulePath}: ${String((err as Error)?.message ?? err).split('\n')[0]}`,
    );
  }
  let initialized = false;
  try {
    mod.C_Initialize();
    initialized = true;
    const { slot, tokenLabel } = findSlot(mod, access.uri);
    const flags = pkcs11js.CKF_SERIAL_SESSION | (readWrite ? pkcs11js.CKF_RW_SESSION : 0);
    const session = mod.C_OpenSession(slot, flags);
    try {
      try {
        mod.C_Login(session, pkcs11js.CKU_USER, access.pin);
      } catch (err) {
        if ((err as { code?: number }).code !== pkcs11js.CKR_USER_ALREADY_LOGGED_IN) throw err;
      }
      try {
        return work({ module: mod, session, slot, tokenLabel });
      } finally {
        try {
          mod.C_Logout(session);
        } catch {
          // the session is closed next anyway
        }
      }
    } finally {
      mod.C_CloseSession(session);
    }
  } catch (err) {
    throw tokenError(err, 'session');
  } finally {
    if (initialized) mod.C_Finalize();
    mod.close();
  }
}

/** Finds the one object of `objectClass` the URI names (by label and/or id); undefined if none. */
export function findObject(s: TokenSession, uri: Pkcs11Uri, objectClass: number): Handle | undefined {
  const template: { type: number; value: number | string | Buffer }[] = [
    { type: pkcs11js.CKA_CLASS, value: objectClass },
  ];
  if (uri.object !== undefined) template.push({ type: pkcs11js.CKA_LABEL, value: uri.object });
  if (uri.id !== undefined) template.push({ type: pkcs11js.CKA_ID, value: uri.id });
  s.module.C_FindObjectsInit(s.session, template);
  let found: Handle[];
  try {
    found = s.module.C_FindObjects(s.session, 2);
  } finally {
    s.module.C_FindObjectsFinal(s.session);
  }
  if (found.length > 1) {
    throw new UsageError(
      'PKCS11_KEY_AMBIGUOUS',
      `PKCS#11 URI names more than one key on token ${s.tokenLabel}; add id=…`,
    );
  }
  return found[0];
}

/** Reads attributes that may be absent: each missing one comes back undefined. */
export function readAttributes(s: TokenSession, object: Handle, types: readonly number[]): (Buffer | undefined)[] {
  return types.map((type) => {
    try {
      const [a] = s.module.C_GetAttributeValue(s.session, object, [{ type }]);
      return a?.value as Buffer | undefined;
    } catch {
      return undefined;
    }
  });
}

/** Checks the token offers a mechanism; throws PKCS11_MECHANISM_UNSUPPORTED (exit 7) if not. */
export function requireMechanism(s: TokenSession, mechanism: number, what: string): void {
  if (!s.module.C_GetMechanismList(s.slot).includes(mechanism)) {
    throw new UnsupportedError(
      'PKCS11_MECHANISM_UNSUPPORTED',
      `token ${s.tokenLabel} does not offer ${what} (mechanism 0x${mechanism.toString(16)})`,
    );
  }
}
