/** GET /model (what is being served) and the model file itself, for the page's in-browser inference. */
import type { FastifyInstance } from "fastify";
import { MODEL_FILE, type LoadedModel } from "../../zoo/saved-model.js";

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

export async function modelFileRoute(app: FastifyInstance, { model }: { model: LoadedModel }) {
  const bytes = Buffer.from(model.onnx);
  app.get(`/${MODEL_FILE}`, async (_req, reply) =>
    reply.header("content-type", "application/octet-stream").header("cache-control", "no-cache").send(bytes),
  );
}
