/**
 * Security headers (helmet's): a content-security policy, no sniffing, no framing, HSTS and the rest. They
 * depend on no request, so helmet works them out once here and every reply gets the same list — where
 * @fastify/helmet runs helmet's whole middleware, parsing the policy again, on each request (~3% of a
 * prediction's CPU under load).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FastifyInstance } from "fastify";
import helmet, { type HelmetOptions } from "helmet";

/** The headers helmet sets for these options, name → value (and the ones it removes, as undefined). */
export function helmetHeaders(options: Readonly<HelmetOptions>): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  const response = {
    setHeader: (name: string, value: string | number) => void (headers[name.toLowerCase()] = String(value)),
    removeHeader: (name: string) => void (headers[name.toLowerCase()] = undefined),
  };
  let error: unknown;
  helmet(options)({} as IncomingMessage, response as unknown as ServerResponse, (e?: unknown) => (error = e));
  if (error) throw error;
  return headers;
}

export function securityHeaders(app: FastifyInstance, options: Readonly<HelmetOptions>): void {
  const headers = helmetHeaders(options);
  const set = Object.entries(headers).filter((e): e is [string, string] => e[1] !== undefined);
  const removed = Object.keys(headers).filter((name) => headers[name] === undefined);
  app.addHook("onRequest", (_req, reply, done) => {
    for (const [name, value] of set) reply.raw.setHeader(name, value);
    for (const name of removed) reply.raw.removeHeader(name);
    done();
  });
}
