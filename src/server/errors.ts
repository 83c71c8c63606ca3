/** Errors as HTTP answers: every failure is a JSON `{error, message}` with a 4xx status, never a stack trace. */
import type { FastifyError, FastifyInstance } from "fastify";
import { ImageError } from "../vision/decode.js";
import { NoInkError } from "../vision/preprocess.js";

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly error: string,
    message: string,
  ) {
    super(message);
  }
}

/** Preprocessing failures as the HTTP errors they are: a picture without ink, or not a picture at all. */
export async function asHttpErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof NoInkError) throw new HttpError(422, "no_ink", e.message);
    if (e instanceof ImageError) throw new HttpError(415, "bad_image", e.message);
    throw e;
  }
}

export function tooLarge(bodyLimit: number): HttpError {
  return new HttpError(413, "too_large", `the upload is larger than ${bodyLimit} bytes`);
}

export function handleErrors(app: FastifyInstance, bodyLimit: number): void {
  app.setErrorHandler((err: FastifyError | HttpError, _req, reply) => {
    if (err instanceof HttpError)
      return reply.status(err.statusCode).send({ error: err.error, message: err.message });
    if (err.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
      const e = tooLarge(bodyLimit);
      return reply.status(e.statusCode).send({ error: e.error, message: e.message });
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) app.log.error(err);
    // A plugin's own error (the rate limiter's) keeps the code it was given.
    const code = (err as { error?: unknown }).error;
    return reply.status(status).send({
      error: typeof code === "string" ? code : (err.code ?? "error"),
      message: status === 500 ? "internal error" : err.message,
    });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.status(404).send({ error: "not_found", message: `no route ${req.method} ${req.url}` }),
  );
}
