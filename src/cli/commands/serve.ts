/**
 * `orchestra serve [DIR|FILE…]`: the server (flows, schedules, the HTTP API, webhooks,
 * metrics), and `orchestra serve token add NAME --role ROLE`, which prints a new API token once
 * and writes its hash to the tokens file.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { resolve } from "node:path";
import { errorMessage } from "../../core/errors.ts";
import type { Settings } from "../../config/settings.ts";
import { findPolicyFile } from "../../permissions/policy_file.ts";
import { parseDotenv } from "../../permissions/secrets.ts";
import { ServeServer } from "../../server/server.ts";
import {
  addToken,
  readTokensFile,
  type Role,
  ROLES,
  type TokensFile,
  TokensFileError,
} from "../../server/tokens.ts";
import type { Store } from "../../store/store.ts";
import { type Parsed, UsageError } from "../args.ts";
import type { Io } from "../io.ts";
import { type LogFormat, setupLogging } from "../logging.ts";
import { commandStore } from "../open_store.ts";
import { commandSettings, SETTINGS_OPTIONS } from "./config.ts";
import { parseDuration } from "../../core/duration.ts";
import type { SchedulerClock } from "../../server/scheduler.ts";

/** Options of `serve`. */
export const SERVE_OPTIONS = {
  ...SETTINGS_OPTIONS,
  host: { type: "string" },
  port: { type: "string" },
  tokens: { type: "string" },
  grace: { type: "string" },
  name: { type: "string" },
  role: { type: "string" },
} as const;

/** The flags every Orchestra process runs under (see deno.json's `orchestra` task). */
const DENO_FLAGS = ["run", "-A", "--no-prompt", "--unstable-worker-options"];

/** Whether `host` is a loopback address (or name). */
export function isLoopback(host: string): boolean {
  return /^(localhost|127(\.\d{1,3}){3}|::1|\[::1\])$/i.test(host);
}

/** How a runner of a folder is started: this program, `serve-runner`, the same settings. */
export function runnerCommand(
  settings: Settings,
  policyFile: string | undefined,
): (folder: string) => { cmd: string; args: string[]; env: Record<string, string> } {
  const main = new URL("../../../main.ts", import.meta.url);
  const viaDeno = /^deno(\.exe)?$/i.test(Deno.execPath().split(/[\\/]/).pop() ?? "");
  const flags = [
    "--state-dir",
    resolve(settings.stateDir),
    "--log-level",
    settings.logLevel,
    "--workers",
    String(settings.workers),
    "--executor",
    settings.executor,
    "--durability",
    settings.durability,
    ...(settings.concurrency !== undefined ? ["--concurrency", String(settings.concurrency)] : []),
    "--max-output",
    String(settings.maxOutput),
    ...(policyFile ? ["--policy-file", policyFile] : []),
    ...(settings.secretsFile ? ["--secrets-file", resolve(settings.secretsFile)] : []),
    ...settings.pluginDirs.flatMap((d) => ["--plugin-dir", resolve(d)]),
  ];
  return (folder) => ({
    cmd: Deno.execPath(),
    args: viaDeno
      ? [
        ...DENO_FLAGS,
        main.protocol === "file:" ? main.pathname : main.href,
        "serve-runner",
        ...flags,
      ]
      : ["serve-runner", ...flags],
    // The store URL may hold a password: the environment, not the command line. INIT_CWD
    // would make the runner resolve paths against the server's directory, not its own.
    env: { INIT_CWD: folder, ...(settings.store ? { ORCHESTRA_STORE: settings.store } : {}) },
  });
}

/** What {@linkcode createServer} needs besides the settings. */
export interface CreateServerOptions {
  /** Files and folders to serve, absolute. */
  roots: string[];
  /** The address. @default "127.0.0.1" */
  host?: string;
  /** The port. @default 8080 */
  port?: number;
  /** The tokens file's contents. */
  tokens?: TokensFile;
  /** This server's name in the store. @default "HOSTNAME:PORT" */
  name?: string;
  /** The clock of the schedules (tests). */
  clock?: SchedulerClock;
  /** How long the lease lasts without renewal, in ms (tests). */
  leaseMs?: number;
  /** Whether files are watched. @default true */
  watch?: boolean;
}

/**
 * The server for `settings`, not started: its store opened, its runners' command line, its
 * secrets read, its log through LogTape. A string says why it cannot be made.
 */
export async function createServer(
  settings: Settings,
  options: CreateServerOptions,
  io: Io,
  store?: Store,
): Promise<ServeServer | string> {
  let secrets: Record<string, string> = {};
  if (settings.secretsFile) {
    try {
      secrets = parseDotenv(await Deno.readTextFile(settings.secretsFile), settings.secretsFile);
    } catch (e) {
      return `cannot read the secrets file: ${errorMessage(e)}`;
    }
  }
  const policyFile = settings.policyFile
    ? resolve(io.cwd, settings.policyFile)
    : await findPolicyFile(io.cwd);
  let opened = store;
  if (!opened) {
    let err = "";
    const s = await commandStore(settings, { ...io, stderr: (t) => void (err += t) });
    if (typeof s === "number") return err.replace(/^error: /, "").trim();
    opened = s;
  }
  const logger = getLogger(["orchestra", "serve"]);
  const port = options.port ?? 8080;
  return new ServeServer({
    roots: options.roots,
    hostname: options.host ?? "127.0.0.1",
    port,
    store: opened,
    runner: runnerCommand(settings, policyFile),
    serverId: options.name ?? `${Deno.hostname()}:${port}`,
    tokens: options.tokens?.tokens ?? [],
    webhooks: options.tokens?.webhooks ?? {},
    secret: (name) => secrets[name] ?? io.env(name),
    log: (level, message, props = {}) =>
      logger[level === "warning" ? "warn" : level](message, props),
    output: (line) => io.stderr(line + "\n"),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.leaseMs ? { leaseMs: options.leaseMs } : {}),
    ...(options.watch === false ? { watch: false } : {}),
  });
}

async function tokenAdd(parsed: Parsed, io: Io, settings: Settings): Promise<number> {
  const name = parsed.positionals[2];
  if (!name) {
    throw new UsageError(
      "serve",
      "missing NAME: orchestra serve token add NAME --role viewer|operator",
    );
  }
  const role = parsed.values.role as string | undefined;
  if (!ROLES.includes(role as Role)) {
    throw new UsageError(
      "serve",
      `--role must be viewer or operator${role ? `, got "${role}"` : ""}`,
    );
  }
  // The tokensFile setting (a config file's path means its folder), else one here.
  const file = settings.tokensFile ?? resolve(io.cwd, "orchestra.tokens.yaml");
  try {
    const token = await addToken(file, name, role as Role);
    io.stdout(`${token}\n`);
    io.stderr(
      `Token "${name}" (${role}) added to ${file}; it is shown only now: keep it somewhere safe.\n`,
    );
    return 0;
  } catch (e) {
    if (!(e instanceof TokensFileError)) throw e;
    io.stderr(`error: ${e.message}\n`);
    return 2;
  }
}

/** Runs `orchestra serve`: until SIGTERM or Ctrl-C, which drain it. */
export async function serveCommand(parsed: Parsed, io: Io): Promise<number> {
  const settings = await commandSettings(parsed, io);
  if (typeof settings === "number") return settings;
  if (parsed.positionals[0] === "token") {
    if (parsed.positionals[1] !== "add") {
      throw new UsageError("serve", "orchestra serve token add NAME --role viewer|operator");
    }
    return await tokenAdd(parsed, io, settings);
  }
  const v = parsed.values;
  const host = (v.host as string | undefined) ?? "127.0.0.1";
  const port = v.port === undefined ? 8080 : Number(v.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError("serve", `--port must be a port number (0–65535), got "${v.port}"`);
  }
  let grace = 30_000;
  try {
    if (v.grace !== undefined) grace = parseDuration(v.grace as string);
  } catch (e) {
    throw new UsageError("serve", `--grace: ${errorMessage(e)}`);
  }
  const file = settings.tokensFile;
  let tokens: TokensFile | undefined;
  try {
    if (file) tokens = await readTokensFile(file);
  } catch (e) {
    if (!(e instanceof TokensFileError)) throw e;
    io.stderr(`error: ${e.message}\n`);
    return 2;
  }
  if (!isLoopback(host) && !tokens?.tokens.length) {
    io.stderr(
      `error: orchestra serve refuses to listen on ${host} without tokens: anyone who can reach ` +
        `it could run flows. Make a token (orchestra serve token add NAME --role operator) and ` +
        `pass --tokens FILE, or listen on 127.0.0.1\n`,
    );
    return 2;
  }
  const roots = (parsed.positionals.length ? parsed.positionals : ["."]).map((p) =>
    resolve(io.cwd, p)
  );
  for (const root of roots) {
    try {
      await Deno.stat(root);
    } catch {
      io.stderr(`error: cannot serve "${root}": no such file or folder\n`);
      return 2;
    }
  }
  await setupLogging({
    level: settings.logLevel as "info",
    format: settings.logFormat as LogFormat,
    write: io.stderr,
  });
  const server = await createServer(settings, {
    roots,
    host,
    port,
    ...(tokens ? { tokens } : {}),
    ...(v.name ? { name: v.name as string } : {}),
  }, io);
  if (typeof server === "string") {
    io.stderr(`error: ${server}\n`);
    return 2;
  }
  return await serveUntilStopped(server, io, grace);
}

async function serveUntilStopped(server: ServeServer, io: Io, grace: number): Promise<number> {
  const stopped = Promise.withResolvers<string>();
  const signals: Deno.Signal[] = ["SIGTERM", "SIGINT"];
  const handlers = signals.map((s) => {
    const h = () => stopped.resolve(s);
    Deno.addSignalListener(s, h);
    return [s, h] as const;
  });
  try {
    await server.start();
  } catch (e) {
    io.stderr(`error: ${errorMessage(e)}\n`);
    await server.stop(0).catch(() => {});
    return 2;
  }
  const { hostname, port } = server.addr;
  const flows = server.catalog.entries;
  const shown = hostname.includes(":") ? `[${hostname}]` : hostname;
  io.stdout(`http://${shown}:${port}\n`);
  io.stderr(
    `orchestra serve: listening on http://${shown}:${port} with ${flows.length} flows ` +
      `(${flows.filter((f) => !f.valid).length} invalid) and ${server.scheduler.list().length} ` +
      `schedules\n`,
  );
  const signal = await stopped.promise;
  for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
  io.stderr(
    `orchestra serve: ${signal}: draining (no new runs; ${server.runs.running} running get ${
      grace / 1000
    } s)\n`,
  );
  const interrupted = await server.stop(grace);
  io.stderr(
    interrupted.length
      ? `orchestra serve: stopped; ${interrupted.length} runs interrupted, resumed at the next start: ${
        interrupted.join(", ")
      }\n`
      : "orchestra serve: stopped\n",
  );
  return 0;
}
