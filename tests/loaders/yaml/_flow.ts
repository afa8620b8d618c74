// Helpers for the YAML tests of this folder: a flow file in a temporary directory, run or
// validated through the CLI entry point (`main(args, io)`), as a user would.
import { main } from "../../../src/cli/main.ts";
import type { RunRecord, TaskRecord } from "../../../src/engine/types.ts";
import { fakeIo } from "../../cli/_io.ts";

/** What a CLI call printed. */
export interface CliResult {
  /** The exit code. */
  code: number;
  /** Standard output. */
  out: string;
  /** Standard error. */
  err: string;
  /** The directory of the flow. */
  dir: string;
}

/** Writes `files` (the flow is `flow.yaml`) into a new temporary directory. */
export async function project(files: Record<string, string>): Promise<string> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "orchestra_yaml_" }));
  for (const [name, text] of Object.entries(files)) {
    const path = `${dir}/${name}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(path, text);
  }
  return dir;
}

/** Runs `orchestra COMMAND flow.yaml ARGS` on the flow `text`, in a directory of its own. */
export async function orchestra(
  command: string,
  text: string,
  args: string[] = [],
  files: Record<string, string> = {},
): Promise<CliResult> {
  const dir = await project({ "flow.yaml": text, ...files });
  try {
    const io = fakeIo({ cwd: dir });
    io.env = (name) =>
      ["PATH", "HOME"].includes(name) ? Deno.env.get(name) : name === "NO_COLOR" ? "1" : undefined;
    const state = command === "run" ? ["--state-dir", `${dir}/.state`, "-q"] : [];
    const code = await main([command, "flow.yaml", ...state, ...args], io);
    return { code, out: io.out, err: io.err, dir };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs the flow with `--json`: the exit code, the record and its tasks by id. */
export async function runYaml(
  text: string,
  args: string[] = [],
  files: Record<string, string> = {},
): Promise<{ code: number; err: string; record: RunRecord; tasks: Record<string, TaskRecord> }> {
  const r = await orchestra("run", text, ["--json", ...args], files);
  if (!r.out) throw new Error(`no record (exit ${r.code}): ${r.err}`);
  const record = JSON.parse(r.out) as RunRecord;
  return {
    code: r.code,
    err: r.err,
    record,
    tasks: Object.fromEntries(record.tasks.map((t) => [t.id, t])),
  };
}

/** The problems `validate` reports, one line each (`flow.yaml:L:C: message`), and hints. */
export async function problems(text: string): Promise<string> {
  const r = await orchestra("validate", text);
  if (r.code === 0) throw new Error(`the flow is valid: ${r.out}`);
  return r.err.replaceAll(/\S*flow\.yaml:/g, "flow.yaml:");
}
