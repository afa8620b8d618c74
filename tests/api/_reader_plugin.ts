/** A plugin for the usePlugin tests: reads the file it is given, asking for exactly that. */

import { definePlugin } from "../../mod.ts";
import { z } from "npm:zod@4.1.12";

export default definePlugin({
  name: "reader",
  version: "1.0.0",
  description: "Reads a text file.",
  params: z.object({ path: z.string(), suffix: z.string().default("") }),
  permissions: (p) => ({ read: [p.path] }),
  run: async (p, ctx) => ({
    text: (await Deno.readTextFile(p.path)) + p.suffix,
    inputs: ctx.inputs,
  }),
});
