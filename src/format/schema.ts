// The protobuf schema of format v1, compiled in. proto/ota_package.proto is the published copy;
// a test keeps the two identical. Pure: no file access.

import protobuf from 'protobufjs';

/** Text of proto/ota_package.proto. */
export const PROTO_TEXT = `// ota-build package format v1: the target header and the manifest.
// This file is the published schema: a device-side parser can be generated from it.
// docs/FORMAT.md describes where these messages sit in the package.
syntax = "proto3";

package otabuild.v1;

// Chipset target the package was built for. Checked by the device before anything else.
message TargetHeader {
  string target_id = 1;                  // "qualcomm", "mediatek", "unisoc", "generic", or custom
  string vendor = 2;                     // "Qualcomm", "MediaTek", "Unisoc", ...
  string platform = 3;                   // SoC / platform label, e.g. "sm8550", "mt6789", "ums9230"
  string storage = 4;                    // "ufs", "emmc", "nand", "generic"
  uint32 block_size_bytes = 5;
  string update_mode = 6;                // "ab" or "in-place"
  uint32 signature_algorithm = 7;        // same id as in the signature blocks
  uint64 decoder_memory_limit_bytes = 8;
  uint64 max_operation_bytes = 9;
  string partition_layout = 10;          // naming scheme the device expects
  repeated string slot_suffixes = 11;    // "_a", "_b" for A/B layouts
}

message Extent {
  uint64 start_block = 1;
  uint64 block_count = 2;
}

message ImageIdentity {
  uint64 size_bytes = 1;
  bytes sha256 = 2;                      // of the exact size_bytes bytes of the image
  string version = 3;
  string format = 4;                     // container the builder read: "raw", "sparse"
}

message Operation {
  enum Type {
    TYPE_UNSPECIFIED = 0;
    ZERO = 1;
    COPY = 2;
    REPLACE = 3;
    DIFF = 4;
  }
  Type type = 1;
  repeated Extent dst_extents = 2;
  repeated Extent src_extents = 3;       // COPY, DIFF
  bytes src_sha256 = 4;                  // COPY, DIFF: sha256 of the src bytes, in extent order
  uint64 blob_offset = 5;                // REPLACE, DIFF: relative to the blob section
  uint64 blob_size_bytes = 6;
  bytes blob_sha256 = 7;
  uint32 codec = 8;                      // REPLACE: codec wire id
  uint32 differ = 9;                     // DIFF: differ wire id
  uint64 decoder_memory_bytes = 10;      // REPLACE, DIFF: declared decoder memory
}

message PartitionUpdate {
  string name = 1;
  ImageIdentity source = 2;              // absent in a full package
  ImageIdentity target = 3;
  repeated Operation operations = 4;
}

message Manifest {
  uint32 block_size_bytes = 1;
  uint64 timestamp_seconds = 2;          // anti-rollback; SOURCE_DATE_EPOCH when set
  string source_version = 3;
  string target_version = 4;
  repeated PartitionUpdate partitions = 5;
  uint64 max_decoder_memory_bytes = 6;
  uint64 required_space_bytes = 7;
}
`;

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
