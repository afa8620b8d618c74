/**
 * The `orchestra` command. Everything else lives in `src/cli`.
 *
 * Install it from a clone with `deno task install`, or from JSR with
 * `deno install -g -A --unstable-worker-options --name orchestra jsr:@orchestra/orchestra/cli`.
 *
 * @module
 */

import { answerProbe, PROBE_VARIABLE } from "./src/cli/worker_options.ts";

if (import.meta.main) {
  if (probed()) {
    // Asked by a parent orchestra process whether worker options work here (see the module).
    answerProbe();
    Deno.exit(0);
  }
  // Loaded after the probe check, so that answering it stays cheap.
  const { main } = await import("./src/cli/main.ts");
  Deno.exit(await main(Deno.args));
}

function probed(): boolean {
  try {
    return Deno.env.get(PROBE_VARIABLE) !== undefined;
  } catch {
    return false; // no env permission: nobody can have asked
  }
}
