/**
 * The STATUS_* codes decode and scan report (src/format.ts), named and turned
 * into ErrCorrupt errors that carry the offset of the damaged record. Statuses
 * stay numbers on the hot path; only a caller that gives up builds an error.
 */
import { corrupt, type JetStoreError } from "../errors.ts";
import {
  STATUS_BAD_CHECKSUM,
  STATUS_BAD_FIELDS,
  STATUS_BAD_LENGTH,
  STATUS_OK,
  STATUS_TRUNCATED,
} from "../format.ts";

const names: Record<number, string> = {
  [STATUS_OK]: "ok",
  [STATUS_TRUNCATED]: "truncated",
  [STATUS_BAD_LENGTH]: "bad length",
  [STATUS_BAD_CHECKSUM]: "bad checksum",
  [STATUS_BAD_FIELDS]: "bad fields",
};

/** A readable name for a STATUS_* code. */
export function statusName(status: number): string {
  return names[status] ?? `unknown status ${status}`;
}

/** The ErrCorrupt error for a record at `offset` that failed with `status`. */
export function corruptRecord(status: number, offset: number, file?: string): JetStoreError {
  const where = file === undefined ? { offset } : { file, offset };
  const at = `Record at offset ${offset}${file === undefined ? "" : ` of ${file}`}`;
  switch (status) {
    case STATUS_TRUNCATED:
      return corrupt(`${at} is truncated: the bytes end inside it`, where);
    case STATUS_BAD_LENGTH:
      return corrupt(`${at} has an impossible length field`, where);
    case STATUS_BAD_CHECKSUM:
      return corrupt(`${at} does not match its checksum`, where);
    case STATUS_BAD_FIELDS:
      return corrupt(`${at} has fields that contradict each other`, where);
    default:
      return corrupt(`${at} is damaged (${statusName(status)})`, where);
  }
}
