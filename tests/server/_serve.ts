/** Starting a real `orchestra serve` (its runners are real processes) on 127.0.0.1 for tests. */

import { createServer } from "../../src/cli/commands/serve.ts";
import { defaultSettings, type Settings } from "../../src/config/settings.ts";
import type { ServeServer } from "../../src/server/server.ts";
import type { TokensFile } from "../../src/server/tokens.ts";
import { fakeIo } from "../cli/_io.ts";

/** A server and where to reach it. */
export interface TestServer {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** The server. */
  server: ServeServer;
  /** The flows' folder. */
  dir: string;
  /** The state dir. */
  stateDir: string;
  /** Stops it (drains with `graceMs`), and removes its folders unless `keep`. */
  stop(graceMs?: number, keep?: boolean): Promise<string[]>;
}

/** Writes `files` into a new folder and serves it with a new state dir (or `stateDir`). */
export async function serveFiles(
  files: Record<string, string>,
  options: {
    tokens?: TokensFile;
    env?: Record<string, string>;
    stateDir?: string;
    dir?: string;
    settings?: Partial<Settings>;
    leaseMs?: number;
    watch?: boolean;
  } = {},
): Promise<TestServer> {
  const dir = options.dir ?? await Deno.makeTempDir({ prefix: "orchestra_serve_flows_" });
  for (const [name, text] of Object.entries(files)) {
    await Deno.mkdir(`${dir}/${name}`.replace(/\/[^/]*$/, ""), { recursive: true });
    await Deno.writeTextFile(`${dir}/${name}`, text);
  }
  const stateDir = options.stateDir ?? await Deno.makeTempDir({ prefix: "orchestra_serve_state_" });
  const io = fakeIo({ cwd: dir });
  io.env = (n) => options.env?.[n] ?? (["PATH", "HOME"].includes(n) ? Deno.env.get(n) : undefined);
  const settings: Settings = {
    ...defaultSettings(),
    stateDir,
    durability: "normal",
    ...options.settings,
  };
  const server = await createServer(settings, {
    roots: [dir],
    host: "127.0.0.1",
    port: 0,
    name: "test-server",
    leaseMs: options.leaseMs ?? 1000,
    ...(options.tokens ? { tokens: options.tokens } : {}),
    ...(options.watch === false ? { watch: false } : {}),
  }, io);
  if (typeof server === "string") throw new Error(server);
  await server.start();
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    server,
    dir,
    stateDir,
    async stop(graceMs = 1000, keep = false) {
      const interrupted = await server.stop(graceMs);
      if (!keep) {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
        await Deno.remove(stateDir, { recursive: true }).catch(() => {});
      }
      return interrupted;
    },
  };
}

/** A JSON request; `csrf` adds the header that state-changing requests need without tokens. */
export async function call(
  url: string,
  method: "GET" | "POST",
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string; json: Record<string, unknown> }> {
  const r = await fetch(url, {
    method,
    headers: {
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...(method === "POST" ? { "x-orchestra-request": "1" } : {}),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await r.text();
  return {
    status: r.status,
    type: r.headers.get("content-type") ?? "",
    json: text ? JSON.parse(text) : {},
  };
}

/** Waits (bounded) until the run has ended; returns its document. */
export async function waitRun(
  url: string,
  runId: string,
  timeoutMs = 20_000,
): Promise<Record<string, unknown>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const { json } = await call(`${url}/api/v1/runs/${runId}`, "GET");
    if (json.status !== "running" && json.status !== undefined) return json;
    if (Date.now() > until) {
      throw new Error(`run ${runId} did not end in ${timeoutMs} ms: ${JSON.stringify(json)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Reads an SSE response until it ends: each event's id, type and data. */
export async function readSse(
  r: Response,
): Promise<{ id?: string; event: string; data: unknown }[]> {
  const text = await r.text();
  return text.split("\n\n").filter((b) => b.trim()).map((block) => {
    const out: { id?: string; event: string; data: unknown } = { event: "message", data: null };
    for (const line of block.split("\n")) {
      const [k, ...rest] = line.split(": ");
      const v = rest.join(": ");
      if (k === "id") out.id = v;
      else if (k === "event") out.event = v;
      else if (k === "data") out.data = JSON.parse(v);
    }
    return out;
  });
}
