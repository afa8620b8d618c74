/**
 * `deno`: runs a TypeScript module or snippet in the task's worker, with exactly the
 * permissions the task declares for it in `permissions`. An exported function is called with
 * `args` and a context (upstream inputs, logger, signal, secrets); any other exported value is
 * the result.
 *
 * @module
 */

import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { z } from "zod";
import { PERMISSION_NAMES, type PermissionSet } from "../src/core/permissions.ts";
import {
  definePlugin,
  type PluginContext,
  type PluginDefinition,
  type WithDefaults,
} from "../src/plugins/contract.ts";

const permissionValue = z.union([z.boolean(), z.array(z.string())]);

const permissions = z.strictObject(
  Object.fromEntries(
    PERMISSION_NAMES.map((n) => [n, permissionValue.optional().describe(`--allow-${n}`)]),
  ) as Record<typeof PERMISSION_NAMES[number], z.ZodOptional<typeof permissionValue>>,
);

/** The params of the `deno` plugin, defaults applied. */
export interface DenoParams {
  /** The module to run: a path or a URL. */
  module?: string;
  /** TypeScript source to run instead. */
  code?: string;
  /** The export to run or return. */
  export: string;
  /** Arguments of the exported function. */
  args: unknown[];
  /** What the code may do, in Deno's terms. */
  permissions: PermissionSet;
}

// A value is data, never code: a flow refuses `${{ }}` in these params (it would make a
// value into source text, or let a value choose which code runs) and says what to do instead.
const CODE_HINT = "pass the value in `args:` (e.g. args: [${{ params.name }}]) and read it as " +
  "the exported function's argument";
const MODULE_HINT = "name the module in the file: a value may not choose which code runs (make " +
  "one task per module, with `if:`)";

/** The params of the `deno` plugin as a task passes them (those with defaults optional). */
export type DenoInput = WithDefaults<DenoParams, "export" | "args" | "permissions">;

const params: z.ZodType<DenoParams, DenoInput> = z.strictObject({
  module: z.string().optional().meta({ "x-orchestra-code": MODULE_HINT }).describe(
    "The module to run: a path relative to the flow file's directory, or a URL " +
      "(`file:`, `https:`, `npm:`, `jsr:`); it may not hold ${{ }}",
  ),
  code: z.string().optional().meta({ "x-orchestra-code": CODE_HINT }).describe(
    "TypeScript source to run instead of a module; it may import only absolute specifiers, " +
      "and may not hold ${{ }}: values go in `args`",
  ),
  export: z.string().default("default").describe("The export to run or return"),
  args: z.array(z.unknown()).default([]).describe(
    "Arguments of the exported function, before the context",
  ),
  permissions: permissions.default({}).describe(
    "What the code may do, in Deno's terms (`read`, `write`, `net`, `env`, `run`, …); paths " +
      "are relative to the flow file's directory",
  ),
}).superRefine((p, ctx) => {
  if ((p.module === undefined) === (p.code === undefined)) {
    ctx.addIssue({ code: "custom", path: [], message: "give either `module` or `code`" });
  }
});

// A URL or a package specifier, not a path (a drive letter is not a scheme).
const SPECIFIER = /^[a-z][a-z0-9+.-]+:/i;

function resolvePath(path: string, base: string): string {
  return resolve(base, path);
}

function known(value: unknown, what: string): void {
  if (typeof value === "string" && value.includes("${{")) {
    throw new TypeError(`they depend on ${what} "${value}", known only when the task runs`);
  }
}

/** The URL to import for `module`, resolved against the flow file's directory. */
function moduleUrl(module: string, dir: string): string {
  return SPECIFIER.test(module) ? module : pathToFileURL(resolvePath(module, dir)).href;
}

function denoPermissions(
  p: { module?: unknown; permissions?: unknown },
  dir: string,
): PermissionSet {
  known(p.module, "the module");
  const out: Record<string, boolean | string[]> = {};
  const given = (p.permissions ?? {}) as Record<string, unknown>;
  for (const name of PERMISSION_NAMES) {
    const v = given[name];
    if (v === undefined || v === false) continue;
    if (v === true) {
      out[name] = true;
      continue;
    }
    if (!Array.isArray(v)) throw new TypeError(`permissions.${name} must be true or a list`);
    const values = v.map(String);
    for (const x of values) known(x, `permissions.${name}`);
    // Paths are the flow's: relative ones are relative to its directory, as everywhere else.
    const paths = name === "read" || name === "write" || name === "ffi";
    out[name] = paths ? values.map((x) => resolvePath(x, dir)) : values;
  }
  const add = (name: "read" | "import", value: string) => {
    if (out[name] !== true) out[name] = [...new Set([...(out[name] || []) as string[], value])];
  };
  if (typeof p.module === "string") {
    const url = new URL(moduleUrl(p.module, dir));
    // A worker's dynamic import of a local module is a read of that file.
    if (url.protocol === "file:") add("read", fileURLToPath(url));
    // A remote module is imported from its host.
    if (url.protocol === "https:" || url.protocol === "http:") add("import", url.host);
  }
  return out as PermissionSet;
}

function utf8Base64(text: string): string {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

async function load(p: DenoParams, ctx: PluginContext): Promise<Record<string, unknown>> {
  // A module is evaluated once per URL. Each attempt at a snippet gets a URL of its own, so a
  // retry evaluates it again (a failed top-level await is not cached into every retry).
  const attempt = `\n// ${JSON.stringify([ctx.runId, ctx.taskId, ctx.attempt])}\n`;
  const url = p.code !== undefined
    ? `data:application/typescript;base64,${utf8Base64(p.code + attempt)}`
    : moduleUrl(p.module!, ctx.dir);
  const what = p.code !== undefined ? "the code" : `module "${p.module}"`;
  try {
    return await import(url);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw new TypeError(`Cannot load ${what}: ${message}`, { cause: e });
  }
}

/** What an exported function receives after its `args`. */
export type DenoContext = PluginContext;

/** The `deno` plugin. */
const deno: PluginDefinition<DenoParams, DenoInput, unknown> = definePlugin<
  DenoParams,
  DenoInput,
  unknown
>({
  name: "deno",
  version: "1.0.0",
  description: "Runs a TypeScript module or snippet with the permissions given to it.",
  params,
  permissions: (p, env) => denoPermissions(p, env.dir),
  result: "what the exported function returns (awaited), or the exported value",
  docs: `Runs TypeScript inside the task's worker: a \`module\` (a path relative to the flow
file's directory, or a \`file:\`, \`https:\`, \`npm:\` or \`jsr:\` specifier) or a snippet in
\`code\`. The plugin imports it and looks at \`export\` (default: the default export):

- a function is called as \`fn(...args, ctx)\` and its result (awaited) is the task's result.
  \`args\` is where values go: \`args: [\${{ params.region }}]\` hands the value to the
  function as data. \`ctx\` holds \`inputs\` (the results of the tasks this one waited for, by id), \`log\`,
  \`signal\` (aborted on cancellation and timeout), \`secret(name)\`, \`sleep(ms)\`, \`runId\`,
  \`taskId\`, \`attempt\` and \`dir\` (the flow file's directory);
- any other value is the result as it is.

The result must be a JSON value. \`code\` and \`module\` may not hold \`\${{ }}\` (a
flow that tries is refused when it is validated): a value would become source text, or choose
which code runs. A snippet is a module of its own: it may \`export default\`
a function or a value, and import absolute specifiers (\`npm:\`, \`jsr:\`, \`https:\`,
\`file:\`, \`node:\`) but not relative paths; it is evaluated afresh for every attempt. A
module is evaluated once per worker, and workers stay warm between tasks: put work that must
happen on every run in the exported function, not at the module's top level.

**Permissions.** The code runs with what \`permissions\` gives it, in Deno's vocabulary
(\`read\`, \`write\`, \`net\`, \`env\`, \`run\`, \`ffi\`, \`sys\`, \`import\`; \`true\` or a
list, like the \`--allow-*\` flags), and nothing else: relative paths in \`read\`, \`write\`
and \`ffi\` are relative to the flow file's directory. Importing the module adds what that
takes: \`read\` of a local module's file (only that file: a module that imports others next
to it needs \`read\` of them too, or of their directory), \`import\` of a remote module's
host. The flow's ceiling and the local policy still apply.

**Errors.** A module that cannot be loaded (not found, a syntax error) fails with its
location; an export that is missing fails with the exports there are; an error thrown by the
code fails the task with its message, and a missing permission with Deno's \`NotCapable\`.`,
  example: `total:
  uses: deno
  needs: fetch
  with:
    code: |
      export default (ctx) => ctx.inputs.fetch.body.items.length;
summarize:
  uses: deno
  with:
    module: scripts/summarize.ts
    args: [data/sales.csv]
    permissions: { read: [data] }
`,
  run: async (p, ctx) => {
    const mod = await load(p, ctx);
    if (!(p.export in mod)) {
      const names = Object.keys(mod);
      throw new TypeError(
        `${p.code !== undefined ? "The code" : `Module "${p.module}"`} has no export ` +
          `"${p.export}" (${
            names.length ? `its exports: ${names.join(", ")}` : "it exports nothing"
          })`,
      );
    }
    const value = mod[p.export];
    const result = typeof value === "function"
      ? await (value as (...a: unknown[]) => unknown)(...p.args, ctx)
      : await value;
    return result === undefined ? null : result;
  },
});

export default deno;
