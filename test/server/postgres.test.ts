/**
 * Past one process: two `digits serve` processes started at once on one PostgreSQL (their migrations race:
 * one applies them, the other waits and finds them done), taking samples at once from the same browsers.
 * Nothing is lost or doubled, and either server lists, returns and deletes what the other kept.
 */
import { spawn, type ChildProcess } from "node:child_process";
import sharp from "sharp";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT, digitsArgs } from "../helpers/cli.js";
import { openSamples } from "../../src/samples/open.js";
import { mnistSlice } from "../helpers/mnist.js";
import { freshPostgres, POSTGRES } from "../helpers/postgres.js";

const servers: ChildProcess[] = [];

/** Starts `digits serve` on the store; resolves with its base URL once it listens. */
function serve(samples: string): Promise<string> {
  const server = spawn(process.execPath, digitsArgs("serve", "--port", "0", "--samples", samples), {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "pipe"],
  });
  servers.push(server);
  let err = "";
  return new Promise((resolve, reject) => {
    server.stderr.on("data", (d) => {
      err += d;
      const m = /on http:\/\/127\.0\.0\.1:(\d+)/.exec(err);
      if (m) resolve(`http://127.0.0.1:${m[1]}`);
    });
    server.once("exit", (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
  });
}

afterAll(() => servers.forEach((s) => s.kill("SIGTERM")));

describe.skipIf(!POSTGRES)("two servers, one PostgreSQL", () => {
  it("start together and take samples at once: none lost or doubled, each sees the other's", async () => {
    const where = await freshPostgres();
    const [a, b] = await Promise.all([serve(where), serve(where)]);
    expect(where).toMatch(/search_path/);
    const { pixels, labels } = await mnistSlice("t10k", 0, 8);
    const pngs = await Promise.all(
      Array.from(labels, (_, i) =>
        sharp(Buffer.from(pixels.subarray(i * 784, (i + 1) * 784).map((v) => 255 - v)), {
          raw: { width: 28, height: 28, channels: 1 },
        })
          .resize(280, 280)
          .png()
          .toBuffer(),
      ),
    );
    const clients = ["browser-one-0001", "browser-two-0002"];
    const keep = (base: string, i: number) =>
      fetch(`${base}/api/samples?label=${labels[i % 8]}&consent=true`, {
        method: "POST",
        headers: { "content-type": "image/png", "x-digits-client": clients[i % 2] },
        body: new Uint8Array(pngs[i % 8]),
      }).then(async (r) => ({ status: r.status, body: await r.json() }));
    // 30 from each server, all in flight together.
    const kept = await Promise.all([
      ...Array.from({ length: 30 }, (_, i) => keep(a, i)),
      ...Array.from({ length: 30 }, (_, i) => keep(b, i)),
    ]);
    expect(kept.map((k) => k.status)).toEqual(Array(60).fill(200));
    const ids = kept.map((k) => k.body.id as number);
    expect(new Set(ids).size).toBe(60);

    const list = async (base: string, client: string) =>
      (
        (await (await fetch(`${base}/api/samples`, { headers: { "x-digits-client": client } })).json()) as {
          samples: { id: number }[];
        }
      ).samples.map((s) => s.id);
    const fromA = await list(a, clients[0]);
    expect(fromA).toEqual(await list(b, clients[0]));
    expect(fromA.length).toBe(30);
    // A picture kept through one server, read back through the other, byte for byte.
    const first = kept[0].body.id;
    const image = await fetch(`${b}/api/samples/${first}/image`, {
      headers: { "x-digits-client": clients[0] },
    });
    expect(Buffer.from(await image.arrayBuffer()).equals(pngs[0])).toBe(true);
    const deleted = await fetch(`${b}/api/samples`, {
      method: "DELETE",
      headers: { "x-digits-client": clients[1] },
    });
    expect(((await deleted.json()) as { deleted: number }).deleted).toBe(30);
    expect(await list(a, clients[1])).toEqual([]);

    const store = await openSamples(where);
    expect(await store.count()).toBe(30);
    const read = await store.read();
    expect(read.every((s) => s.client === clients[0] && s.label === s.predicted)).toBe(true);
    await store.close();
  }, 120_000);
});
