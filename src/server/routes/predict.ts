/** POST /predict (one digit) and POST /read (a written number): an image in, the model's answer out. */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { argmax } from "../../util/argmax.js";
import { prepareImage, prepareImageDigits } from "../../vision/decode.js";
import { inputToPng } from "../../vision/png.js";
import type { Prepared } from "../../vision/preprocess.js";
import { asHttpErrors, HttpError, tooLarge } from "../errors.js";
import { replies } from "../schemas.js";

export interface PredictRoutesOptions {
  bodyLimit: number;
  /** Below this top probability the answer is flagged as unsure. */
  lowConfidence: number;
}

/** Raw image bodies arrive as Buffers; multipart forms go through @fastify/multipart (registered by the app). */
export async function imageFrom(req: FastifyRequest, bodyLimit: number): Promise<Buffer> {
  if (req.isMultipart()) {
    // A malformed form (cut short, a bad boundary) is the client's error, not the server's.
    const malformed = (e: unknown): never => {
      const status = (e as { statusCode?: number }).statusCode;
      if (status !== undefined && status >= 400 && status < 500) throw e;
      throw new HttpError(400, "bad_form", `not a readable multipart form (${(e as Error).message})`);
    };
    const file = await req.file().catch(malformed);
    if (!file) throw new HttpError(400, "no_image", "the form has no file field");
    const bytes = await file.toBuffer().catch(malformed);
    if (file.file.truncated) throw tooLarge(bodyLimit);
    return bytes;
  }
  const body = req.body;
  if (body !== undefined && !Buffer.isBuffer(body)) {
    const type = req.headers["content-type"] || "this content type";
    throw new HttpError(
      415,
      "unsupported_type",
      `${type} is not an image: send image/png, image/jpeg or image/webp, or multipart/form-data`,
    );
  }
  if (!Buffer.isBuffer(body) || body.length === 0) {
    throw new HttpError(
      400,
      "no_image",
      "send an image as the request body (image/png, image/jpeg, image/webp) or as multipart/form-data",
    );
  }
  return body;
}

export async function predictRoutes(app: FastifyInstance, options: PredictRoutesOptions): Promise<void> {
  const { predictor } = app;
  const classes = predictor.classes;

  /** Every prepared input through the model at once → one answer per digit. */
  async function answers(prepared: Prepared[]) {
    const per = prepared[0].input.length;
    const x = new Float32Array(prepared.length * per);
    prepared.forEach((p, i) => x.set(p.input, i * per));
    const probabilities = await predictor.predict(x);
    return prepared.map((p, i) => {
      const row = Array.from(probabilities.subarray(i * classes, (i + 1) * classes));
      const digit = argmax(row);
      return {
        digit,
        confidence: row[digit],
        probabilities: row,
        input28: inputToPng(p.input).toString("base64"),
      };
    });
  }

  app.post("/predict", { schema: replies("prediction") }, async (req) => {
    const t0 = performance.now();
    const bytes = await imageFrom(req, options.bodyLimit);
    const prepared = await asHttpErrors(() => prepareImage(bytes, "upload"));
    const [digit] = await answers([prepared]);
    return {
      ...digit,
      lowConfidence: digit.confidence < options.lowConfidence,
      inverted: prepared.inverted,
      ms: performance.now() - t0,
    };
  });

  app.post("/read", { schema: replies("number") }, async (req) => {
    const t0 = performance.now();
    const bytes = await imageFrom(req, options.bodyLimit);
    const digits = await answers(await asHttpErrors(() => prepareImageDigits(bytes, "upload")));
    return { number: digits.map((d) => d.digit).join(""), digits, ms: performance.now() - t0 };
  });
}
