/** A file server on 127.0.0.1 for the download paths: each path its bytes, anything else 404. */
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface FileServer {
  base: string;
  /** Requests served so far. */
  gets(): number;
  close(): Promise<void>;
}

export async function serveFiles(files: Record<string, Uint8Array | string>): Promise<FileServer> {
  let gets = 0;
  const server = http.createServer((req, res) => {
    gets++;
    const body = files[req.url ?? ""];
    if (body !== undefined) res.end(body);
    else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    gets: () => gets,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
