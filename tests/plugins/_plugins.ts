/** Plugin modules written into temporary flow folders, for the plugin tests. */

/** The library's entry point, as a URL a module in any folder can import. */
export const MOD_URL: string = new URL("../../mod.ts", import.meta.url).href;

/** The text of a plugin module: `definePlugin({ … })` with the given fields and run body. */
export function pluginSource(
  fields: { name: string; version?: string; description?: string } & Record<string, unknown>,
  options: { params?: string; permissions?: string; run?: string; top?: string } = {},
): string {
  const { name, version = "1.0.0", description = `The ${name} test plugin.`, ...rest } = fields;
  const extra = Object.entries(rest).map(([k, v]) => `  ${k}: ${JSON.stringify(v)},\n`).join("");
  return `import { definePlugin } from ${JSON.stringify(MOD_URL)};\n` +
    `import { z } from "npm:zod@4.1.12";\n${options.top ?? ""}\n` +
    `export default definePlugin({\n  name: ${JSON.stringify(name)},\n` +
    `  version: ${JSON.stringify(version)},\n  description: ${JSON.stringify(description)},\n` +
    extra +
    (options.params ? `  params: ${options.params},\n` : "") +
    (options.permissions ? `  permissions: ${options.permissions},\n` : "") +
    `  run: ${options.run ?? "(params, ctx) => ({ params, inputs: ctx.inputs })"},\n});\n`;
}

/** A temporary folder with files in it (paths relative to it); removed by the returned function. */
export async function tempTree(
  files: Record<string, string>,
): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "orchestra-plugins-" });
  for (const [path, text] of Object.entries(files)) {
    const full = `${dir}/${path}`;
    await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(full, text);
  }
  return { dir, remove: () => Deno.remove(dir, { recursive: true }) };
}
