/**
 * Every magic, version, offset and flag of the on-disk format, in one place.
 * FORMAT.md draws these layouts; `assembly/format.ts` is the AssemblyScript
 * twin and a test checks that both agree value for value.
 */

/** Version of the record and block format written by this code. */
export const FORMAT_VERSION = 1;

/** Block file header: magic "JSBK", u16 version, u16 flags, u64 block number. */
export const BLOCK_MAGIC = 0x4b42534a; // "JSBK" read as a little-endian u32
export const BLOCK_HEADER_SIZE = 16;
export const BLOCK_OFF_MAGIC = 0;
export const BLOCK_OFF_VERSION = 4;
export const BLOCK_OFF_FLAGS = 6;
export const BLOCK_OFF_NUMBER = 8;

/** Record layout (little-endian). */
export const REC_OFF_LENGTH = 0; // u32: whole record, checksum included
export const REC_OFF_SUBJECT_LEN = 4; // u16
export const REC_OFF_FLAGS = 6; // u8
export const REC_OFF_RESERVED = 7; // u8, always 0
export const REC_OFF_SEQ = 8; // u64
export const REC_OFF_TS = 16; // i64 nanoseconds since the Unix epoch
export const REC_OFF_HDR_LEN = 24; // u32
export const REC_HEADER_SIZE = 28;
export const REC_TTL_SIZE = 8; // i64 seconds, present only with REC_FLAG_TTL
export const REC_CHECKSUM_SIZE = 8; // xxHash64, seed 0, over every byte before it
export const REC_MIN_SIZE = REC_HEADER_SIZE + REC_CHECKSUM_SIZE;

/** Record flags. Unknown bits make a record unreadable by this version. */
export const REC_FLAG_HDR = 0x01; // headers present (possibly empty)
export const REC_FLAG_TTL = 0x02; // an 8-byte TTL follows the fixed header
export const REC_FLAG_TOMBSTONE = 0x04; // marks `seq` removed; no subject, headers or payload
export const REC_FLAG_ERASED = 0x08; // payload overwritten with random bytes; message removed
export const REC_FLAG_SKIP = 0x10; // sequences skipped; payload is a u64 count ending at `seq`
export const REC_FLAGS_KNOWN = 0x1f;

/** Largest values the fixed-width fields can hold. */
export const MAX_SUBJECT_BYTES = 0xffff;
export const MAX_RECORD_BYTES = 0xffffffff;
/** Sequences and TTLs cross the JS boundary as doubles, so they stay safe integers. */
export const MAX_SEQ = Number.MAX_SAFE_INTEGER;

/** Status codes returned (negated) by decode and scan. */
export const STATUS_OK = 0;
export const STATUS_TRUNCATED = 1; // bytes end inside a record: a torn tail
export const STATUS_BAD_LENGTH = 2; // length field impossible for the bytes around it
export const STATUS_BAD_CHECKSUM = 3;
export const STATUS_BAD_FIELDS = 4; // checksum fine, but fields contradict each other
export const STATUS_VARINT_OVERFLOW = 5; // a varint's value needs more than 64 bits
export const STATUS_VARINT_OVERLONG = 6; // a varint has more bytes than its value needs
export const STATUS_BAD_VERSION = 7; // a version byte this code does not know

/** Encoded sequence set (assembly/seqset.ts): a version byte, then varints. */
export const SEQSET_VERSION = 1;

/**
 * At rest (FORMAT.md, "Sealed blocks"): a sealed block file is a plain
 * header, then chunks whose plaintexts, end to end, are a version 1 block.
 */
export const SEALED_BLOCK_VERSION = 2;
export const SEALED_HEADER_SIZE = 40; // magic, version, flags, number, salt, checksum
export const SEALED_OFF_SALT = 16;
export const SEALED_OFF_CHECKSUM = 32; // xxHash64 of bytes [0, 32)
export const SALT_BYTES = 16;
/** Sealed block header flags: bits 0–1 the compression, bits 2–3 the cipher, bit 4 packed. */
export const SEALED_FLAG_PACKED = 0x10;
/** Chunk header: plain offset, plain length, stored length (u32 each), flags, 3 reserved, [nonce], check. */
export const CHUNK_FIXED_SIZE = 16;
export const CHUNK_CHECK_SIZE = 4;
export const CHUNK_FLAG_COMPRESSED = 0x01;

/** Codes of the compressions and ciphers in headers. */
export const COMPRESSION_CODES = { none: 0, snappy: 1 } as const;
export const CIPHER_CODES = { none: 0, "chacha20-poly1305": 1, "aes-256-gcm": 2 } as const;

/** The at-rest settings file (`atrest`): magic "JSAR", u16 version, then the settings and the wrapped data key. */
export const ATREST_MAGIC = 0x5241534a; // "JSAR"
export const ATREST_VERSION = 1;
/** The sealed checkpoint envelope: magic "JSCE". */
export const SEALED_CHECKPOINT_MAGIC = 0x4543534a; // "JSCE"

/**
 * nats-server's encoded stream state (FORMAT.md, "Encoded stream state";
 * server/store.go): magic, version, uvarints, then delete blocks, each
 * opened by its kind's magic.
 */
export const STREAM_STATE_MAGIC = 42;
export const STREAM_STATE_VERSION = 1;
/** Version 2 adds the sources section; read, never written (jetstore has no sources). */
export const STREAM_STATE_VERSION_SOURCES = 2;
export const DELETE_RANGE_MAGIC = 33;
export const AVL_SEQSET_MAGIC = 22;
/** An AVL seqset node covers this many sequences: 32 words of 64 bits (64 words in version 1). */
export const AVL_NODE_BUCKETS_V2 = 32;
export const AVL_NODE_BUCKETS_V1 = 64;
