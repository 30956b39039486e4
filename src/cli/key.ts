/**
 * The key of an encrypted store: `--key-file F`, else the JETSTORE_KEY_FILE
 * environment variable naming a file, else JETSTORE_KEY holding 64 hex
 * digits. A file holds 32 raw bytes or 64 hex digits, as `npm run verify`
 * has always read it.
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import { JetStoreError } from "../errors.ts";

const HEX_KEY = /^[0-9a-fA-F]{64}$/;

function fromHex(text: string): Uint8Array {
  return Uint8Array.from(text.match(/../g) ?? [], (h) => Number.parseInt(h, 16));
}

/** The key in the file at `path`. */
export function readKeyFile(path: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (err) {
    const why = (err as { code?: string }).code ?? (err as Error).message;
    throw new JetStoreError("ErrBadKey", `cannot read the key file ${path} (${why})`, {
      cause: err,
    });
  }
  if (bytes.length === 32) return bytes;
  const text = new TextDecoder().decode(bytes).trim();
  bytes.fill(0);
  if (HEX_KEY.test(text)) return fromHex(text);
  throw new JetStoreError(
    "ErrBadKey",
    `the key file ${path} must hold 32 raw bytes or 64 hex digits (it holds ${bytes.length} bytes)`,
  );
}

/**
 * An environment variable. Deno without --allow-env refuses the read with
 * an error of its own (NotCapable), which reached the user as ErrInternal.
 */
function fromEnvironment(name: string): string | undefined {
  try {
    return process.env[name];
  } catch (err) {
    throw new JetStoreError(
      "ErrInvalidArgument",
      `cannot read ${name} from the environment (${(err as Error)?.message ?? err}); give the key with --key-file instead`,
      { cause: err },
    );
  }
}

/** The key the command line or the environment gives, or undefined for none. */
export function resolveKey(keyFile: string | undefined): Uint8Array | undefined {
  if (keyFile !== undefined) return readKeyFile(keyFile);
  const envFile = fromEnvironment("JETSTORE_KEY_FILE");
  if (envFile !== undefined && envFile !== "") return readKeyFile(envFile);
  const hex = fromEnvironment("JETSTORE_KEY");
  if (hex === undefined || hex === "") return undefined;
  if (!HEX_KEY.test(hex.trim())) {
    throw new JetStoreError("ErrBadKey", "JETSTORE_KEY must hold 64 hex digits");
  }
  return fromHex(hex.trim());
}
