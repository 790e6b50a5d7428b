// Parses RFC 7512 PKCS#11 URIs (`pkcs11:token=…;object=…?pin-source=file:…`): percent-decoding,
// the attributes ota-build uses, and strict refusals for anything hostile or ambiguous. Pure:
// reading the PIN file and talking to the token live in pkcs11-token.ts. Messages never echo
// attribute values that could be secrets.

import { UsageError } from '../errors/ota-error.js';

/** What a PKCS#11 URI selects. Strings are decoded UTF-8; `id` is raw bytes. */
export interface Pkcs11Uri {
  readonly token?: string;
  readonly manufacturer?: string;
  readonly model?: string;
  readonly serial?: string;
  readonly slotId?: number;
  /** CKA_LABEL of the key. */
  readonly object?: string;
  /** CKA_ID of the key. */
  readonly id?: Buffer;
  /** `private`, `public`, … (signing needs `private` or none). */
  readonly type?: string;
  /** `file:` path of a file holding the user PIN. */
  readonly pinSourcePath?: string;
  /** PKCS#11 module (shared library) path. */
  readonly modulePath?: string;
}

/** Longest URI accepted (keys are named by a few short attributes). */
const MAX_URI_LENGTH = 4096;

const PATH_ATTRIBUTES = [
  'token',
  'manufacturer',
  'model',
  'serial',
  'slot-id',
  'object',
  'id',
  'type',
  'library-manufacturer',
  'library-description',
  'library-version',
  'slot-description',
  'slot-manufacturer',
] as const;
const QUERY_ATTRIBUTES = ['pin-source', 'pin-value', 'module-path', 'module-name'] as const;
const OBJECT_TYPES = ['private', 'public', 'cert', 'secret-key', 'data'];

function bad(detail: string): never {
  throw new UsageError('PKCS11_BAD_URI', `PKCS#11 URI: ${detail}`);
}

/** Percent-decodes one attribute value into bytes; refuses malformed escapes. */
function decodeBytes(raw: string, name: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '%') {
      const hex = raw.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) bad(`attribute ${name} has a malformed %-escape at character ${i + 1}`);
      out.push(parseInt(hex, 16));
      i += 2;
    } else {
      const code = c.charCodeAt(0);
      if (code < 0x21 || code > 0x7e) bad(`attribute ${name} holds a character that must be %-encoded`);
      out.push(code);
    }
  }
  return Buffer.from(out);
}

function decodeText(raw: string, name: string): string {
  const bytes = decodeBytes(raw, name);
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  if (text.includes('\uFFFD') || [...text].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f))
    bad(`attribute ${name} is not printable UTF-8`);
  return text;
}

/** Splits `a=b<sep>c=d` into pairs, refusing empty names and repeats. */
function pairs(part: string, sep: string, where: string, seen: Set<string>): [string, string][] {
  if (part === '') return [];
  return part.split(sep).map((item) => {
    const eq = item.indexOf('=');
    const name = (eq < 0 ? item : item.slice(0, eq)).toLowerCase();
    if (eq <= 0) bad(`${where} component ${JSON.stringify(name.slice(0, 40))} is not name=value`);
    if (seen.has(name)) bad(`attribute ${name} appears twice`);
    seen.add(name);
    return [name, item.slice(eq + 1)];
  });
}

/** The path a `pin-source` names: `file:` URIs (`file:/p`, `file:///p`, `file:p`) or a plain path. */
function pinSourcePath(value: string): string {
  let path = value;
  if (/^file:/i.test(value)) {
    path = value.slice(5);
    if (path.startsWith('//')) {
      const rest = path.slice(2);
      const slash = rest.indexOf('/');
      const host = slash < 0 ? rest : rest.slice(0, slash);
      if (host !== '' && host !== 'localhost') bad('pin-source names a file on another host');
      path = slash < 0 ? '' : rest.slice(slash);
    }
  } else if (/^[a-z][a-z0-9+.-]*:/i.test(value)) {
    bad('pin-source must be a file: URI or a path');
  }
  if (path === '') bad('pin-source names no file');
  return path;
}

/** Parses a PKCS#11 URI. Throws UsageError PKCS11_BAD_URI (exit 2) for anything malformed. */
export function parsePkcs11Uri(uri: string): Pkcs11Uri {
  if (uri.length > MAX_URI_LENGTH) bad(`${uri.length} characters, at most ${MAX_URI_LENGTH}`);
  if (!/^pkcs11:/i.test(uri)) bad('must start with "pkcs11:"');
  const body = uri.slice('pkcs11:'.length);
  if (body.includes('#')) bad('a fragment (#) is not allowed');
  const q = body.indexOf('?');
  const seen = new Set<string>();
  const path = pairs(q < 0 ? body : body.slice(0, q), ';', 'path', seen);
  const query = pairs(q < 0 ? '' : body.slice(q + 1), '&', 'query', seen);
  const out: { -readonly [K in keyof Pkcs11Uri]: Pkcs11Uri[K] } = {};
  for (const [name, raw] of [...path, ...query]) {
    const isPath = (PATH_ATTRIBUTES as readonly string[]).includes(name);
    const isQuery = (QUERY_ATTRIBUTES as readonly string[]).includes(name);
    // Vendor attributes (x-…) may be ignored (RFC 7512 §2.3); unknown standard ones may not.
    if (!isPath && !isQuery && !name.startsWith('x-')) bad(`unknown attribute ${JSON.stringify(name.slice(0, 40))}`);
    switch (name) {
      case 'pin-value':
        // Security: a PIN in the URI would sit in argv, shell history and process listings.
        bad(
          'pin-value is refused (the PIN would be visible in the command line); use pin-source=file:… or $OTA_PKCS11_PIN',
        );
        break;
      case 'pin-source':
        out.pinSourcePath = pinSourcePath(decodeText(raw, name));
        break;
      case 'module-path':
        out.modulePath = decodeText(raw, name);
        break;
      case 'id':
        out.id = decodeBytes(raw, name);
        if (out.id.length === 0) bad('id is empty');
        break;
      case 'slot-id': {
        const text = decodeText(raw, name);
        if (!/^\d{1,10}$/.test(text) || Number(text) > 0xffffffff) bad('slot-id must be a decimal number');
        out.slotId = Number(text);
        break;
      }
      case 'type': {
        const t = decodeText(raw, name);
        if (!OBJECT_TYPES.includes(t)) bad(`type must be one of ${OBJECT_TYPES.join(', ')}`);
        out.type = t;
        break;
      }
      case 'token':
      case 'manufacturer':
      case 'model':
      case 'serial':
      case 'object':
        out[name] = decodeText(raw, name);
        break;
      default:
        decodeBytes(raw, name); // still well-formed, then ignored
    }
  }
  if (out.object === undefined && out.id === undefined) bad('needs object=<label> or id=<hex bytes> to name the key');
  return out;
}
