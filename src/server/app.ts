/**
 * The web app's server (fastify): the page, the model for in-browser inference, and a prediction API under
 * /api. Routes are plugins sharing one Predictor (`app.predictor`); response schemas are declared once
 * (schemas.ts). Bad input always gets a 4xx JSON error with a clear message — never a 500 or a stack trace.
 */
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import fastifyMultipart from "@fastify/multipart";
import fastifyStatic from "@fastify/static";
import fastifyRateLimit from "@fastify/rate-limit";
import Fastify, { type FastifyInstance } from "fastify";
import type { Predictor } from "../engine/index.js";
import type { LoadedModel } from "../saved/saved-model.js";
import { handleErrors } from "./errors.js";
import { guardHosts, LOCAL_HOSTS } from "./guard.js";
import { securityHeaders } from "./headers.js";
import { insideRoute, modelFileRoute, modelInfoRoutes, replayRoute, type Replay } from "./routes/model.js";
import { predictRoutes } from "./routes/predict.js";
import { samplesRoutes } from "./routes/samples.js";
import type { SampleStore } from "../samples/store.js";
import { unsureThreshold } from "../unsure/calibrate.js";
import { addSchemas } from "./schemas.js";

declare module "fastify" {
  interface FastifyInstance {
    predictor: Predictor;
  }
}

export interface AppOptions {
  model: LoadedModel;
  /** Directory of the built page (index.html, app.js). */
  webDir: string;
  /** Where the digits people opt in to give are kept (none: the page offers no keeping). */
  samples?: SampleStore;
  /** MNIST training digits the page may mix into fine-tuning (none: it tunes on the person's digits alone). */
  replay?: () => Promise<Replay>;
  /** Host names the server answers to (default: localhost, 127.0.0.1, [::1]); others get 421. */
  allowedHosts?: readonly string[];
  /** Behind a proxy or load balancer: take the client's address from X-Forwarded-For (rate limits, logs). */
  trustProxy?: boolean;
  /** How long a client may take to send its headers, in ms (default 10 s). */
  headersTimeout?: number;
  /** Requests a minute one client may make (default 600; 0: no limit, for benchmarks behind a proxy). */
  rateLimit?: number;
  /** Largest upload accepted, in bytes. */
  bodyLimit?: number;
  /** Structured logs (pino): false, or its options. */
  logger?: boolean | { level: string };
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

function ortWebDir(): string {
  const require = createRequire(import.meta.url);
  // The package exports no package.json; its wasm file is exported, and lives in dist/.
  return path.dirname(require.resolve("onnxruntime-web/ort-wasm-simd-threaded.wasm"));
}

/**
 * The page's content-security policy: its own scripts and styles only, WebAssembly compiled by onnxruntime-web,
 * its own workers, data: URLs for the 28×28 PNGs it reads back, blob: for the tuned model's download.
 */
export const CONTENT_SECURITY_POLICY = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'", "'wasm-unsafe-eval'"],
  workerSrc: ["'self'"],
  connectSrc: ["'self'", "data:"],
  imgSrc: ["'self'", "data:", "blob:"],
  styleSrc: ["'self'"],
  objectSrc: ["'none'"],
  baseUri: ["'none'"],
  frameAncestors: ["'none'"],
  formAction: ["'none'"],
};

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  if (!fs.existsSync(path.join(options.webDir, "index.html")))
    throw new Error(`${options.webDir}: the page is not built (run npm run build)`);
  const bodyLimit = options.bodyLimit ?? 8 * 1024 * 1024;
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit,
    trustProxy: options.trustProxy ?? false,
    // Slow clients do not hold the server: whole requests within 30 s, headers within 10 s, idle
    // keep-alive sockets closed after 5 s.
    requestTimeout: 30_000,
    connectionTimeout: 60_000,
    keepAliveTimeout: 5_000,
    // Node checks these only every connectionsCheckingInterval (30 s by default): every second instead.
    http: { headersTimeout: options.headersTimeout ?? 10_000, connectionsCheckingInterval: 1_000 },
    // A request id in every log line (fastify logs each request and response; no body is ever logged).
    requestIdHeader: false,
  });
  guardHosts(app, options.allowedHosts ?? LOCAL_HOSTS);
  securityHeaders(app, {
    contentSecurityPolicy: { directives: CONTENT_SECURITY_POLICY },
    crossOriginEmbedderPolicy: false,
  });
  if (options.rateLimit !== 0)
    await app.register(fastifyRateLimit, {
      max: options.rateLimit ?? 600,
      timeWindow: "1 minute",
      errorResponseBuilder: (_req, ctx) => ({
        statusCode: 429,
        error: "rate_limited",
        message: `more than ${ctx.max} requests a minute from this client: try again in ${ctx.after}`,
      }),
    });
  // One image a request: one thread each (a pool's hand-offs cost more than they win at batch 1, and the
  // server's concurrency, or its workers, keep the cores busy).
  const predictor = await options.model.predictor({ threads: 1 });
  // Below this top probability an answer is flagged as unsure: the model's calibrated threshold, or 60%.
  const lowConfidence = unsureThreshold(options.model.metadata);
  app.decorate("predictor", predictor);
  app.addHook("onClose", async () => predictor.release());
  handleErrors(app, bodyLimit);
  addSchemas(app, predictor.classes);

  app.addContentTypeParser(IMAGE_TYPES, { parseAs: "buffer" }, (_req, body, done) => done(null, body));
  await app.register(fastifyMultipart, { limits: { fileSize: bodyLimit, files: 1, fields: 5 } });
  await app.register(predictRoutes, { prefix: "/api", bodyLimit, lowConfidence });
  if (options.samples)
    await app.register(samplesRoutes, { prefix: "/api", store: options.samples, bodyLimit });
  await app.register(modelInfoRoutes, {
    prefix: "/api",
    model: options.model,
    lowConfidence,
    samples: options.samples !== undefined,
  });
  await app.register(modelFileRoute, { model: options.model });
  await app.register(insideRoute, { model: options.model });
  if (options.replay) await app.register(replayRoute, { prefix: "/api", replay: options.replay });
  app.get("/healthz", async () => ({ ok: true }));

  // onnxruntime-web's WebAssembly files, served locally so the page needs no network.
  await app.register(fastifyStatic, { root: ortWebDir(), prefix: "/ort/", decorateReply: false });
  await app.register(fastifyStatic, { root: options.webDir, prefix: "/" });
  return app;
}
