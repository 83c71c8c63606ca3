/** GET /model (what is being served) and the model file itself, for the page's in-browser inference. */
import type { FastifyInstance } from "fastify";
import { buildInsideGraph, toOnnx } from "../../engine/index.js";
import { HttpError } from "../errors.js";
import { METADATA_FILE, MODEL_FILE, type LoadedModel } from "../../saved/saved-model.js";

export interface ModelRoutesOptions {
  model: LoadedModel;
  lowConfidence: number;
  /** Whether the server keeps samples people opt in to give. */
  samples: boolean;
}

export async function modelInfoRoutes(
  app: FastifyInstance,
  { model, lowConfidence, samples }: ModelRoutesOptions,
) {
  const { metadata } = model;
  const info = {
    architecture: metadata.architectureName ?? "custom",
    layers: metadata.architecture.layers.map((l) => l.className),
    parameters: metadata.parameters,
    metrics: metadata.metrics ?? {},
    training: metadata.training ?? {},
    createdAt: metadata.createdAt,
    io: metadata.io,
    lowConfidence,
    samples,
    sha256: metadata.files[MODEL_FILE]?.sha256,
  };
  app.get("/model", async () => info);
}

/** The model's two files, for the page: model.onnx to run, metadata.json to fine-tune it and save the result. */
export async function modelFileRoute(app: FastifyInstance, { model }: { model: LoadedModel }) {
  const bytes = Buffer.from(model.onnx);
  app.get(`/${MODEL_FILE}`, async (_req, reply) =>
    reply.header("content-type", "application/octet-stream").header("cache-control", "no-cache").send(bytes),
  );
  app.get(`/${METADATA_FILE}`, async (_req, reply) =>
    reply.header("cache-control", "no-cache").send(model.metadata),
  );
}

/**
 * GET /inside.onnx: the model with two more outputs for the page's "what the model sees inside" — the first
 * layer's feature maps and a saliency map (engine: buildInsideGraph). Built on first request; an ensemble
 * has no single inside, so it gets a 404.
 */
export async function insideRoute(app: FastifyInstance, { model }: { model: LoadedModel }) {
  let bytes: Buffer | undefined;
  app.get("/inside.onnx", async (_req, reply) => {
    if (model.members.length > 1)
      throw new HttpError(
        404,
        "no_inside",
        "an ensemble has no single inside to show: serve one of its members",
      );
    bytes ??= Buffer.from(toOnnx(buildInsideGraph(model.model)));
    return reply
      .header("content-type", "application/octet-stream")
      .header("cache-control", "no-cache")
      .send(bytes);
  });
}

/** Training digits the page mixes into fine-tuning so the model does not forget: count labels, then pixels. */
export interface Replay {
  labels: Uint8Array;
  /** [count, 28, 28] bytes. */
  pixels: Uint8Array;
}

/**
 * GET /replay: `replay()`'s digits as one binary body — the labels (one byte each), then the pixels (784
 * bytes each) — read once and kept.
 */
export async function replayRoute(app: FastifyInstance, { replay }: { replay: () => Promise<Replay> }) {
  let body: Promise<Buffer> | undefined;
  app.get("/replay", async (_req, reply) => {
    body ??= replay().then((r) => Buffer.concat([r.labels, r.pixels]));
    const bytes = await body;
    return reply.header("content-type", "application/octet-stream").send(bytes);
  });
}
