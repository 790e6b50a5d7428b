// The XML configuration a Unisoc PAC embeds (nFileFlag 2, `<BMAConfig>`): the product's partition
// sizes (`<Partitions><Partition id= size=` in MiB) and the download scheme's file list (`<File>`
// with ID, Type, the target `<Block id=…>` and Flag/CheckFlag). Owns what those say about each
// PAC entry: which partition it fills, and whether it is a download loader (FDL1/FDL2) or
// calibration/production data the flash tool merges, which an update never writes.

import { ImageError } from '../errors/ota-error.js';
import { parseXmlDocument, xmlAttribute, xmlChildText, xmlChildren, type XmlElement } from './xml-document.js';

/** What the scheme says about one `<File>`. */
export interface PacSchemeFile {
  readonly fileId: string;
  /** `<Type>`: FDL, NAND_FDL, CODE2, NV_COMM, EraseFlash2… */
  readonly type: string;
  /** `<Block id=…>`: the partition the file is written to, when named. */
  readonly partitionName: string | undefined;
  /** `<File backup="1">`: data the flash tool backs up and restores (calibration, production). */
  readonly backup: boolean;
}

/** The parts of a BMAConfig an update needs. */
export interface PacConfig {
  readonly productName: string;
  /** Partition id → size in bytes; undefined for "the rest of the device" (0xFFFFFFFF). */
  readonly partitionSizes: ReadonlyMap<string, number | undefined>;
  /** Scheme files per ID, in scheme order (an ID may repeat, e.g. one per A/B slot). */
  readonly files: ReadonlyMap<string, readonly PacSchemeFile[]>;
}

const LOADER_TYPES = new Set(['FDL', 'FDL1', 'FDL2', 'NAND_FDL', 'HOST_FDL']);
const LOADER_ID = /^(HOST_)?FDL\d*$/i;
const NV_TYPES = /^(NV|NV_COMM|NV_NAND|CHECK_NV)/i;
/** Partition sizes at or above this many MiB mean "whatever is left" (0xFFFFFFFF in real configs). */
const REST_OF_DEVICE_MIB = 0xffffffff;

/**
 * Parses the config text. `headerProduct` (the header's szPrdName) picks the `<Product>` when there
 * are several. Throws ImageError PAC_BAD_CONFIG naming `what` for XML or structure errors.
 */
export function parsePacConfig(text: string, what: string, headerProduct: string): PacConfig {
  const fail = (detail: string): ImageError => new ImageError('PAC_BAD_CONFIG', `${what}: ${detail}`);
  const root = xmlChildren(parseXmlDocument(text, what, 'PAC_BAD_CONFIG'), 'BMAConfig')[0];
  if (!root) throw fail('no <BMAConfig> root element');
  const products = xmlChildren(xmlChildren(root, 'ProductList')[0], 'Product');
  const product =
    products.find((p) => xmlAttribute(p, 'name') === headerProduct) ??
    (products.length === 1 ? products[0] : undefined);
  if (!product) throw fail(`no <Product name="${headerProduct}"> among ${products.length} products`);
  const productName = xmlAttribute(product, 'name') ?? headerProduct;

  const partitionSizes = new Map<string, number | undefined>();
  for (const p of xmlChildren(xmlChildren(product, 'Partitions')[0], 'Partition')) {
    const id = xmlAttribute(p, 'id');
    const sizeText = xmlAttribute(p, 'size') ?? '';
    const mib = /^(0x[0-9a-f]+|\d+)$/i.test(sizeText) ? Number(BigInt(sizeText)) : NaN;
    if (!id || !Number.isFinite(mib))
      throw fail(`<Partition id="${id ?? ''}" size="${sizeText}">: needs an id and a size in MiB`);
    if (partitionSizes.has(id)) throw fail(`<Partition id="${id}"> appears twice`);
    partitionSizes.set(
      id,
      mib >= REST_OF_DEVICE_MIB || !Number.isSafeInteger(mib * 1024 * 1024) ? undefined : mib * 1024 * 1024,
    );
  }

  const schemeName = xmlChildText(product, 'SchemeName') ?? productName;
  const schemes = xmlChildren(xmlChildren(root, 'SchemeList')[0], 'Scheme');
  const scheme =
    schemes.find((s) => xmlAttribute(s, 'name') === schemeName) ?? (schemes.length === 1 ? schemes[0] : undefined);
  if (!scheme) throw fail(`no <Scheme name="${schemeName}"> among ${schemes.length} schemes`);
  const files = new Map<string, PacSchemeFile[]>();
  for (const f of xmlChildren(scheme, 'File')) {
    const file = schemeFile(f);
    if (file) files.set(file.fileId, [...(files.get(file.fileId) ?? []), file]);
  }
  return { productName, partitionSizes, files };
}

function schemeFile(f: XmlElement): PacSchemeFile | undefined {
  const fileId = xmlChildText(f, 'ID');
  if (!fileId) return undefined;
  const block = xmlChildren(f, 'Block')[0];
  const partitionName = block ? xmlAttribute(block, 'id')?.trim() || undefined : undefined;
  return { fileId, type: xmlChildText(f, 'Type') ?? '', partitionName, backup: xmlAttribute(f, 'backup') === '1' };
}

/** A download loader: by scheme Type when the config names one, else by the entry's id. */
export function isDownloadLoader(fileId: string, file: PacSchemeFile | undefined): boolean {
  return LOADER_TYPES.has((file?.type ?? '').toUpperCase()) || LOADER_ID.test(fileId);
}

/** Why a PAC entry is left out of updates by default, or undefined when it is upgradable. */
export function pacNotUpgradableReason(
  fileId: string,
  file: PacSchemeFile | undefined,
  checkFlag: number,
): string | undefined {
  if (isDownloadLoader(fileId, file)) return `download loader (${fileId})`;
  if (file && NV_TYPES.test(file.type)) return `NV calibration data (${file.type}), merged by the flash tool`;
  if (file?.backup) return 'production data the flash tool backs up and restores (backup="1")';
  if (checkFlag === 0) return 'not selected for download (nCheckFlag 0)';
  return undefined;
}
