/**
 * The user's own digits, kept only when they opt in: each uploaded picture, the 28×28 input the model saw, the
 * label the person gave, the model's answer and confidence, the time, and an opaque per-browser id.
 *
 * Two backends behind one interface: SQLite (sqlite.ts), the embedded default for one machine, and PostgreSQL
 * (postgres.ts), for many server processes or machines sharing one store; open.ts picks by the name.
 */

/** A sample's input is the model's: MNIST's 28×28 (the stores' schemas check it). */
export const SIZE = 28;

export class SamplesError extends Error {
  override name = "SamplesError";
}

export interface NewSample {
  /** The picture as uploaded (PNG, JPEG, …) and its type. */
  image: Uint8Array;
  imageType: string;
  /** The 28×28 input in 0–1 the model saw. */
  input: Float32Array;
  label: number;
  predicted: number;
  confidence: number;
  /** The opaque per-browser id that sent it. */
  client: string;
}

export interface SampleInfo {
  id: number;
  createdAt: string;
  client: string;
  label: number;
  predicted: number;
  confidence: number;
  imageType: string;
  imageBytes: number;
}

export interface Sample extends SampleInfo {
  image: Uint8Array;
  /** 784 bytes, 0–255: the 28×28 input, as an IDX image row. */
  pixels: Uint8Array;
}

export interface ListFilter {
  client?: string;
  ids?: readonly number[];
}

export interface SampleStore {
  /** Where the samples are, for messages: a file, or a database URL without its password. */
  readonly location: string;
  add(s: NewSample): Promise<SampleInfo>;
  list(filter?: ListFilter): Promise<SampleInfo[]>;
  /** The samples with their pictures and inputs, in id order. */
  read(filter?: ListFilter): Promise<Sample[]>;
  /** Deletes the samples the filter names (all of them with an empty filter), for good; returns how many. */
  delete(filter?: ListFilter): Promise<number>;
  count(): Promise<number>;
  close(): Promise<void>;
}

/** A listed sample with its picture and input bytes, as a backend reads them (Buffer or ArrayBuffer). */
export const withBytes = (
  info: SampleInfo,
  image: ArrayBuffer | Uint8Array,
  pixels: ArrayBuffer | Uint8Array,
): Sample => ({
  ...info,
  image: new Uint8Array(image),
  pixels: new Uint8Array(pixels),
});

/** A new sample checked, and its input as the 784 bytes stored. */
export function checkedPixels(s: NewSample): Buffer {
  if (!Number.isInteger(s.label) || s.label < 0 || s.label > 9)
    throw new SamplesError(`a sample's label is a digit 0–9 (got ${s.label})`);
  if (s.input.length !== SIZE * SIZE)
    throw new SamplesError(`a sample's input is 28×28 (got ${s.input.length} values)`);
  return Buffer.from(Uint8Array.from(s.input, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255)));
}

/** Samples' inputs as one IDX image block and their labels (what export and fine-tuning read). */
export function packSamples(samples: readonly Sample[]) {
  const pixels = new Uint8Array(samples.length * SIZE * SIZE);
  samples.forEach((s, i) => pixels.set(s.pixels, i * SIZE * SIZE));
  return {
    images: { count: samples.length, rows: SIZE, cols: SIZE, pixels },
    labels: Uint8Array.from(samples, (s) => s.label),
  };
}
