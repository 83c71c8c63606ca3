/**
 * IDX files (the MNIST format): big-endian header, then unsigned bytes. Gzip is detected by its magic bytes,
 * so "x.gz" and "x" both work whatever their names say. Every failure names the file and what is wrong.
 */
import fs from "node:fs/promises";
import zlib from "node:zlib";

export const IMAGES_MAGIC = 2051; // 0x00000803: unsigned byte, 3 dimensions
export const LABELS_MAGIC = 2049; // 0x00000801: unsigned byte, 1 dimension

export interface IdxImages {
  readonly count: number;
  readonly rows: number;
  readonly cols: number;
  /** count × rows × cols bytes, row-major, 0 = background, 255 = ink. */
  readonly pixels: Uint8Array;
}

export interface IdxLabels {
  readonly count: number;
  readonly labels: Uint8Array;
}

export class IdxError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = "IdxError";
  }
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Bytes per element of each IDX element type. */
const ELEMENT_BYTES: Record<number, number> = { 0x08: 1, 0x09: 1, 0x0b: 2, 0x0c: 4, 0x0d: 4, 0x0e: 8 };
/** No IDX file digits reads declares more than this (MNIST's largest is 47 MB). */
export const MAX_IDX_BYTES = 1 << 30;

/** The total size an IDX header declares, or undefined when `head` is too short or not IDX. */
export function declaredIdxSize(head: Uint8Array): number | undefined {
  if (head.length < 4 || head[0] !== 0 || head[1] !== 0) return undefined;
  const [type, dims] = [head[2], head[3]];
  const element = ELEMENT_BYTES[type];
  if (!element || dims === 0 || head.length < 4 + 4 * dims) return undefined;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let n = element;
  for (let i = 0; i < dims; i++) n *= view.getUint32(4 + 4 * i, false);
  return 4 + 4 * dims + n;
}

/**
 * The IDX content of a file, gunzipped if needed — never inflated past what its header declares (a gzip
 * that expands to more is a decompression bomb or not IDX), nor past MAX_IDX_BYTES.
 */
/**
 * A file's bytes in shared memory, so a worker thread (training's) reads the images where they are instead of
 * a copy: MNIST's 47 MB would otherwise be copied once more (~0.15 s here, most of it faulting in fresh pages).
 */
async function readShared(file: string): Promise<Buffer> {
  const handle = await fs.open(file, "r");
  try {
    const { size } = await handle.stat();
    const out = Buffer.from(new SharedArrayBuffer(size));
    let at = 0;
    while (at < size) {
      const { bytesRead } = await handle.read(out, at, size - at, at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    return out.subarray(0, at);
  } finally {
    await handle.close();
  }
}

export async function readIdxBytes(file: string): Promise<Uint8Array> {
  let raw: Buffer;
  try {
    raw = await readShared(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new IdxError(file, err.code === "ENOENT" ? "file not found" : `cannot read (${err.message})`);
  }
  if (!isGzip(raw)) return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  let head: Buffer;
  try {
    // A prefix, flushed: enough to read the header without inflating the rest.
    head = zlib.gunzipSync(raw.subarray(0, 4096), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  } catch (e) {
    throw new IdxError(file, `corrupt gzip data (${(e as Error).message})`);
  }
  const declared = declaredIdxSize(new Uint8Array(head.buffer, head.byteOffset, head.byteLength));
  if (declared === undefined) {
    // Too little came out of the prefix: a broken stream, or gzip of something else.
    try {
      zlib.gunzipSync(raw, { maxOutputLength: 1 << 16 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ERR_BUFFER_TOO_LARGE")
        throw new IdxError(file, `corrupt gzip data (${(e as Error).message})`);
    }
    throw new IdxError(file, "gzip data that is not an IDX file (no IDX header inside)");
  }
  if (declared > MAX_IDX_BYTES)
    throw new IdxError(
      file,
      `its header declares ${declared.toLocaleString("en-US")} bytes, more than digits reads (${MAX_IDX_BYTES.toLocaleString("en-US")})`,
    );
  try {
    const out = zlib.gunzipSync(raw, { maxOutputLength: Math.max(declared, 16) });
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE")
      throw new IdxError(
        file,
        `inflates to more than the ${declared.toLocaleString("en-US")} bytes its header declares (a decompression bomb, or not one IDX file)`,
      );
    throw new IdxError(file, `corrupt gzip data (${(e as Error).message})`);
  }
}

function header(bytes: Uint8Array, file: string, words: number): number[] {
  if (bytes.length < 4 * words) {
    throw new IdxError(
      file,
      `truncated: ${bytes.length} bytes is shorter than the ${4 * words}-byte IDX header`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: words }, (_, i) => view.getUint32(4 * i, false));
}

export function parseImages(bytes: Uint8Array, file = "<images>"): IdxImages {
  const [magic] = header(bytes, file, 1);
  if (magic !== IMAGES_MAGIC) {
    const hint = magic === LABELS_MAGIC ? " (this is a label file)" : "";
    throw new IdxError(file, `bad magic number ${magic}, expected ${IMAGES_MAGIC} for an image file${hint}`);
  }
  const [, count, rows, cols] = header(bytes, file, 4);
  if (rows === 0 || cols === 0) throw new IdxError(file, `images have no pixels (${rows}×${cols})`);
  const expected = 16 + count * rows * cols;
  if (bytes.length !== expected) {
    const what = bytes.length < expected ? "truncated" : "too long";
    throw new IdxError(
      file,
      `${what}: header says ${count} images of ${rows}×${cols} (${expected} bytes), file has ${bytes.length}`,
    );
  }
  return { count, rows, cols, pixels: bytes.subarray(16) };
}

export function parseLabels(bytes: Uint8Array, file = "<labels>", classes = 10): IdxLabels {
  const [magic] = header(bytes, file, 1);
  if (magic !== LABELS_MAGIC) {
    const hint = magic === IMAGES_MAGIC ? " (this is an image file)" : "";
    throw new IdxError(file, `bad magic number ${magic}, expected ${LABELS_MAGIC} for a label file${hint}`);
  }
  const [, count] = header(bytes, file, 2);
  if (bytes.length !== 8 + count) {
    const what = bytes.length < 8 + count ? "truncated" : "too long";
    throw new IdxError(
      file,
      `${what}: header says ${count} labels (${8 + count} bytes), file has ${bytes.length}`,
    );
  }
  const labels = bytes.subarray(8);
  const bad = labels.findIndex((l) => l >= classes);
  if (bad >= 0)
    throw new IdxError(file, `label ${labels[bad]} at index ${bad} is not a class 0–${classes - 1}`);
  return { count, labels };
}

export async function readImages(file: string): Promise<IdxImages> {
  return parseImages(await readIdxBytes(file), file);
}

export async function readLabels(file: string): Promise<IdxLabels> {
  return parseLabels(await readIdxBytes(file), file);
}

/** Encodes images or labels as IDX (for `digits` exports and test fixtures). */
export function encodeImages(images: {
  count: number;
  rows: number;
  cols: number;
  pixels: Uint8Array;
}): Uint8Array {
  const out = new Uint8Array(16 + images.pixels.length);
  const view = new DataView(out.buffer);
  [IMAGES_MAGIC, images.count, images.rows, images.cols].forEach((v, i) => view.setUint32(4 * i, v, false));
  out.set(images.pixels, 16);
  return out;
}

export function encodeLabels(labels: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + labels.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, LABELS_MAGIC, false);
  view.setUint32(4, labels.length, false);
  out.set(labels, 8);
  return out;
}
