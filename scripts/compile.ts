/**
 * Builds the `orchestra` binary for every target `deno compile` supports (`deno task
 * compile:all`), into `dist/orchestra-<target>` (`.exe` on Windows), with the same flags as
 * `deno task compile`. `deno compile` fetches each target's runtime (`denort`) from
 * dl.deno.land; without network access, point `DENORT_BIN` at a local `denort` of this Deno
 * version and build only your own target (`deno task compile`).
 *
 *     deno task compile:all                       # all six targets
 *     deno task compile:all aarch64-apple-darwin  # only these
 *
 * @module
 */

/** The targets of `deno compile --target` in Deno 2.9 (a test compares with `deno compile`). */
export const TARGETS: readonly string[] = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-pc-windows-msvc",
  "aarch64-pc-windows-msvc",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
];

/**
 * The flags of every build, before `--target` and `--output`: the ones `deno task orchestra`
 * runs with, and the CLI's own files (a test checks `deno task compile` uses the same).
 */
export const COMPILE_FLAGS: readonly string[] = [
  "-A",
  "--no-prompt",
  "--unstable-worker-options",
  "--include",
  "src/",
  "--include",
  "plugins/",
];

/** The `deno compile` arguments that build `target`. */
export function compileArgs(target: string): string[] {
  const exe = target.includes("windows") ? ".exe" : "";
  return [
    "compile",
    ...COMPILE_FLAGS,
    "--target",
    target,
    "--output",
    `dist/orchestra-${target}${exe}`,
    "main.ts",
  ];
}

if (import.meta.main) {
  const unknown = Deno.args.filter((t) => !TARGETS.includes(t));
  if (unknown.length) {
    console.error(`error: unknown target ${unknown.join(", ")}; targets: ${TARGETS.join(", ")}`);
    Deno.exit(2);
  }
  const root = new URL("../", import.meta.url);
  const failed: string[] = [];
  for (const target of Deno.args.length ? Deno.args : TARGETS) {
    console.error(`deno ${compileArgs(target).join(" ")}`);
    const { code } = await new Deno.Command(Deno.execPath(), {
      args: compileArgs(target),
      cwd: root,
    }).spawn().status;
    if (code !== 0) failed.push(target);
  }
  if (failed.length) {
    console.error(`error: the build failed for ${failed.join(", ")}`);
    Deno.exit(1);
  }
}
