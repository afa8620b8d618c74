/** Temporary directory trees for config tests. */

import { dirname, join } from "node:path";

/**
 * Writes `files` (relative path → text; a path ending in `/` makes a directory) under a new
 * temporary directory, calls `fn` with its path, then removes it.
 */
export async function withTree(
  files: Record<string, string>,
  fn: (root: string) => Promise<void>,
): Promise<void> {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "orchestra_config_" }));
  try {
    for (const [path, text] of Object.entries(files)) {
      const full = join(root, path);
      if (path.endsWith("/")) {
        await Deno.mkdir(full, { recursive: true });
        continue;
      }
      await Deno.mkdir(dirname(full), { recursive: true });
      await Deno.writeTextFile(full, text);
    }
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/** An `env` function over a fixed set of variables. */
export function envOf(vars: Record<string, string>): (name: string) => string | undefined {
  return (name) => Object.hasOwn(vars, name) ? vars[name] : undefined;
}
