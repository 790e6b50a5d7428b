// The protobuf schema of format v1, compiled in from proto/ota_package.proto (the published
// schema) by scripts/embed-proto.mjs at build time. Pure: no file access.

import protobuf from 'protobufjs';
import { PROTO_TEXT } from './proto-text.generated.js';

export { PROTO_TEXT };

const root = protobuf.parse(PROTO_TEXT, { keepCase: true }).root;

/** Message types of the schema. */
export const TargetHeaderType = root.lookupType('otabuild.v1.TargetHeader');
export const ManifestType = root.lookupType('otabuild.v1.Manifest');

/** Options that turn decoded messages into plain objects with numbers and Buffers. */
export const TO_OBJECT_OPTIONS: protobuf.IConversionOptions = {
  longs: Number,
  enums: Number,
  bytes: Buffer,
  defaults: true,
  arrays: true,
};
