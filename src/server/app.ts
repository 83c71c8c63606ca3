/**
 * The web app's server (fastify): the page, the model for in-browser inference, and a prediction API.
 * Bad input always gets a 4xx JSON error with a clear message — never a 500 or a stack trace.
 */
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import fastifyMultipart from "@fastify/multipart";
import fastifyStatic from "@fastify/static";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { Predictor } from "../engine/index.js";
import type { LoadedModel } from "../models/saved-model.js";
import { ImageError, inputToPng, prepareImage, prepareImageDigits } from "../vision/decode.js";
import { NoInkError } from "../vision/preprocess.js";

export interface AppOptions {
  model: LoadedModel;
  /** Directory of the built page (index.html, app.js). */
  webDir: string;
  /** Largest upload accepted, in bytes. */
  bodyLimit?: number;
  logger?: boolean;
}

export const IMAGE_TYPES = [
  "image/png",
  "image/jpeg",
  "image/webp",
  "image/gif",
  "image/avif",
  "image/tiff",
  "application/octet-stream",
];
export const LOW_CONFIDENCE = 0.6;

const errorSchema = {
  type: "object",
  properties: { error: { type: "string" }, message: { type: "string" } },
  required: ["error", "message"],
} as const;

const predictionSchema = {
  type: "object",
  properties: {
    digit: { type: "integer" },
    probabilities: { type: "array", items: { type: "number" }, minItems: 10, maxItems: 10 },
    confidence: { type: "number" },
    lowConfidence: { type: "boolean" },
    input28: { type: "string" },
    inverted: { type: "boolean" },
    ms: { type: "number" },
  },
  required: ["digit", "probabilities", "confidence", "lowConfidence", "input28", "ms"],
} as const;

class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly error: string,
    message: string,
  ) {
    super(message);
  }
}

/** One digit's answer: the probabilities, the most likely digit and how sure, and the 28×28 the model saw. */
function answer(probabilities: number[], input: Float32Array) {
  const confidence = Math.max(...probabilities);
  return {
    digit: probabilities.indexOf(confidence),
    confidence,
    probabilities,
    input28: inputToPng(input).toString("base64"),
  };
}

/** Preprocessing failures as the HTTP errors they are: a picture without ink, or not a picture at all. */
async function asHttpErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof NoInkError) throw new HttpError(422, "no_ink", e.message);
    if (e instanceof ImageError) throw new HttpError(415, "bad_image", e.message);
    throw e;
  }
}

function ortWebDir(): string {
  const require = createRequire(import.meta.url);
  // The package exports no package.json; its wasm file is exported, and lives in dist/.
  return path.dirname(require.resolve("onnxruntime-web/ort-wasm-simd-threaded.wasm"));
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const bodyLimit = options.bodyLimit ?? 8 * 1024 * 1024;
  const app = Fastify({ logger: options.logger ?? false, bodyLimit });
  const predictor = await Predictor.create(options.model.model);
  app.addHook("onClose", async () => predictor.release());

  // Raw image bodies arrive as Buffers; multipart forms go through @fastify/multipart.
  app.addContentTypeParser(IMAGE_TYPES, { parseAs: "buffer" }, (_req, body, done) => done(null, body));
  await app.register(fastifyMultipart, { limits: { fileSize: bodyLimit, files: 1, fields: 5 } });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    if (err instanceof HttpError)
      return reply.status(err.statusCode).send({ error: err.error, message: err.message });
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) app.log.error(err);
    const message =
      status === 500
        ? "internal error"
        : err.code === "FST_ERR_CTP_BODY_TOO_LARGE"
          ? `the upload is larger than ${bodyLimit} bytes`
          : err.message;
    return reply.status(status).send({ error: err.code ?? "error", message });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.status(404).send({ error: "not_found", message: `no route ${req.method} ${req.url}` }),
  );

  async function imageFrom(req: FastifyRequest): Promise<Buffer> {
    if (req.isMultipart()) {
      const file = await req.file();
      if (!file) throw new HttpError(400, "no_image", "the form has no file field");
      const bytes = await file.toBuffer();
      if (file.file.truncated)
        throw new HttpError(413, "too_large", `the upload is larger than ${bodyLimit} bytes`);
      return bytes;
    }
    const body = req.body;
    const type = req.headers["content-type"] ?? "";
    if (body !== undefined && !Buffer.isBuffer(body)) {
      throw new HttpError(
        415,
        "unsupported_type",
        `${type || "this content type"} is not an image: send image/png, image/jpeg or image/webp, or multipart/form-data`,
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

  app.post(
    "/api/predict",
    { schema: { response: { 200: predictionSchema, "4xx": errorSchema } } },
    async (req: FastifyRequest, reply: FastifyReply) => {
      const t0 = performance.now();
      const bytes = await imageFrom(req);
      const prepared = await asHttpErrors(() => prepareImage(bytes, "upload"));
      const digit = answer(Array.from(await predictor.predict(prepared.input)), prepared.input);
      return reply.send({
        ...digit,
        lowConfidence: digit.confidence < LOW_CONFIDENCE,
        inverted: prepared.inverted,
        ms: performance.now() - t0,
      });
    },
  );

  const numberSchema = {
    type: "object",
    properties: {
      number: { type: "string" },
      digits: {
        type: "array",
        items: {
          type: "object",
          properties: {
            digit: { type: "integer" },
            confidence: { type: "number" },
            probabilities: { type: "array", items: { type: "number" } },
            input28: { type: "string" },
          },
          required: ["digit", "confidence", "probabilities", "input28"],
        },
      },
      ms: { type: "number" },
    },
    required: ["number", "digits", "ms"],
  } as const;

  /** A written number: every digit in the picture, left to right. */
  app.post(
    "/api/read",
    { schema: { response: { 200: numberSchema, "4xx": errorSchema } } },
    async (req, reply) => {
      const t0 = performance.now();
      const bytes = await imageFrom(req);
      const prepared = await asHttpErrors(() => prepareImageDigits(bytes, "upload"));
      const x = new Float32Array(prepared.length * 784);
      prepared.forEach((p, i) => x.set(p.input, i * 784));
      const probs = await predictor.predict(x);
      const digits = prepared.map((p, i) => answer(Array.from(probs.subarray(i * 10, i * 10 + 10)), p.input));
      return reply.send({ number: digits.map((d) => d.digit).join(""), digits, ms: performance.now() - t0 });
    },
  );

  const { metadata } = options.model;
  const modelInfo = {
    architecture: metadata.architectureName ?? "custom",
    layers: metadata.architecture.layers.map((l) => l.className),
    parameters: metadata.parameters,
    metrics: metadata.metrics ?? {},
    training: metadata.training ?? {},
    createdAt: metadata.createdAt,
    io: metadata.io,
    lowConfidence: LOW_CONFIDENCE,
    sha256: metadata.files["model.onnx"]?.sha256,
  };
  app.get("/api/model", async () => modelInfo);
  app.get("/healthz", async () => ({ ok: true }));
  app.get("/model.onnx", async (_req, reply) =>
    reply
      .header("content-type", "application/octet-stream")
      .header("cache-control", "no-cache")
      .send(Buffer.from(options.model.onnx)),
  );

  // onnxruntime-web's WebAssembly files, served locally so the page needs no network.
  await app.register(fastifyStatic, { root: ortWebDir(), prefix: "/ort/", decorateReply: false });
  if (!fs.existsSync(path.join(options.webDir, "index.html"))) {
    throw new Error(`${options.webDir}: the page is not built (run npm run build)`);
  }
  await app.register(fastifyStatic, { root: options.webDir, prefix: "/" });
  return app;
}
