/**
 * Golden fixtures of sealed stores: one small store per at-rest combination
 * (chacha, chacha+snappy, aes, aes+snappy, snappy), written once by
 * test/fixtures/generate-at-rest.ts with a fixed test key and committed.
 * Every later version must open them, with and without their checkpoint, to
 * exactly these messages and this state (literals here; the messages from
 * test/fixtures/at-rest-fixture-data.ts, which never changes), and the block
 * headers must say what FORMAT.md says they do: version 2, the format bits,
 * PACKED on the rolled-over blocks of compressed stores, not on the active one.
 * The store is copied to the memory adapter first: the committed files never change.
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { joinPath } from "../../runtimes/fs.ts";
import { type MemoryFileSystem, memoryFileSystem } from "../../runtimes/memory.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import { verifyStore } from "../../src/verify.ts";
import {
  AT_REST_FIXTURES,
  type AtRestFixture,
  atRestFixtureMsg,
  FIXTURE_KEY,
} from "../fixtures/at-rest-fixture-data.ts";
import type { RuntimeContext, TestApi } from "../harness.ts";
import { plain } from "./store-helpers.ts";

/** Version and flags of msgs/1.blk, 2.blk, 3.blk of each fixture, as committed. */
const HEADERS: Record<string, [number, number][]> = {
  chacha: [
    [2, 0x04],
    [2, 0x04],
    [2, 0x04],
  ],
  "chacha-snappy": [
    [2, 0x15],
    [2, 0x15],
    [2, 0x05],
  ],
  aes: [
    [2, 0x08],
    [2, 0x08],
    [2, 0x08],
  ],
  "aes-snappy": [
    [2, 0x19],
    [2, 0x19],
    [2, 0x09],
  ],
  snappy: [
    [2, 0x11],
    [2, 0x11],
    [2, 0x01],
  ],
};

const STATE = {
  msgs: 58,
  bytes: 9894,
  firstSeq: 1,
  lastSeq: 60,
  numDeleted: 2,
  deleted: [7, 30],
  numSubjects: 58,
  firstTs: 1_700_000_000_001_000_000n,
  lastTs: 1_700_000_000_060_000_000n,
};

function fixtureDir(name: string): string {
  return fileURLToPath(new URL(`../fixtures/at-rest/${name}`, import.meta.url).href);
}

/** The committed key, as the file holds it. */
export function fixtureKey(): Uint8Array {
  return new Uint8Array(readFileSync(`${fixtureDir("")}/key.bin`));
}

/** A copy of fixture `name` on a fresh memory disk at /fx. */
export function fixtureCopy(name: string): MemoryFileSystem {
  const fs = memoryFileSystem();
  fs.mkdir("/fx");
  const copy = (from: string, to: string) => {
    for (const entry of readdirSync(from, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        fs.mkdir(`${to}/${entry.name}`);
        copy(`${from}/${entry.name}`, `${to}/${entry.name}`);
      } else {
        fs.writeFile(`${to}/${entry.name}`, new Uint8Array(readFileSync(`${from}/${entry.name}`)));
      }
    }
  };
  copy(fixtureDir(name), "/fx");
  return fs;
}

export function atRestFixtureSuite(api: TestApi, _ctx: RuntimeContext): void {
  const { describe, it, expect } = api;
  describe("golden fixtures (sealed stores)", () => {
    it("the committed key is the fixed test key", () => {
      expect(Array.from(fixtureKey())).toStrictEqual(Array.from(FIXTURE_KEY));
      const hex = readFileSync(`${fixtureDir("")}/key.hex`, "utf8").trim();
      expect(hex).toBe("112e4b6885a2bfdcf91633506d8aa7c4e1fe1b3855728facc9e603203d5a7794");
    });
    for (const fx of AT_REST_FIXTURES) {
      it(`${fx.name}: block headers name the format, PACKED on rolled-over compressed blocks`, () => {
        const fs = fixtureCopy(fx.name);
        const names = fs.list("/fx/msgs").sort();
        expect(names).toStrictEqual(["1.blk", "2.blk", "3.blk"]);
        const got = names.map((n) => {
          const b = fs.readFile(`/fx/msgs/${n}`) as Uint8Array;
          const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
          expect(v.getUint32(0, true)).toBe(0x4b42534a);
          expect(v.getUint32(8, true)).toBe(Number.parseInt(n, 10));
          return [v.getUint16(4, true), v.getUint16(6, true)];
        });
        expect(got).toStrictEqual(HEADERS[fx.name]);
        const settings = fs.readFile("/fx/atrest") as Uint8Array;
        // "JSAR", version 1, compression and cipher codes, a wrapped key exactly with a cipher.
        expect(Array.from(settings.subarray(0, 11))).toStrictEqual([
          0x4a,
          0x53,
          0x41,
          0x52,
          1,
          0,
          0,
          0,
          fx.compression === "snappy" ? 1 : 0,
          { none: 0, "chacha20-poly1305": 1, "aes-256-gcm": 2 }[fx.cipher],
          fx.cipher === "none" ? 0 : 1,
        ]);
      });
      for (const checkpoint of [true, false]) {
        it(`${fx.name}: opens to the exact messages and state${checkpoint ? "" : " with its checkpoint gone (every block scanned)"}`, async () => {
          const fs = fixtureCopy(fx.name);
          if (!checkpoint) fs.remove("/fx/index.ckpt");
          await expectFixture(expect, fs, fx);
        });
      }
      it(`${fx.name}: verifies with its key, every chunk's tag checked`, () => {
        const fs = fixtureCopy(fx.name);
        const report = verifyStore("/fx", {
          fs,
          ...(fx.cipher === "none" ? {} : { key: fixtureKey() }),
        });
        expect(report).toMatchObject({
          ok: true,
          checkpoint: "ok",
          messages: STATE.msgs,
          messageBytes: STATE.bytes,
          firstSeq: 1,
          lastSeq: 60,
          damaged: [],
          lost: [],
        });
      });
    }
    it("an encrypted fixture refuses a wrong key and no key, ErrBadKey, changing nothing", async () => {
      const fs = fixtureCopy("aes-snappy");
      const before = fs.readFile("/fx/atrest");
      for (const key of [FIXTURE_KEY.map((b) => b ^ 1), undefined]) {
        const err = await FileStore.open({ dir: "/fx", fs, ...(key ? { key } : {}) }).then(
          () => null,
          (e: { code?: string }) => e.code,
        );
        expect(err).toBe("ErrBadKey");
      }
      expect(fs.readFile("/fx/atrest")).toStrictEqual(before);
      expect(fs.list("/fx").sort()).toStrictEqual(["atrest", "index.ckpt", "msgs"]);
    });
  });
}

async function expectFixture(
  expect: TestApi["expect"],
  fs: MemoryFileSystem,
  fx: AtRestFixture,
): Promise<void> {
  for (let round = 0; round < 2; round++) {
    const store = await FileStore.open({
      dir: "/fx",
      fs,
      syncIntervalMs: 0,
      ...(fx.cipher === "none" ? {} : { key: fixtureKey() }),
    });
    try {
      const { lost, ...state } = store.state();
      expect({ name: fx.name, lost }).toStrictEqual({ name: fx.name, lost: undefined });
      expect(state).toMatchObject(STATE);
      for (let seq = 1; seq <= 60; seq++) {
        if (seq === 7 || seq === 30) {
          expect(() => store.loadMsg(seq)).toThrow();
          continue;
        }
        const m = atRestFixtureMsg(seq);
        expect(plain(store.loadMsg(seq))).toStrictEqual(
          plain({ subject: m.subject, hdr: m.hdr, msg: m.msg, seq, ts: m.ts }),
        );
      }
      expect(store.subjectForSeq(60)).toBe(atRestFixtureMsg(60).subject);
    } finally {
      await store.close();
    }
  }
  // Opening with the store's own settings converted nothing.
  const names = fs.list(joinPath("/fx", "msgs")).sort();
  expect(names).toStrictEqual(["1.blk", "2.blk", "3.blk"]);
}
