/**
 * Samples out of the database, in the forms the rest of digits reads: an IDX pair of the 28×28 inputs
 * (`--dataset idx:DIR/images-idx3-ubyte,DIR/labels-idx1-ubyte`), the pictures as uploaded in
 * DIR/pictures/<label>/ (`--dataset folder:DIR/pictures`), and samples.csv with every column but the pixels.
 * Written to a temporary folder renamed into place (util/fs.ts's writeDir): an export is whole or absent.
 */
import fs from "node:fs";
import { writeDir } from "../util/fs.js";
import path from "node:path";
import { encodeImages, encodeLabels } from "../data/idx.js";
import { packSamples, SamplesError, type ListFilter, type SampleStore } from "./store.js";

const EXTENSIONS: Record<string, string> = {
  "image/png": "png",
  "image/jpeg": "jpg",
  "image/webp": "webp",
  "image/gif": "gif",
  "image/avif": "avif",
  "image/tiff": "tiff",
};

const csvCell = (v: string | number) =>
  /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v);

export async function exportSamples(
  store: SampleStore,
  out: string,
  filter: ListFilter = {},
): Promise<{ count: number; images: string; labels: string; csv: string; pictures: string }> {
  if (fs.existsSync(out) && fs.readdirSync(out).length > 0)
    throw new SamplesError(`${out}: already exists and is not empty (export into a new folder)`);
  const samples = await store.read(filter);
  if (samples.length === 0) throw new SamplesError(`${store.location}: no samples to export`);
  const packed = packSamples(samples);
  const files: Record<string, string | Uint8Array> = {
    "images-idx3-ubyte": encodeImages(packed.images),
    "labels-idx1-ubyte": encodeLabels(packed.labels),
  };
  const header = ["id", "created_at", "client", "label", "predicted", "confidence", "image_type", "picture"];
  const rows = samples.map((s) => {
    const picture = path.join("pictures", String(s.label), `${s.id}.${EXTENSIONS[s.imageType] ?? "bin"}`);
    files[picture] = s.image;
    return [s.id, s.createdAt, s.client, s.label, s.predicted, s.confidence, s.imageType, picture];
  });
  files["samples.csv"] = `${[header, ...rows].map((r) => r.map(csvCell).join(",")).join("\n")}\n`;
  writeDir(out, files, { replace: false });
  return {
    count: samples.length,
    images: path.join(out, "images-idx3-ubyte"),
    labels: path.join(out, "labels-idx1-ubyte"),
    csv: path.join(out, "samples.csv"),
    pictures: path.join(out, "pictures"),
  };
}
