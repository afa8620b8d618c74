// Escape attempts through links, against the `fs` plugin. Deno checks a path as written and the
// system then follows links, so neither a hard link nor a symbolic link created or changed
// after validation is seen by Deno's check; only the plugin, which opens the file, can look.
// It refuses a file with more than one link and a symbolic link that leads outside its grant.
import assert from "node:assert/strict";
import { main } from "../../src/cli/main.ts";
import { fakeIo } from "../cli/_io.ts";

const SECRET = "the secret outside the box";

interface Box {
  dir: string;
  box: string;
  outside: string;
}

/** `box/` is what the flow names, `outside/secret.txt` what it must not reach. */
async function withBox(fn: (b: Box) => Promise<void>): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "orchestra_links_" }));
  const b = { dir, box: `${dir}/box`, outside: `${dir}/outside` };
  await Deno.mkdir(b.box);
  await Deno.mkdir(b.outside);
  await Deno.writeTextFile(`${b.outside}/secret.txt`, SECRET);
  // The same secret with one link, for the symbolic-link cases.
  await Deno.writeTextFile(`${b.outside}/private.txt`, SECRET);
  await Deno.writeTextFile(`${b.box}/data.txt`, "inside");
  await Deno.link(`${b.outside}/secret.txt`, `${b.box}/hard.txt`);
  try {
    await fn(b);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs `flow.yaml` (written from `yaml`) in the box's directory. */
async function runYaml(b: Box, yaml: string) {
  await Deno.writeTextFile(`${b.dir}/flow.yaml`, yaml);
  const io = fakeIo({ cwd: b.dir });
  const args = ["run", "flow.yaml", "--json", "-q", "--state-dir", `${b.dir}/state`];
  const code = await main(args, io);
  const doc = io.out ? JSON.parse(io.out) : undefined;
  const task = (id: string) => doc?.tasks.find((t: { id: string }) => t.id === id);
  return { code, err: io.err, out: io.out, doc, task };
}

/** A ceiling of the box (absolute: the links are the point here, not how paths resolve). */
const ceiling = (b: Box) =>
  `permissions: { read: [${JSON.stringify(b.box)}], write: [${JSON.stringify(b.box)}] }\n`;

Deno.test("escape attempt: the fs plugin reads a hard link in the granted directory to a file outside it", async () => {
  await withBox(async (b) => {
    const r = await runYaml(
      b,
      `${ceiling(b)}tasks:\n  steal:\n    uses: fs\n    with: { op: read, path: box/hard.txt }\n`,
    );
    assert.equal(r.code, 1, r.err);
    assert.equal(r.task("steal").status, "failed");
    assert.match(
      r.task("steal").error,
      new RegExp(`fs refuses to read ".*/box/hard\\.txt": the file has 2 hard links`),
    );
    assert.ok(!r.out.includes(SECRET) && !r.err.includes(SECRET), "nothing from outside leaked");
  });
});

Deno.test("escape attempt: the fs plugin copies a hard link out to a readable place", async () => {
  await withBox(async (b) => {
    const r = await runYaml(
      b,
      `permissions: { read: ["${b.dir}"], write: ["${b.dir}/copy"] }\n` +
        "tasks:\n  steal:\n    uses: fs\n    with: { op: copy, path: box, to: copy }\n",
    );
    assert.equal(r.code, 1, r.err);
    assert.match(r.task("steal").error, /fs refuses to read ".*\/box\/hard\.txt": the file has 2/);
    const copied = await Deno.readTextFile(`${b.dir}/copy/hard.txt`).catch(() => "");
    assert.ok(!copied.includes(SECRET), "the secret was not copied");
  });
});

Deno.test("escape attempt: the fs plugin writes through a hard link to a file outside", async () => {
  await withBox(async (b) => {
    const r = await runYaml(
      b,
      `${
        ceiling(b)
      }tasks:\n  clobber:\n    uses: fs\n    with: { op: write, path: box/hard.txt, content: owned }\n`,
    );
    assert.equal(r.code, 1, r.err);
    assert.match(
      r.task("clobber").error,
      /fs refuses to write ".*\/box\/hard\.txt": the file has 2/,
    );
    assert.equal(await Deno.readTextFile(`${b.outside}/secret.txt`), SECRET, "outside unchanged");
  });
});

Deno.test("escape attempt: the fs plugin follows a symbolic link inside a granted directory", async () => {
  await withBox(async (b) => {
    await Deno.symlink("../outside", `${b.box}/link`);
    // The path is known only at run time, so the task is granted the whole directory.
    const r = await runYaml(
      b,
      `${ceiling(b)}params:\n  file: { type: string, default: box/link/private.txt }\n` +
        `tasks:\n  steal:\n    uses: fs\n    with: { op: read, path: "\${{ params.file }}" }\n` +
        `    permissions: { read: [${JSON.stringify(b.box)}] }\n`,
    );
    assert.equal(r.code, 1, r.err);
    assert.match(
      r.task("steal").error,
      new RegExp(
        `fs refuses to read ".*/box/link/private\\.txt": it leads through a symbolic link to ` +
          `".*/outside/private\\.txt", which the task was not granted`,
      ),
    );
    assert.ok(!r.out.includes(SECRET), "nothing from outside leaked");
  });
});

Deno.test("escape attempt: the fs plugin writes through a symbolic link inside a granted directory", async () => {
  await withBox(async (b) => {
    await Deno.symlink("../outside/private.txt", `${b.box}/out-link.txt`);
    const r = await runYaml(
      b,
      `${ceiling(b)}params:\n  file: { type: string, default: box/out-link.txt }\n` +
        `tasks:\n  clobber:\n    uses: fs\n    with: { op: write, path: "\${{ params.file }}", content: owned }\n` +
        `    permissions: { read: [${JSON.stringify(b.box)}], write: [${
          JSON.stringify(b.box)
        }] }\n`,
    );
    assert.equal(r.code, 1, r.err);
    assert.match(r.task("clobber").error, /fs refuses to write ".*\/box\/out-link\.txt": it leads/);
    assert.equal(await Deno.readTextFile(`${b.outside}/private.txt`), SECRET, "outside unchanged");
  });
});

Deno.test("a symbolic link the request names is read where validation judged it leads (control)", async () => {
  await withBox(async (b) => {
    await Deno.symlink("../outside/private.txt", `${b.box}/named-link.txt`);
    // No ceiling: the request names the link, and its target joins the grant at validation.
    const r = await runYaml(
      b,
      "tasks:\n  open:\n    uses: fs\n    with: { op: read, path: box/named-link.txt }\n",
    );
    assert.equal(r.code, 0, r.err);
    assert.equal(r.doc.result.open, SECRET);
  });
});

Deno.test("a file with one link is read, written and copied as usual (control)", async () => {
  await withBox(async (b) => {
    const r = await runYaml(
      b,
      `${ceiling(b)}tasks:\n  read:\n    uses: fs\n    with: { op: read, path: box/data.txt }\n` +
        "  write:\n    needs: read\n    uses: fs\n    with: { op: write, path: box/new.txt, content: fresh }\n" +
        "  copy:\n    needs: write\n    uses: fs\n    with: { op: copy, path: box/new.txt, to: box/copy.txt }\n",
    );
    assert.equal(r.code, 0, r.err);
    assert.equal(r.doc.result.copy.files, 1);
    assert.equal(await Deno.readTextFile(`${b.box}/copy.txt`), "fresh");
  });
});
