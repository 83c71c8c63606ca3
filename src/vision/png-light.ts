/**
 * The server's fast path for the picture it gets most: an 8-bit, non-interlaced PNG no larger than the working
 * size (the page's canvas, a screenshot, a scan) decoded straight to the light values preprocessing starts
 * from — zlib's inflate, then a WebAssembly SIMD kernel (png-kernel.wat) that undoes the row filters and sums
 * each block's darkness by light.ts's integer arithmetic, skipping each row's paper on both sides. A 280×280
 * canvas costs ~0.15 ms here, against ~1 ms for the same two passes in typed-array loops and ~2.5 ms for
 * sharp's pipeline, and gives sharp's light values to the last bit (test/vision/png-light.test.ts). Anything
 * else — palettes, transparency keys, 16 bits, interlacing, colour profiles, orientation, bigger pictures,
 * anything malformed — is left to sharp (undefined).
 */
import zlib from "node:zlib";
import { blockLight, type LightSource } from "./light.js";
import { PNG_KERNEL_WASM_BASE64 } from "./png-kernel-wasm.js";

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Channels per colour type: grey, RGB, grey + alpha, RGBA (8 bits each). */
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };
/** Chunks whose meaning sharp would apply (or that we do not): their pictures take sharp's path. */
const LEAVE_TO_SHARP = new Set(["PLTE", "tRNS", "iCCP", "eXIf", "sBIT", "cICP"]);

const u32 = (b: Uint8Array, o: number) =>
  ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;

export function pngLight(b: Uint8Array, maxSide: number): LightSource | undefined {
  if (b.length < 45 || SIGNATURE.some((v, i) => b[i] !== v)) return undefined;
  let o = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Uint8Array[] = [];
  while (o + 12 <= b.length) {
    const length = u32(b, o);
    const type = String.fromCharCode(b[o + 4], b[o + 5], b[o + 6], b[o + 7]);
    const data = o + 8;
    if (data + length + 4 > b.length) return undefined;
    // A damaged chunk is sharp's to report (libpng checks the CRCs of the chunks that matter).
    if (
      (type === "IHDR" || type === "IDAT") &&
      zlib.crc32(b.subarray(o + 4, data + length)) !== u32(b, data + length)
    )
      return undefined;
    if (type === "IHDR") {
      if (o !== 8 || length !== 13) return undefined;
      width = u32(b, data);
      height = u32(b, data + 4);
      const [depth, colour, compression, filter, interlace] = b.subarray(data + 8, data + 13);
      channels = CHANNELS[colour] ?? 0;
      if (depth !== 8 || !channels || compression !== 0 || filter !== 0 || interlace !== 0) return undefined;
      if (width < 1 || height < 1 || width > maxSide || height > maxSide) return undefined;
      if (width * channels >= RAW_AT) return undefined; // wider than the kernel's zero row above the first
    } else if (type === "IDAT") idat.push(b.subarray(data, data + length));
    else if (type === "IEND") break;
    else if (LEAVE_TO_SHARP.has(type)) return undefined;
    o = data + length + 4;
  }
  if (!channels || idat.length === 0) return undefined;
  const stride = width * channels;
  let raw: Buffer;
  try {
    raw = zlib.inflateSync(idat.length === 1 ? idat[0] : Buffer.concat(idat), {
      maxOutputLength: height * (stride + 1), // a bomb stops at the size the header declares
      chunkSize: Math.max(zlib.constants.Z_MIN_CHUNK, height * (stride + 1)), // one buffer, not pieces to join
    });
  } catch {
    return undefined;
  }
  if (raw.length !== height * (stride + 1)) return undefined;
  const picture: Picture = { raw, stride, height, channels };
  if (!resident(picture)) return undefined;
  return blockLight(width, height, (w, h, factor) => {
    if (!resident(picture)) throw new Error("the PNG's rows no longer unfilter"); // they did a moment ago
    const k = kernel();
    const sumsAt = align8(RAW_AT + raw.length);
    ensureMemory(sumsAt + w * h * 8);
    k.darkness(RAW_AT + 1, stride + 1, channels, w, h, factor, sumsAt);
    return new Float64Array(k.memory.buffer, sumsAt, w * h);
  });
}

interface Picture {
  /** The inflated rows, each a filter byte then `stride` bytes (still filtered: the kernel unfilters a copy). */
  raw: Buffer;
  stride: number;
  height: number;
  channels: number;
}

interface Kernel {
  memory: WebAssembly.Memory;
  unfilter(raw: number, stride: number, height: number, bpp: number): number;
  darkness(
    pix: number,
    rowStride: number,
    ch: number,
    w: number,
    h: number,
    factor: number,
    sums: number,
  ): void;
}

/**
 * Where the rows go in the kernel's memory: the bytes before stay zero, the first row's "row above" (rows up
 * to 1,023 RGBA pixels; the server takes 512 at most).
 */
const RAW_AT = 4096;
const align8 = (n: number) => Math.ceil(n / 8) * 8;

let instance: Kernel | undefined;
/** The picture whose unfiltered rows are in the kernel's memory. */
let current: Picture | undefined;

function kernel(): Kernel {
  instance ??= new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(PNG_KERNEL_WASM_BASE64, "base64")))
    .exports as unknown as Kernel;
  return instance;
}

function ensureMemory(bytes: number) {
  const { memory } = kernel();
  const have = memory.buffer.byteLength;
  if (bytes > have) memory.grow(Math.ceil((bytes - have) / 65536));
}

/**
 * Puts the picture's unfiltered rows in the kernel's memory (one at a time: a light source whose rows were
 * replaced by another picture's puts its own back); false if a row's filter is unknown.
 */
function resident(p: Picture): boolean {
  if (current === p) return true;
  const k = kernel();
  ensureMemory(RAW_AT + p.raw.length);
  new Uint8Array(k.memory.buffer, RAW_AT, p.raw.length).set(p.raw);
  current = k.unfilter(RAW_AT, p.stride, p.height, p.channels) === 1 ? p : undefined;
  return current === p;
}
