// The guides in docs/ run as written: fenced blocks marked `file=NAME` are written to a fresh
// folder (TypeScript ones are also marked `ignore`, for `deno test --doc`, which would run them
// without the files they import), then blocks marked `sh test` run there line by line: `orchestra …` through the CLI's
// main(), `deno run …` and `deno test …` as processes (with this repository's import map for
// `@orchestra/orchestra`). A line may end with `# exit N` when it is meant to fail; an argument
// `RUN` stands for the id of the last run an earlier line printed.
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { main } from "../src/cli/main.ts";
import { fakeIo, ROOT } from "./cli/_io.ts";

interface Block {
  lang: string;
  attrs: string[];
  text: string;
  line: number;
}

/** The fenced code blocks of a Markdown text. */
export function blocks(markdown: string): Block[] {
  const out: Block[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*(.*)$/.exec(lines[i]);
    if (!open) continue;
    const start = i + 1;
    let j = start;
    while (j < lines.length && !lines[j].startsWith("```")) j++;
    out.push({
      lang: open[1],
      attrs: open[2].split(/\s+/).filter(Boolean),
      text: lines.slice(start, j).join("\n") + "\n",
      line: start,
    });
    i = j;
  }
  return out;
}

/** Splits a command line as sh would, for the simple lines the guides use. */
function words(line: string): string[] {
  const out: string[] = [];
  let word = "";
  let quote: string | undefined;
  let any = false;
  for (const c of line) {
    if (quote) {
      if (c === quote) quote = undefined;
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      any = true;
    } else if (/\s/.test(c)) {
      if (word || any) out.push(word);
      word = "";
      any = false;
    } else word += c;
  }
  if (word || any) out.push(word);
  return out;
}

let lastRun = "";

async function runLine(line: string, cwd: string, where: string): Promise<void> {
  const m = /^(.*?)\s*(?:#\s*exit (\d+).*|#.*)?$/.exec(line)!;
  const expected = Number(m[2] ?? 0);
  const argv = words(m[1]);
  const env: Record<string, string> = { NO_COLOR: "1" };
  while (argv.length && /^[A-Z_][A-Z0-9_]*=/.test(argv[0])) {
    const [k, ...v] = argv.shift()!.split("=");
    env[k] = v.join("=");
  }
  const [program, ...rest] = argv;
  const args = rest.map((a) => a === "RUN" ? lastRun : a);
  if (program === "orchestra") {
    const io = fakeIo({ cwd });
    io.env = (name) => env[name];
    const code = await main(args, io);
    assert.equal(code, expected, `${where}: ${line}\n${io.out}${io.err}`);
    const id = /\brun ([0-9a-f]{8}-[0-9a-f-]{27})\b/.exec(io.err)?.[1];
    if (id) lastRun = id;
    return;
  }
  if (program === "deno" && (args[0] === "run" || args[0] === "test")) {
    const out = await new Deno.Command(Deno.execPath(), {
      // Checked by typeCheck() first: checking here would also check each worker's entry as it
      // starts, which can outlast a task's timeout on a busy machine.
      args: [
        args[0],
        "--no-check",
        "--config",
        join(ROOT, "deno.json"),
        "--no-lock",
        ...args.slice(1),
      ],
      cwd,
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, expected, `${where}: ${line}\n${text}`);
    return;
  }
  throw new Error(
    `${where}: the docs test runs orchestra, deno run and deno test lines, not "${line}"`,
  );
}

/** Type-checks a guide's TypeScript files as written (they then run without checking). */
async function typeCheck(files: string[], cwd: string, where: string): Promise<void> {
  if (files.length === 0) return;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--config", join(ROOT, "deno.json"), "--no-lock", ...files],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `${where}: ${files.join(", ")}\n${text}`);
}

/** Writes a guide's files to a fresh folder and runs its tested commands there. */
async function runGuide(path: string): Promise<number> {
  const markdown = await Deno.readTextFile(join(ROOT, path));
  const dir = await Deno.makeTempDir({ prefix: "orchestra-docs-" });
  let ran = 0;
  const written: string[] = [];
  try {
    for (const b of blocks(markdown)) {
      const file = b.attrs.find((a) => a.startsWith("file="))?.slice("file=".length);
      if (file) {
        await Deno.mkdir(dirname(join(dir, file)), { recursive: true });
        await Deno.writeTextFile(join(dir, file), b.text);
        if (/\.ts$/.test(file)) written.push(file);
      }
      if (b.lang === "sh" && b.attrs.includes("test")) {
        await typeCheck(written.splice(0), dir, path);
        for (const [n, raw] of b.text.split("\n").entries()) {
          const line = raw.trim();
          if (line === "" || line.startsWith("#")) continue;
          await runLine(line, dir, `${path}:${b.line + n + 1}`);
          ran++;
        }
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return ran;
}

Deno.test("README.md: its tested examples run as written", async () => {
  assert.ok(await runGuide("README.md") > 0);
});

const GUIDES = [...Deno.readDirSync(join(ROOT, "docs"))]
  .filter((e) => e.isFile && e.name.endsWith(".md"))
  .map((e) => `docs/${e.name}`)
  .sort();

for (const guide of GUIDES) {
  Deno.test(`${guide}: its examples run as written`, async () => {
    const ran = await runGuide(guide);
    assert.ok(ran > 0, `${guide} has no \`sh test\` block: its examples would go untested`);
  });
}

Deno.test("README and CONTRIBUTING link every guide, and every link to docs/ is a guide", async () => {
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  for (const guide of GUIDES) assert.ok(readme.includes(`](${guide})`), `README links ${guide}`);
  const text = readme + await Deno.readTextFile(join(ROOT, "CONTRIBUTING.md"));
  for (const [, target] of text.matchAll(/\]\((docs\/[^)#]+)/g)) {
    assert.ok(GUIDES.includes(target), `${target} is linked but is not a guide`);
  }
});
