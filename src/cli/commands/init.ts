/**
 * `orchestra init [NAME] [--yaml]`: a starter flow in the current directory that runs at once,
 * so that the first thing a new user types after installing works.
 *
 * @module
 */

import { join } from "node:path";
import { type Parsed, UsageError } from "../args.ts";
import type { Io } from "../io.ts";
import { renderTable } from "../render.ts";
import { shownPath } from "./config.ts";
import { schemaText } from "./schema.ts";

/** Options of `init`. */
export const INIT_OPTIONS = {
  yaml: { type: "boolean" },
  force: { type: "boolean" },
} as const;

/** The version range a new project's deno.json asks JSR for. */
const LIBRARY = "jsr:@orchestra/orchestra@^0.1.0";

const NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

/** The starter TypeScript flow. */
export function tsStarter(name: string): string {
  return `/**
 * ${name}: a starter flow. Run it, look at its plan, change it:
 *
 *     orchestra run ${name}.ts
 *     orchestra run ${name}.ts -p who=Ada --json
 *     orchestra describe ${name}.ts
 */

import { flow, task, type TaskContext } from "@orchestra/orchestra";

// Tasks are defined at a module's top level, so they can also run in a worker.
const greet = task(
  { name: "greet", retries: 2, timeout: "10s" },
  (who: string, ctx: TaskContext) => {
    ctx.log.info(\`greeting \${who}\`);
    return \`Hello, \${who}!\`;
  },
);

// A worker task gets exactly the permissions it asks for; relative paths are this folder's.
const measure = task(
  { name: "measure", executor: "worker", permissions: { read: ["./${name}.ts"] } },
  async () => (await Deno.readTextFile("./${name}.ts")).split("\\n").length,
);

const shout = task("shout", (text: string, lines: number) => \`\${text.toUpperCase()} (\${lines} lines)\`);

export default flow(
  {
    name: "${name}",
    description: "A starter flow: greet, measure this file, shout",
    params: { who: { type: "string", default: "world", description: "Whom to greet" } },
  },
  (_f, params) => ({ message: shout(greet(params.who), measure()) }),
);
`;
}

/** The starter YAML flow, with the schema line editors read. */
export function yamlStarter(name: string): string {
  return `# yaml-language-server: $schema=./flow.schema.json
# ${name}: a starter flow. Run it with "orchestra run ${name}.yaml" (-p who=Ada to change the
# param), see its plan with "orchestra describe ${name}.yaml". "orchestra schema" prints the
# schema named above, which editors use to complete and check this file.
name: ${name}
description: A starter flow, greet then shout
params:
  who: { type: string, default: world, description: Whom to greet }
tasks:
  greet:
    run: echo Hello, \${{ params.who }} # a shell command; its stdout is the result
    retries: 2
    timeout: 10s
  shout:
    needs: greet
    run: echo \${{ tasks.greet.result }} | tr a-z A-Z # values are shell-quoted
  done:
    needs: shout
    uses: log # a built-in plugin
    with: { message: "\${{ tasks.shout.result }}" }
`;
}

/** The deno.json of a new TypeScript project: the library mapped, worker options on. */
export function projectConfig(): string {
  return JSON.stringify(
    { imports: { "@orchestra/orchestra": LIBRARY }, unstable: ["worker-options"] },
    null,
    2,
  ) + "\n";
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** Runs `orchestra init`. */
export async function initCommand(parsed: Parsed, io: Io): Promise<number> {
  const [name = "flow", extra] = parsed.positionals;
  if (extra !== undefined) throw new UsageError("init", `unexpected argument "${extra}"`);
  if (!NAME.test(name)) {
    throw new UsageError(
      "init",
      `"${name}" is not a flow name: use letters, digits, "-" and "_", starting with a letter ` +
        `(it names the file, ${name.replace(/[^A-Za-z0-9_-]+/g, "_")}.ts)`,
    );
  }
  const yaml = parsed.values.yaml === true;
  const files: [string, string][] = yaml
    ? [[`${name}.yaml`, yamlStarter(name)], ["flow.schema.json", schemaText()]]
    : [[`${name}.ts`, tsStarter(name)]];
  const notes: string[] = [];
  if (!yaml) {
    const configs = ["deno.json", "deno.jsonc"];
    const found = (await Promise.all(configs.map((c) => exists(join(io.cwd, c))))).indexOf(true);
    if (found < 0) files.push(["deno.json", projectConfig()]);
    else {
      const text = await Deno.readTextFile(join(io.cwd, configs[found]));
      if (!text.includes('"@orchestra/orchestra"')) {
        notes.push(
          `note: ${configs[found]} does not map @orchestra/orchestra; for your editor and ` +
            `"deno test", run: deno add ${LIBRARY}`,
        );
      }
      if (!/"unstable"\s*:\s*\[[^\]]*"worker-options"/.test(text)) {
        notes.push(
          `note: add "unstable": ["worker-options"] to ${configs[found]} to run worker tasks ` +
            `with flow.run() from your own code`,
        );
      }
    }
  }
  if (!parsed.values.force) {
    // The schema beside a YAML flow is a generated file: refreshing it loses nothing.
    const kept = [];
    for (const [file] of files) {
      if (file !== "flow.schema.json" && await exists(join(io.cwd, file))) kept.push(file);
    }
    if (kept.length) {
      io.stderr(
        `error: ${kept.join(" and ")} already exist${kept.length === 1 ? "s" : ""} in ` +
          `${io.cwd}; not overwriting. Pick another NAME (orchestra init NAME), or pass --force\n`,
      );
      return 2;
    }
  }
  for (const [file, text] of files) await Deno.writeTextFile(join(io.cwd, file), text);
  const flowFile = files[0][0];
  const next = renderTable([
    [`orchestra run ${flowFile}`, "run it, with a live view of its tasks"],
    [`orchestra run ${flowFile} -p who=Ada`, "with a param"],
    [`orchestra describe ${flowFile}`, "its tasks, dependencies and permissions"],
  ], "  ");
  io.stdout(
    [
      `Wrote ${files.map(([f]) => shownPath(io, join(io.cwd, f), false)).join(", ")}.`,
      ...notes,
      "",
      "Next:",
      next,
      "",
    ].join("\n"),
  );
  return 0;
}
