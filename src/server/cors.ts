/**
 * CORS for `--cors "*"` or a comma-separated list of origins: the allow-origin header for an
 * allowed Origin, Retry-After exposed, and preflight answers (OPTIONS) with the methods and headers.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

export function cors(req: IncomingMessage, res: ServerResponse, origins: string[]): void {
  const origin = req.headers.origin;
  if (origins.includes("*")) res.setHeader("access-control-allow-origin", "*");
  else if (origin !== undefined && origins.includes(origin)) res.setHeader("access-control-allow-origin", origin);
  else return;
  res.setHeader("vary", "Origin");
  res.setHeader("access-control-expose-headers", "Retry-After");
  if (req.method === "OPTIONS") {
    res.setHeader("access-control-allow-methods", "GET, POST, OPTIONS");
    res.setHeader("access-control-allow-headers", req.headers["access-control-request-headers"] ?? "authorization, content-type");
    res.setHeader("access-control-max-age", "600");
  }
}
