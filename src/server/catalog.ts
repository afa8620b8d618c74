/**
 * The flows `orchestra serve` serves: every flow file under the paths it was given (TS and
 * YAML), read by the runner of the file's folder, watched, and read again when it changes. A
 * flow that fails validation is listed with its problems and is not run.
 *
 * @module
 */

import { isError, type ValidationIssue } from "../core/errors.ts";
import { checkSchedules, type Schedule } from "../core/schedule.ts";
import type { FlowInfo } from "./runner_protocol.ts";

/** A flow the server knows. */
export interface CatalogEntry extends FlowInfo {
  /** The folder its runner works in. */
  folder: string;
  /** Whether it may run (no error among its issues). */
  valid: boolean;
  /** Its checked schedules (none while it is invalid). */
  schedules: Schedule[];
}

/** What the catalog needs from the server. */
export interface CatalogOptions {
  /** The files and folders given on the command line, absolute. */
  roots: string[];
  /** The flows of a file (asked of its folder's runner). */
  describe(file: string, folder: string): Promise<FlowInfo[]>;
  /** A TS module under `folder` changed: its runners must load it anew. */
  retire(inside: (folder: string) => boolean): void;
  /** Called after each (re)load with the flows now known. */
  onChange?(entries: readonly CatalogEntry[]): void;
  /** Problems worth a log line (a flow that became invalid). */
  warn?(message: string, props: Record<string, unknown>): void;
  /** How long changes gather before a reload, in ms. @default 150 */
  debounceMs?: number;
}

const SKIP_DIRS = new Set(["node_modules", "plugins"]);
const NOT_FLOWS = /^(orchestra|orchestra\.policy|deno)\.(ya?ml|json)$|\.policy\.ya?ml$/;

/** Whether a file can hold a flow (by its name). */
export function flowFileName(name: string): boolean {
  if (name.startsWith("_") || name.startsWith(".")) return false;
  if (/\.ya?ml$/i.test(name)) return !NOT_FLOWS.test(name);
  return /\.ts$/.test(name) && !/(_test|\.test|\.d)\.ts$/.test(name);
}

/** The flow files under `root` (a file or a folder), sorted. */
export async function flowFiles(root: string): Promise<string[]> {
  const info = await Deno.stat(root);
  if (info.isFile) return [root];
  const out: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory && !e.name.startsWith(".") && !SKIP_DIRS.has(e.name)) await walk(path);
      else if (e.isFile && flowFileName(e.name) && await looksLikeFlow(path)) out.push(path);
    }
  };
  await walk(root.replace(/\/+$/, ""));
  return out.sort();
}

/** A YAML file without `tasks:`, `jobs:` or `workflow:` is included by others, not a flow. */
async function looksLikeFlow(path: string): Promise<boolean> {
  if (!/\.ya?ml$/i.test(path)) return true;
  const text = await Deno.readTextFile(path).catch(() => "");
  return /^(tasks|jobs|workflow):/m.test(text);
}

/** Whether `path` is `root` or inside it. */
function within(path: string, root: string): boolean {
  const r = root.replace(/\/+$/, "");
  return path === r || path.startsWith(`${r}/`);
}

/** A root's folder: itself, or a file's folder. */
function rootDir(root: string): string {
  return /\.(ts|ya?ml)$/i.test(root) ? folderOf(root) : root;
}

function folderOf(file: string): string {
  return file.slice(0, file.lastIndexOf("/")) || "/";
}

/** The flows by name, kept up to date with the files. */
export class Catalog {
  readonly #options: CatalogOptions;
  #byFile = new Map<string, CatalogEntry[]>();
  #entries: CatalogEntry[] = [];
  #watchers: Deno.FsWatcher[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #changed = new Set<string>();
  #loading: Promise<void> = Promise.resolve();

  /** Creates an empty catalog; {@linkcode load} reads the files. */
  constructor(options: CatalogOptions) {
    this.#options = options;
  }

  /** Every flow, by name. */
  get entries(): readonly CatalogEntry[] {
    return this.#entries;
  }

  /** The flow named `name`. */
  get(name: string): CatalogEntry | undefined {
    return this.#entries.find((e) => e.name === name);
  }

  /** Reads every flow file under the roots. */
  async load(): Promise<void> {
    const files = (await Promise.all(this.#options.roots.map(flowFiles))).flat();
    await Promise.all(files.map((f) => this.#read(f)));
    this.#rebuild();
  }

  /** Resolves once the reloads in progress are done (for tests and readiness). */
  settled(): Promise<void> {
    return this.#loading;
  }

  /** Watches the roots; a changed file is read again after `debounceMs` of quiet. */
  watch(): void {
    for (const root of this.#options.roots) {
      const w = Deno.watchFs(root, { recursive: true });
      this.#watchers.push(w);
      (async () => {
        try {
          for await (const e of w) {
            for (const p of e.paths) this.#changed.add(p);
            clearTimeout(this.#timer);
            this.#timer = setTimeout(() => this.#reload(), this.#options.debounceMs ?? 150);
          }
        } catch { /* closed */ }
      })();
    }
  }

  /** Stops watching. */
  close(): void {
    clearTimeout(this.#timer);
    for (const w of this.#watchers) {
      try {
        w.close();
      } catch { /* closed */ }
    }
    this.#watchers = [];
  }

  #reload(): void {
    const changed = [...this.#changed];
    this.#changed.clear();
    this.#loading = this.#loading.then(async () => {
      // A TS module can be imported by any flow of its root: those runners load it anew, and
      // every TS flow under the root is read again.
      const ts = changed.filter((p) => /\.ts$/.test(p));
      const roots = this.#options.roots.filter((r) => ts.some((p) => within(p, r)));
      if (roots.length) this.#options.retire((f) => roots.some((r) => within(f, rootDir(r))));
      const again = new Set<string>();
      for (const p of changed) if (/\.ya?ml$/i.test(p)) again.add(p);
      for (const r of roots) {
        for (const f of await flowFiles(r).catch(() => [])) {
          if (/\.ts$/.test(f)) again.add(f);
        }
      }
      for (const f of again) {
        const exists = await Deno.stat(f).then((s) => s.isFile, () => false);
        const inside = this.#options.roots.some((r) => within(f, r));
        if (
          exists && inside && flowFileName(f.slice(f.lastIndexOf("/") + 1)) &&
          await looksLikeFlow(f)
        ) {
          await this.#read(f);
        } else this.#byFile.delete(f);
      }
      this.#rebuild();
    }).catch((e) =>
      this.#options.warn?.("Cannot read the flows again: {error}", { error: String(e) })
    );
  }

  async #read(file: string): Promise<void> {
    const folder = folderOf(file);
    let flows: FlowInfo[];
    try {
      flows = await this.#options.describe(file, folder);
    } catch (e) {
      flows = [{
        name: file.slice(folder.length + 1).replace(/\.(ts|ya?ml)$/i, ""),
        file,
        params: {},
        schedule: [],
        issues: [{ message: `Cannot read "${file}": ${e instanceof Error ? e.message : e}` }],
        tasks: 0,
      }];
    }
    this.#byFile.set(file, flows.map((f) => entryOf(f, folder)));
  }

  #rebuild(): void {
    const seen = new Map<string, CatalogEntry>();
    const out: CatalogEntry[] = [];
    for (const file of [...this.#byFile.keys()].sort()) {
      for (const e of this.#byFile.get(file)!) {
        const first = seen.get(e.name);
        if (first) {
          const issue: ValidationIssue = {
            message: `Flow "${e.name}" is also defined in ${first.file}: flow names must be unique`,
            hint: 'rename one of them (`name:` in YAML, flow("name", …) in TS)',
          };
          out.push({
            ...e,
            name: `${e.name} (${file})`,
            valid: false,
            schedules: [],
            issues: [...e.issues, issue],
          });
          continue;
        }
        seen.set(e.name, e);
        out.push(e);
        if (!e.valid) {
          this.#options.warn?.("Flow {flow} in {file} is invalid and will not run: {problems}", {
            flow: e.name,
            file: e.file,
            problems: e.issues.filter(isError).map((i) => i.message).join("; "),
          });
        }
      }
    }
    this.#entries = out;
    this.#options.onChange?.(out);
  }
}

function entryOf(info: FlowInfo, folder: string): CatalogEntry {
  const valid = !info.issues.some(isError);
  const { schedules, issues } = checkSchedules(info.name, info.schedule);
  return {
    ...info,
    folder,
    valid: valid && issues.length === 0,
    schedules: valid ? schedules : [],
  };
}
