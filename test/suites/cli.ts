/**
 * The `jetstore` command line, run as a child process of the runtime under
 * test (Node the built bin, Bun and Deno the TypeScript source): every
 * subcommand, --json parsed and checked, an export/import round trip, bad
 * arguments, a store held by another process, and read commands leaving
 * every byte and mtime of a store as it was.
 */
import { appendFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { markConsumerDeleting } from "../../src/consumers/consumer-files.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import type { StoredMsg } from "../../src/types.ts";
import type { AdapterFixture, RuntimeContext, TestApi } from "../harness.ts";
import { cliBackupTests } from "./cli-backup.ts";
import {
  BINARY,
  HEADERS,
  holdStore,
  runCli,
  sampleStore,
  stop,
  treePicture,
} from "./cli-helpers.ts";
import { overlayTests } from "./cli-overlay.ts";
import { cliWriteTests } from "./cli-writes.ts";
import { inTempDir } from "./store-helpers.ts";

const T = 60_000;
const dec = new TextDecoder();

export function cliSuite(api: TestApi, ctx: RuntimeContext): void {
  const disk = ctx.adapters.find((a) => a.onDisk);
  if (disk === undefined) return;
  api.describe(`jetstore command line (${ctx.runtime})`, () => {
    overlayTests(api, disk);
    readOnlyTests(api, ctx, disk);
    readTests(api, ctx, disk);
    roundTripTests(api, ctx, disk);
    usageTests(api, ctx, disk);
    cliWriteTests(api, ctx, disk);
    cliBackupTests(api, ctx, disk);
  });
}

/** Every message of the store in `dir`, read in this process. */
async function messagesOf(disk: AdapterFixture, dir: string) {
  const store = await FileStore.open({ dir, fs: disk.fs, syncIntervalMs: 0 });
  try {
    const msgs: StoredMsg[] = [];
    const ttls: number[] = [];
    const { firstSeq, lastSeq } = store.state();
    for (let seq = firstSeq; seq <= lastSeq && seq > 0; seq++) {
      try {
        msgs.push(store.loadMsg(seq));
        ttls.push(store.msgTtl(seq));
      } catch {}
    }
    const { deleted: _d, ...state } = store.state();
    return { msgs, ttls, state, subjects: store.subjectsState(">") };
  } finally {
    await store.close();
  }
}

function readOnlyTests({ it, expect }: TestApi, ctx: RuntimeContext, disk: AdapterFixture): void {
  it(
    "info, verify, cat, subjects and export read a store another process holds open, and change nothing",
    () =>
      inTempDir(disk, async (dir) => {
        await sampleStore(disk.fs, dir);
        const holder = await holdStore(ctx, dir);
        try {
          const before = treePicture(dir);
          for (const args of [
            ["info", dir, "--json"],
            ["verify", dir],
            ["cat", dir, "--last", "3"],
            ["subjects", dir],
            ["export", dir],
          ]) {
            const r = await runCli(ctx, args);
            // verify's progress lines go to stderr; nothing else may.
            const stderr = args[0] === "verify" ? "" : r.stderr;
            expect({ args, code: r.code, stderr }).toStrictEqual({ args, code: 0, stderr: "" });
            expect(r.stdout.length).toBeGreaterThan(0);
          }
          expect(treePicture(dir)).toStrictEqual(before);
        } finally {
          await stop(holder);
        }
      }),
    T,
  );

  it(
    "leaves a torn tail for the store to cut: read commands see the store without it, verify reports it (exit 1)",
    () =>
      inTempDir(disk, async (dir) => {
        await sampleStore(disk.fs, dir);
        const blocks = readdirSync(join(dir, "msgs")).filter((n) => n.endsWith(".blk"));
        const last = blocks.sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10)).at(-1)!;
        appendFileSync(join(dir, "msgs", last), new Uint8Array([9, 9, 9, 9, 9, 9, 9]));
        const before = treePicture(dir);
        const info = await runCli(ctx, ["info", dir, "--json"]);
        expect(info.code).toBe(0);
        expect(JSON.parse(info.stdout)).toMatchObject({ msgs: 118, lastSeq: 120 });
        const cat = await runCli(ctx, ["cat", dir, "--last", "1"]);
        expect(cat.stdout).toMatch(/^#120 \S+ orders\.east\.0 order 120\n$/);
        const verify = await runCli(ctx, ["verify", dir, "--json"]);
        expect(verify.code).toBe(1);
        expect(JSON.parse(verify.stdout).damaged).toMatchObject([{ kind: "torn tail" }]);
        expect(treePicture(dir)).toStrictEqual(before);
      }),
    T,
  );
}

function readTests({ it, expect }: TestApi, ctx: RuntimeContext, disk: AdapterFixture): void {
  it(
    "info lists a consumer whose deletion was decided and not finished, and changes nothing on disk",
    () =>
      inTempDir(disk, async (dir) => {
        await sampleStore(disk.fs, dir);
        markConsumerDeleting(disk.fs, join(dir, "consumers", "east"), 0o644, "interest");
        const before = treePicture(dir);
        const info = await runCli(ctx, ["info", dir, "--json"]);
        expect(info.code).toBe(0);
        const report = JSON.parse(info.stdout);
        expect(report.consumers).toStrictEqual([]);
        expect(report.consumersBeingDeleted).toStrictEqual([
          { name: "east", retention: "interest" },
        ]);
        expect(treePicture(dir)).toStrictEqual(before);
        writeFileSync(join(dir, "consumers", "east", "deleting"), "");
        const text = await runCli(ctx, ["info", dir]);
        expect(text.stdout).toContain(
          "deleting    1\n  east: decided, not finished; the store's next open finishes it\n",
        );
        const none = await runCli(ctx, ["info", dir, "--json"]);
        expect(JSON.parse(none.stdout).consumersBeingDeleted).toStrictEqual([
          { name: "east", retention: null },
        ]);
        rmSync(join(dir, "consumers", "east", "deleting"));
        const after = await runCli(ctx, ["info", dir]);
        expect(after.stdout).not.toContain("deleting");
        expect(JSON.parse((await runCli(ctx, ["info", dir, "--json"])).stdout)).toMatchObject({
          consumers: [{ name: "east" }],
          consumersBeingDeleted: [],
        });
      }),
    T,
  );
  it(
    "info and subjects report what the store holds, as text and as JSON",
    () =>
      inTempDir(disk, async (dir) => {
        await sampleStore(disk.fs, dir);
        const expected = await messagesOf(disk, dir);
        const info = await runCli(ctx, ["info", dir, "--json", "--top", "2"]);
        expect(info.code).toBe(0);
        const report = JSON.parse(info.stdout);
        expect(report).toMatchObject({
          dir,
          msgs: 118,
          bytes: expected.state.bytes,
          firstSeq: 1,
          lastSeq: 120,
          firstTs: expected.state.firstTs.toString(),
          numSubjects: 12,
          numDeleted: 2,
          lostMsgs: 0,
          disk: { cipher: "none", compression: "none" },
        });
        expect(report.topSubjects).toHaveLength(2);
        expect(report.disk.blocks).toBeGreaterThan(1);
        expect(report.disk.totalBytes).toBeGreaterThan(report.disk.blockBytes);
        expect(typeof report.disk.checkpointAgeMs).toBe("number");
        const east = expected.msgs.filter((m) => m.subject.startsWith("orders.east."));
        expect(report.consumers).toStrictEqual([
          {
            name: "east",
            ackPolicy: "explicit",
            filters: ["orders.east.>"],
            delivered: east[4]!.seq,
            // The floor is the stream sequence below the next pending one.
            ackFloor: east[2]!.seq - 1,
            ackPending: 3,
            numPending: east.length - 5,
          },
        ]);
        const text = await runCli(ctx, ["info", dir]);
        expect(text.stdout).toContain("messages    118 (");
        expect(text.stdout).toContain("sequences   1 … 120, 2 deleted");
        expect(text.stdout).toMatch(/consumers {3}1\n {2}east \(orders\.east\.>, ack explicit\): /);
        expect(text.stdout).not.toContain("\x1b[");

        const subjects = await runCli(ctx, ["subjects", dir, "--json"]);
        expect(JSON.parse(subjects.stdout)).toStrictEqual(expected.subjects);
        const west = await runCli(ctx, ["subjects", dir, "orders.west.*"]);
        const rows = west.stdout.trim().split("\n");
        expect(rows[0]).toMatch(/^subject +msgs +first +last$/);
        expect(rows.slice(1).map((r) => r.split(/ +/)[0])).toStrictEqual([
          "orders.west.0",
          "orders.west.1",
          "orders.west.2",
          "orders.west.3",
        ]);
      }),
    T,
  );

  it(
    "cat prints messages one per line and selects by subject, sequence, time, last and limit",
    () =>
      inTempDir(disk, async (dir) => {
        await sampleStore(disk.fs, dir);
        const { msgs } = await messagesOf(disk, dir);
        const all = await runCli(ctx, ["cat", dir]);
        expect(all.code).toBe(0);
        const lines = all.stdout.trimEnd().split("\n");
        expect(lines).toHaveLength(118);
        expect(lines[0]).toMatch(
          /^#1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z orders\.west\.1 order 1$/,
        );
        expect(lines[6]).toMatch(/ orders\.west\.3 \{Nats-Msg-Id: m7\} order 7$/);
        expect(lines[7]).toMatch(/ orders\.north\.0 base64:\/\/4AAQI=$/);
        expect(lines[8]).toMatch(/ orders\.east\.1 "two\\nlines"$/);

        const seqsOf = (out: string) =>
          out
            .trimEnd()
            .split("\n")
            .filter((l) => l !== "")
            .map((l) => Number(l.slice(1, l.indexOf(" "))));
        const east = msgs.filter((m) => m.subject.startsWith("orders.east.")).map((m) => m.seq);
        const last = await runCli(ctx, ["cat", dir, "--subject", "orders.east.>", "--last", "3"]);
        expect(seqsOf(last.stdout)).toStrictEqual(east.slice(-3));
        const from = await runCli(ctx, ["cat", dir, "--from", "19", "--limit", "3"]);
        expect(seqsOf(from.stdout)).toStrictEqual([19, 22, 23]);
        const since = msgs[99]!.ts;
        const iso = new Date(Number(since / 1_000_000n)).toISOString();
        const sinceRun = await runCli(ctx, ["cat", dir, "--since", iso]);
        const sinceSeqs = seqsOf(sinceRun.stdout);
        expect(sinceSeqs.at(-1)).toBe(120);
        expect(sinceSeqs[0]).toBeLessThanOrEqual(msgs[99]!.seq);
        // 30,000 days ago is before 1970: every message, as an ISO time before it gives.
        const longAgo = await runCli(ctx, ["cat", dir, "--since", "30000d"]);
        expect({ code: longAgo.code, seqs: seqsOf(longAgo.stdout) }).toStrictEqual({
          code: 0,
          seqs: msgs.map((m) => m.seq),
        });
        const future = await runCli(ctx, ["cat", dir, "--since", "2999-01-01"]);
        expect({ code: future.code, out: future.stdout }).toStrictEqual({ code: 0, out: "" });

        const json = await runCli(ctx, ["cat", dir, "--from", "7", "--limit", "3", "--json"]);
        const objects = json.stdout
          .trimEnd()
          .split("\n")
          .map((l) => JSON.parse(l));
        expect(objects).toStrictEqual(
          msgs.slice(6, 9).map((m) => ({
            seq: m.seq,
            subject: m.subject,
            ts: m.ts.toString(),
            time: expect.stringMatching(/Z$/),
            headers: m.seq === 7 ? dec.decode(HEADERS) : null,
            payload: m.seq === 8 ? btoa(String.fromCharCode(...BINARY)) : dec.decode(m.msg),
            encoding: m.seq === 8 ? "base64" : "utf8",
          })),
        );
      }),
    T,
  );
}

function roundTripTests({ it, expect }: TestApi, ctx: RuntimeContext, disk: AdapterFixture): void {
  it(
    "export then import --keep-seq into an empty store gives the same state and messages",
    () =>
      inTempDir(disk, async (dir) => {
        await sampleStore(disk.fs, join(dir, "a"));
        const exported = await runCli(ctx, ["export", join(dir, "a")]);
        expect(exported.code).toBe(0);
        const records = exported.stdout
          .trimEnd()
          .split("\n")
          .map((l) => JSON.parse(l));
        expect(records).toHaveLength(118);
        expect(records[6]).toMatchObject({ seq: 7, hdr: btoa(dec.decode(HEADERS)) });
        expect(records[6].ttl).toBeUndefined();
        expect([records[9].ttl, records[10].ttl]).toStrictEqual([86_400, -1]);

        const imported = await runCli(
          ctx,
          ["import", join(dir, "b"), "--keep-seq"],
          exported.stdout,
        );
        expect(imported).toStrictEqual({ code: 0, stdout: "", stderr: "" });
        const a = await messagesOf(disk, join(dir, "a"));
        const b = await messagesOf(disk, join(dir, "b"));
        expect({ ...b.state, consumers: 0 }).toStrictEqual({ ...a.state, consumers: 0 });
        expect(b.msgs).toStrictEqual(a.msgs);
        expect(b.ttls).toStrictEqual(a.ttls);
        expect(a.ttls.filter((t) => t !== 0)).toHaveLength(12);
        expect(b.subjects).toStrictEqual(a.subjects);

        // Without --keep-seq: the same messages under new sequences, appended.
        const filtered = await runCli(ctx, [
          "export",
          join(dir, "a"),
          "--subject",
          "orders.west.*",
        ]);
        const again = await runCli(ctx, ["import", join(dir, "c")], filtered.stdout);
        expect(again.code).toBe(0);
        const c = await messagesOf(disk, join(dir, "c"));
        const west = a.msgs.filter((m) => m.subject.startsWith("orders.west."));
        expect(c.msgs.map((m) => m.seq)).toStrictEqual(west.map((_, i) => i + 1));
        expect(c.msgs.map((m) => [m.subject, m.hdr, m.msg])).toStrictEqual(
          west.map((m) => [m.subject, m.hdr, m.msg]),
        );
        const westTtls = a.ttls.filter((_, i) => a.msgs[i].subject.startsWith("orders.west."));
        expect(c.ttls).toStrictEqual(westTtls);
      }),
    T,
  );
}

function usageTests({ it, expect }: TestApi, ctx: RuntimeContext, disk: AdapterFixture): void {
  it(
    "bad arguments exit 2 with one error line naming the code; --help exits 0 with an example",
    () =>
      inTempDir(disk, async (dir) => {
        await sampleStore(disk.fs, join(dir, "s"));
        const s = join(dir, "s");
        const cases: [string[], string][] = [
          [[], "usage: jetstore COMMAND"],
          [["frobnicate", s], "ErrInvalidArgument: unknown command"],
          [["cat", s, "--bogus"], "ErrInvalidArgument: Unknown option '--bogus'"],
          [["cat"], "ErrInvalidArgument: expected 1 argument(s), got 0"],
          [["cat", s, "--limit", "x"], "ErrInvalidArgument: --limit must be a whole number"],
          // A whole number past 2^53 − 1 is one, just not exact: the range is what to say.
          [
            ["info", s, "--top", "99999999999999999999"],
            '--top is too large: it must be from 0 to 9007199254740991, got "99999999999999999999"',
          ],
          [["remove", s, "0", "--yes"], "SEQ must be a whole number from 1 to 9007199254740991"],
          [
            ["cat", s, "--since", "99999999999999999999d"],
            "--since's count is too large: it must be",
          ],
          [["cat", s, "--since", "yesterday"], "ErrInvalidArgument: --since takes"],
          [
            ["cat", s, "--from", "3", "--last", "2"],
            "ErrInvalidArgument: --from, --since and --last",
          ],
          [["cat", s, "--subject", "a..b"], "ErrInvalidFilter"],
          [["info", join(dir, "missing")], `ErrNotFound: ${join(dir, "missing")} does not exist`],
          [["verify", join(dir, "missing")], `ErrNotFound: ${join(dir, "missing")} does not exist`],
          [["verify", join(s, "index.ckpt")], "ErrNotAStore: "],
          [
            ["verify", dir],
            `ErrNotAStore: ${dir} is not a jetstore store: it has no msgs/ directory`,
          ],
          [["info", dir], "ErrNotAStore"],
          [["import", join(dir, "t")], ""],
        ];
        for (const [args, needle] of cases.slice(0, -1)) {
          const r = await runCli(ctx, args);
          expect({ args, code: r.code, has: r.stderr.includes(needle) }).toStrictEqual({
            args,
            code: 2,
            has: true,
          });
          if (args.length > 0) {
            expect({ args, lines: r.stderr.trimEnd().split("\n").length }).toStrictEqual({
              args,
              lines: 1,
            });
            expect(r.stderr).not.toContain("    at ");
          }
        }
        const bad = await runCli(
          ctx,
          ["import", join(dir, "t")],
          '{"subject":"a","msg":""}\n[1]\n',
        );
        expect(bad.code).toBe(2);
        expect(bad.stderr).toContain(
          "ErrInvalidArgument: stdin line 2: not a JSON object (the 1 message before it is stored, through sequence 1; import from line 2 on)",
        );
        expect((await runCli(ctx, ["info", join(dir, "t")])).stdout).toMatch(/messages\s+1\b/);
        const debug = await runCli(ctx, ["cat", s, "--limit", "x", "--debug"]);
        expect(debug.stderr).toContain("    at ");

        const overview = await runCli(ctx, ["--help"]);
        expect(overview.code).toBe(0);
        for (const name of [
          "info",
          "verify",
          "cat",
          "subjects",
          "export",
          "import",
          "backup",
          "restore",
          "purge",
          "compact",
          "remove",
          "bench",
        ]) {
          expect(overview.stdout).toContain(`  ${name} `);
          const help = await runCli(ctx, [name, "--help"]);
          expect({ name, code: help.code }).toStrictEqual({ name, code: 0 });
          expect(help.stdout).toContain(`usage: jetstore ${name} `);
          expect(help.stdout).toMatch(new RegExp(`example:\\n  (.* \\| )?jetstore ${name} `));
        }
      }),
    T,
  );

  it(
    "an encrypted store needs its key: --key-file, JETSTORE_KEY_FILE or JETSTORE_KEY",
    () =>
      inTempDir(disk, async (dir) => {
        const key = new Uint8Array(32).map((_, i) => i * 7 + 1);
        const hex = Array.from(key, (b) => b.toString(16).padStart(2, "0")).join("");
        const store = await FileStore.open({
          dir,
          fs: disk.fs,
          cipher: "chacha20-poly1305",
          key,
          syncIntervalMs: 0,
        });
        store.storeMsg("secret.1", null, new TextEncoder().encode("hush"));
        await store.close();
        const keys = mkdtempSync(join(tmpdir(), "jetstore-cli-key-"));
        try {
          const file = join(keys, "k");
          writeFileSync(file, `${hex}\n`);
          const none = await runCli(ctx, ["cat", dir]);
          expect(none.code).toBe(2);
          expect(none.stderr).toContain("ErrBadKey");
          for (const [args, env] of [
            [["--key-file", file], {}],
            [[], { JETSTORE_KEY_FILE: file }],
            [[], { JETSTORE_KEY: hex }],
          ] as [string[], Record<string, string>][]) {
            const r = await runCli(ctx, ["cat", dir, ...args], "", env);
            expect({ env, code: r.code }).toStrictEqual({ env, code: 0 });
            expect(r.stdout).toMatch(/ secret\.1 hush\n$/);
          }
          const info = await runCli(ctx, ["info", dir, "--json", "--key-file", file]);
          expect(JSON.parse(info.stdout).disk.cipher).toBe("chacha20-poly1305");
        } finally {
          rmSync(keys, { recursive: true, force: true });
        }
      }),
    T,
  );
}
