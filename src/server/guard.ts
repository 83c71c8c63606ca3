/**
 * Who the server answers. A server on 127.0.0.1 is still reachable from any web page the person visits: a
 * foreign page can POST to it (cross-site requests) or, through DNS rebinding, talk to it under its own
 * host name. So only the host names the server is meant to have are answered (421 otherwise), and a request
 * with an Origin that is not the server's own is refused (403) — the page itself is always same-origin.
 */
import type { FastifyInstance } from "fastify";
import { HttpError } from "./errors.js";

export const LOCAL_HOSTS = ["localhost", "127.0.0.1", "[::1]", "::1"] as const;

/** The host name of a Host header ("127.0.0.1:3000" → "127.0.0.1", "[::1]:80" → "[::1]"). */
export function hostName(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith("[")) return h.slice(0, h.indexOf("]") + 1);
  return h.split(":")[0];
}

export function guardHosts(app: FastifyInstance, allowed: readonly string[]): void {
  const names = new Set(allowed.map((h) => h.toLowerCase()));
  const any = names.has("*");
  app.addHook("onRequest", async (req) => {
    const host = req.headers.host ?? "";
    if (!any && !names.has(hostName(host)))
      throw new HttpError(
        421,
        "wrong_host",
        `this server answers to ${[...names].join(", ")}, not "${host}" (start it with --allow-host to add one)`,
      );
    const origin = req.headers.origin;
    if (origin && origin !== "null") {
      const same = URL.canParse(origin) && new URL(origin).host === host;
      if (!same)
        throw new HttpError(403, "foreign_origin", `requests from ${origin} are not accepted (no CORS)`);
    } else if (origin === "null")
      throw new HttpError(403, "foreign_origin", "requests from an opaque origin are not accepted");
  });
}
