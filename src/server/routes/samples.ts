/**
 * The person's own digits, kept only on their say-so: POST /samples stores a picture with the label they
 * confirmed or gave (the server prepares and reads it again, so the stored input and answer are the model's,
 * not whatever a client claims); GET lists, GET …/image returns, and DELETE deletes — each only the samples
 * of the browser asking, named by its opaque id in the X-Digits-Client header.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { argmax } from "../../util/argmax.js";
import { prepareImage } from "../../vision/decode.js";
import type { SampleStore } from "../../samples/store.js";
import { asHttpErrors, HttpError } from "../errors.js";
import { replies } from "../schemas.js";
import { imageFrom } from "./predict.js";

export const CLIENT_HEADER = "x-digits-client";

export interface SamplesRoutesOptions {
  store: SampleStore;
  bodyLimit: number;
}

function clientOf(req: FastifyRequest): string {
  const id = req.headers[CLIENT_HEADER];
  if (typeof id !== "string" || !/^[\w-]{8,64}$/.test(id))
    throw new HttpError(
      400,
      "no_client",
      `send the browser's id (8–64 letters, digits, - or _) in ${CLIENT_HEADER}`,
    );
  return id;
}

const idParam = {
  type: "object",
  properties: { id: { type: "integer", minimum: 1 } },
  required: ["id"],
} as const;

export async function samplesRoutes(app: FastifyInstance, { store, bodyLimit }: SamplesRoutesOptions) {
  const { predictor } = app;
  app.post(
    "/samples",
    {
      schema: {
        querystring: {
          type: "object",
          properties: { label: { type: "integer", minimum: 0, maximum: 9 }, consent: { type: "boolean" } },
          required: ["label"],
        },
        ...replies("sample"),
      },
    },
    async (req) => {
      const { label, consent } = req.query as { label: number; consent?: boolean };
      if (consent !== true)
        throw new HttpError(
          400,
          "no_consent",
          "a sample is kept only when the person agrees: send consent=true",
        );
      const client = clientOf(req);
      const bytes = await imageFrom(req, bodyLimit);
      const prepared = await asHttpErrors(() => prepareImage(bytes, "upload"));
      const probabilities = await predictor.predict(prepared.input);
      const predicted = argmax(probabilities);
      const type = req.isMultipart() ? "image/png" : String(req.headers["content-type"] ?? "image/png");
      return store.add({
        image: bytes,
        imageType: type.split(";")[0],
        input: prepared.input,
        label,
        predicted,
        confidence: probabilities[predicted],
        client,
      });
    },
  );
  app.get("/samples", { schema: replies("samples") }, async (req) => ({
    samples: await store.list({ client: clientOf(req) }),
  }));
  app.get("/samples/:id/image", { schema: { params: idParam } }, async (req, reply) => {
    const { id } = req.params as { id: number };
    const [sample] = await store.read({ client: clientOf(req), ids: [id] });
    if (!sample) throw new HttpError(404, "no_sample", `no sample ${id} of this browser`);
    return reply.header("content-type", sample.imageType).send(Buffer.from(sample.image));
  });
  app.delete("/samples/:id", { schema: { params: idParam, ...replies("deleted") } }, async (req) => {
    const { id } = req.params as { id: number };
    const deleted = await store.delete({ client: clientOf(req), ids: [id] });
    if (deleted === 0) throw new HttpError(404, "no_sample", `no sample ${id} of this browser`);
    return { deleted };
  });
  app.delete("/samples", { schema: replies("deleted") }, async (req) => ({
    deleted: await store.delete({ client: clientOf(req) }),
  }));
}
