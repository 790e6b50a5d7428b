// Parses the small XML files vendor layouts carry (Qualcomm rawprogram*.xml, the Unisoc PAC's
// BMAConfig) with fast-xml-parser: a well-kept, dependency-light pure-JS parser with a validator
// that reports line and column. Owns the safety settings; the readers own the meaning.

import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { ImageError } from '../errors/ota-error.js';

/** Largest layout XML accepted (real rawprogram files are well under 1 MiB). */
export const MAX_LAYOUT_XML_BYTES = 16 * 1024 * 1024;
/** Deepest element nesting accepted (rawprogram is 2 deep, a PAC's BMAConfig about 6). */
export const MAX_XML_DEPTH = 32;

/**
 * An element: attributes as strings, child elements as arrays, text under `#text`. A child with
 * neither attributes nor children is its text (`<ID>FDL</ID>` → `ID: ['FDL']`).
 */
export type XmlElement = { readonly [key: string]: Array<XmlElement | string> | string | undefined };

/**
 * Parses `text` into nested XmlElements. Refuses DTDs (`<!DOCTYPE`, `<!ENTITY`): no vendor layout
 * uses them, and refusing them rules out entity-expansion bombs. Refuses nesting deeper than
 * MAX_XML_DEPTH and any element or attribute named like an Object property (`__proto__`,
 * `constructor`, `toString`…), so no parsed name can reach an object prototype. Throws ImageError
 * with `code` naming `what` and, for syntax errors, the position of the first one.
 */
export function parseXmlDocument(
  text: string,
  what: string,
  code: 'RELEASE_BAD_LAYOUT' | 'PAC_BAD_CONFIG' = 'RELEASE_BAD_LAYOUT',
): XmlElement {
  if (/<!DOCTYPE|<!ENTITY/i.test(text))
    throw new ImageError(code, `${what}: DTD declarations (<!DOCTYPE>, <!ENTITY>) are not allowed in a layout file`);
  const valid = XMLValidator.validate(text);
  if (valid !== true)
    throw new ImageError(
      code,
      `${what}: not well-formed XML at line ${valid.err.line}, column ${valid.err.col}: ${valid.err.msg}`,
    );
  const reservedName = (name: string): ImageError =>
    new ImageError(
      code,
      `${what}: an element or attribute named ${JSON.stringify(name)} is not allowed (an object property name; no layout uses it)`,
    );
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseAttributeValue: false,
    parseTagValue: false,
    trimValues: true,
    processEntities: true,
    htmlEntities: false,
    isArray: (_name, _path, _leaf, isAttribute) => !isAttribute,
    maxNestedTags: MAX_XML_DEPTH,
    onDangerousProperty: (name) => {
      throw reservedName(name);
    },
  });
  try {
    return parser.parse(text) as XmlElement;
  } catch (err) {
    if (err instanceof ImageError) throw err;
    const message = String((err as Error)?.message ?? err);
    const reserved = /Invalid name: "([^"]*)"/.exec(message);
    if (reserved) throw reservedName(reserved[1]!);
    if (/nested tags/i.test(message))
      throw new ImageError(code, `${what}: elements nested more than ${MAX_XML_DEPTH} deep; a layout file is shallow`);
    throw new ImageError(code, `${what}: cannot parse the XML: ${message.split('\n')[0]}`, { cause: err });
  }
}

/** Child elements named `name` (case-sensitive), or none; text-only children count as empty elements. */
export function xmlChildren(element: XmlElement | undefined, name: string): XmlElement[] {
  const value = element && Object.hasOwn(element, name) ? element[name] : undefined;
  return Array.isArray(value) ? value.map((c) => (typeof c === 'string' ? {} : c)) : [];
}

/** An attribute's value, or undefined when absent. */
export function xmlAttribute(element: XmlElement, name: string): string | undefined {
  const value = Object.hasOwn(element, name) ? element[name] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/** The trimmed text of the first child element `name` (`<ID>FDL</ID>` → `FDL`), or undefined. */
export function xmlChildText(element: XmlElement, name: string): string | undefined {
  const value = Object.hasOwn(element, name) ? element[name] : undefined;
  const child = Array.isArray(value) ? value[0] : undefined;
  if (child === undefined || typeof child === 'string') return child;
  const text = child['#text'];
  return typeof text === 'string' ? text : '';
}

/**
 * Decodes layout XML bytes: UTF-16LE/BE when they start with a BOM or look like UTF-16LE, else
 * UTF-8 (BOM skipped). Trailing NULs, which PAC tools leave after the config, are dropped.
 */
export function decodeXmlBytes(bytes: Buffer): string {
  const even = (from: number): Buffer => bytes.subarray(from, from + ((bytes.length - from) & ~1));
  let text: string;
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) text = even(2).toString('utf16le');
  else if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff)
    text = Buffer.from(even(2)).swap16().toString('utf16le');
  else if (bytes.length >= 2 && bytes[0] !== 0 && bytes[1] === 0) text = even(0).toString('utf16le');
  else
    text = bytes
      .subarray(bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0)
      .toString('utf8');
  return text.replace(/\0+$/, '');
}
