/** Pictures the person hands over: the file picker and drag-and-drop, read into what the pad shows. */
import { WORKING_SIZE } from "../src/vision/preprocess.js";
import { $, type Pixels } from "./dom.js";
import type { Upload } from "./pad.js";

/** The picture's own pixels (at most WORKING_SIZE on a side), transparent areas as white paper. */
function pixelsOf(bitmap: ImageBitmap): Pixels {
  const s = Math.min(1, WORKING_SIZE / Math.max(bitmap.width, bitmap.height));
  const width = Math.max(1, Math.round(bitmap.width * s));
  const height = Math.max(1, Math.round(bitmap.height * s));
  const c = new OffscreenCanvas(width, height).getContext("2d", {
    willReadFrequently: true,
  }) as OffscreenCanvasRenderingContext2D;
  c.fillStyle = "#fff";
  c.fillRect(0, 0, width, height);
  c.drawImage(bitmap, 0, 0, width, height);
  return { data: c.getImageData(0, 0, width, height).data, width, height };
}

/** The median colour of the picture's border: its paper. */
function borderColour({ data, width, height }: Pixels): string {
  const values: number[][] = [[], [], []];
  const take = (x: number, y: number) =>
    [0, 1, 2].forEach((k) => values[k].push(data[4 * (y * width + x) + k]));
  for (let x = 0; x < width; x++) {
    take(x, 0);
    take(x, height - 1);
  }
  for (let y = 0; y < height; y++) {
    take(0, y);
    take(width - 1, y);
  }
  const med = values.map((v) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)]);
  return `rgb(${med.join(",")})`;
}

export async function readUpload(file: File): Promise<Upload> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new Error(`${file.name}: not an image this browser can read`);
  }
  const pixels = pixelsOf(bitmap);
  return { file, bitmap, pixels, paper: borderColour(pixels) };
}

/** Calls `use` with each file chosen in the picker or dropped on the drop zone. */
export function listenForUploads(use: (file: File) => void): void {
  const picker = $<HTMLInputElement>("file");
  picker.addEventListener("change", () => {
    const file = picker.files?.[0];
    if (file) use(file);
  });
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const file = e.dataTransfer?.files?.[0];
    if (file) use(file);
  });
  drop.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") picker.click();
  });
}
