/** The API's JSON shapes, declared once (`addSchema`) and referenced by `$ref` from every route. */
import type { FastifyInstance } from "fastify";

export function addSchemas(app: FastifyInstance, classes: number): void {
  app.addSchema({
    $id: "error",
    type: "object",
    properties: { error: { type: "string" }, message: { type: "string" } },
    required: ["error", "message"],
  });
  app.addSchema({
    $id: "digit",
    type: "object",
    properties: {
      digit: { type: "integer" },
      confidence: { type: "number" },
      probabilities: { type: "array", items: { type: "number" }, minItems: classes, maxItems: classes },
      input28: { type: "string", description: "the 28×28 input the model saw, a base64 PNG" },
    },
    required: ["digit", "confidence", "probabilities", "input28"],
  });
  app.addSchema({
    $id: "prediction",
    type: "object",
    allOf: [{ $ref: "digit#" }],
    properties: {
      lowConfidence: { type: "boolean" },
      inverted: { type: "boolean" },
      ms: { type: "number" },
    },
    required: ["lowConfidence", "ms"],
  });
  app.addSchema({
    $id: "number",
    type: "object",
    properties: {
      number: { type: "string" },
      digits: { type: "array", items: { $ref: "digit#" } },
      ms: { type: "number" },
    },
    required: ["number", "digits", "ms"],
  });
  const sample = {
    type: "object",
    properties: {
      id: { type: "integer" },
      createdAt: { type: "string" },
      label: { type: "integer" },
      predicted: { type: "integer" },
      confidence: { type: "number" },
      imageType: { type: "string" },
      imageBytes: { type: "integer" },
    },
    required: ["id", "createdAt", "label", "predicted", "confidence"],
  };
  app.addSchema({ $id: "sample", ...sample });
  app.addSchema({
    $id: "samples",
    type: "object",
    properties: { samples: { type: "array", items: { $ref: "sample#" } } },
    required: ["samples"],
  });
  app.addSchema({
    $id: "deleted",
    type: "object",
    properties: { deleted: { type: "integer" } },
    required: ["deleted"],
  });
}

/** Response schemas for a route answering `ok` on success. */
export const replies = (ok: string) => ({ response: { 200: { $ref: `${ok}#` }, "4xx": { $ref: "error#" } } });
