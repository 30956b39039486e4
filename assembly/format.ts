// AssemblyScript twin of src/format.ts: the layout constants the core needs.
// test/suites/format.ts checks that both files agree value for value.

export const FORMAT_VERSION: u32 = 1;

export const BLOCK_MAGIC: u32 = 0x4b42534a;
export const BLOCK_HEADER_SIZE: u32 = 16;
export const BLOCK_OFF_MAGIC: u32 = 0;
export const BLOCK_OFF_VERSION: u32 = 4;
export const BLOCK_OFF_FLAGS: u32 = 6;
export const BLOCK_OFF_NUMBER: u32 = 8;

export const REC_OFF_LENGTH: u32 = 0;
export const REC_OFF_SUBJECT_LEN: u32 = 4;
export const REC_OFF_FLAGS: u32 = 6;
export const REC_OFF_RESERVED: u32 = 7;
export const REC_OFF_SEQ: u32 = 8;
export const REC_OFF_TS: u32 = 16;
export const REC_OFF_HDR_LEN: u32 = 24;
export const REC_HEADER_SIZE: u32 = 28;
export const REC_TTL_SIZE: u32 = 8;
export const REC_CHECKSUM_SIZE: u32 = 8;
export const REC_MIN_SIZE: u32 = REC_HEADER_SIZE + REC_CHECKSUM_SIZE;

export const REC_FLAG_HDR: u32 = 0x01;
export const REC_FLAG_TTL: u32 = 0x02;
export const REC_FLAG_TOMBSTONE: u32 = 0x04;
export const REC_FLAG_ERASED: u32 = 0x08;
export const REC_FLAG_SKIP: u32 = 0x10;
export const REC_FLAGS_KNOWN: u32 = 0x1f;

export const MAX_SUBJECT_BYTES: u32 = 0xffff;
export const MAX_RECORD_BYTES: u32 = 0xffffffff;
export const MAX_SEQ: f64 = 9007199254740991;

export const STATUS_OK: i32 = 0;
export const STATUS_TRUNCATED: i32 = 1;
export const STATUS_BAD_LENGTH: i32 = 2;
export const STATUS_BAD_CHECKSUM: i32 = 3;
export const STATUS_BAD_FIELDS: i32 = 4;
export const STATUS_VARINT_OVERFLOW: i32 = 5;
export const STATUS_VARINT_OVERLONG: i32 = 6;
export const STATUS_BAD_VERSION: i32 = 7;

export const SEQSET_VERSION: u32 = 1;
