// Escape attempts against the files a user names: a FIFO blocks a read forever, a device such
// as /dev/zero never ends and fills the memory, a huge file does too. Every file Orchestra
// reads for a flow (the flow file, its includes, params, policy, secrets and configuration
// files) must be a regular file under 16 MiB, refused with exit 2 and a message naming the
// file, what it is and the limit, before anything is read from it.
import assert from "node:assert/strict";
import { main } from "../../src/cli/main.ts";
import { FileReadError, readBoundedTextFile } from "../../src/fs/read_bounded.ts";
import { fakeIo } from "../cli/_io.ts";

const FLOW = "tasks:\n  hello:\n    run: echo hi\n";
/** How long a refused read may take before the test calls it a hang. */
const HANG_MS = 20_000;

async function mkfifo(path: string): Promise<void> {
  const { code, stderr } = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
}

/** A directory with a regular flow file and a FIFO (`pipe`), removed afterwards. */
async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "orchestra_bounded_" }));
  await Deno.writeTextFile(`${dir}/flow.yaml`, FLOW);
  await mkfifo(`${dir}/pipe`);
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Runs the CLI in `dir`. If it has not answered within HANG_MS, every FIFO in `dir` is opened
 * for reading and writing (which never blocks on Linux) and closed, which ends a blocked read,
 * and the test fails as a hang.
 */
async function run(dir: string, args: string[]): Promise<{ code: number; err: string }> {
  const io = fakeIo({ cwd: dir });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<"hang">((resolve) => timer = setTimeout(() => resolve("hang"), HANG_MS));
  const code = await Promise.race([main([...args, "--state-dir", `${dir}/state`], io), hang]);
  clearTimeout(timer);
  if (code === "hang") {
    for await (const e of Deno.readDir(dir)) {
      if (!(await Deno.lstat(`${dir}/${e.name}`)).isFifo) continue;
      (await Deno.open(`${dir}/${e.name}`, { read: true, write: true })).close();
    }
    throw new assert.AssertionError({ message: `orchestra ${args.join(" ")} hung on a FIFO` });
  }
  return { code, err: io.err };
}

const CASES: {
  name: string;
  setup?: (dir: string) => Promise<void>;
  args: string[];
  error: RegExp;
}[] = [
  {
    name: "include: /dev/zero",
    setup: (dir) => Deno.writeTextFile(`${dir}/zero.yaml`, `include: /dev/zero\n${FLOW}`),
    args: ["run", "zero.yaml"],
    error: /zero\.yaml:1:10: The include "\/dev\/zero" is a character device, not a regular file/,
  },
  {
    name: "a FIFO as include:",
    setup: (dir) => Deno.writeTextFile(`${dir}/inc.yaml`, `include: pipe\n${FLOW}`),
    args: ["run", "inc.yaml"],
    error: /inc\.yaml:1:10: The include ".*pipe" is a FIFO \(named pipe\), not a regular file/,
  },
  {
    name: "a FIFO as the YAML flow file",
    setup: (dir) => mkfifo(`${dir}/fifo.yaml`),
    args: ["run", "fifo.yaml"],
    error: /The flow file ".*fifo\.yaml" is a FIFO \(named pipe\), not a regular file/,
  },
  {
    name: "a FIFO as --params-file",
    args: ["run", "flow.yaml", "--params-file", "pipe"],
    error: /The params file "pipe" is a FIFO \(named pipe\), not a regular file/,
  },
  {
    name: "/dev/zero as --params-file",
    args: ["run", "flow.yaml", "--params-file", "/dev/zero"],
    error: /The params file "\/dev\/zero" is a character device, not a regular file/,
  },
  {
    name: "a FIFO as --policy-file",
    args: ["run", "flow.yaml", "--policy-file", "pipe"],
    error: /The policy file ".*pipe" is a FIFO \(named pipe\), not a regular file/,
  },
  {
    name: "a FIFO as --secrets-file",
    args: ["run", "flow.yaml", "--secrets-file", "pipe"],
    error: /The secrets file ".*pipe" is a FIFO \(named pipe\), not a regular file/,
  },
  {
    name: "a FIFO as --config",
    setup: (dir) =>
      Deno.rename(`${dir}/pipe`, `${dir}/pipe.yaml`).then(() => mkfifo(`${dir}/pipe`)),
    args: ["run", "flow.yaml", "--config", "pipe.yaml"],
    error: /The configuration file ".*pipe\.yaml" is a FIFO \(named pipe\), not a regular file/,
  },
  {
    name: "a params file larger than 16 MiB",
    setup: async (dir) => {
      // Sparse: no disk is used, but its size is over the limit.
      await Deno.writeTextFile(`${dir}/big.json`, "{}");
      await Deno.truncate(`${dir}/big.json`, 16 * 1024 * 1024 + 1);
    },
    args: ["run", "flow.yaml", "--params-file", "big.json"],
    error: /The params file "big\.json" is larger than 16 MiB, the limit for a params file/,
  },
];

for (const c of CASES) {
  Deno.test(`escape attempt: ${c.name} is refused before it is read (exit 2)`, async () => {
    await withDir(async (dir) => {
      await c.setup?.(dir);
      const { code, err } = await run(dir, c.args);
      assert.equal(code, 2, err);
      assert.match(err, c.error);
    });
  });
}

Deno.test("a FIFO as the TypeScript flow file is refused with what it is (exit 2)", async () => {
  await withDir(async (dir) => {
    await mkfifo(`${dir}/fifo.ts`);
    const { code, err } = await run(dir, ["run", "fifo.ts"]);
    assert.equal(code, 2, err);
    assert.match(err, /The flow file "fifo\.ts" is a FIFO \(named pipe\), not a regular file/);
  });
});

Deno.test("a symbolic link to a regular params file is read as usual (control)", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/echo.yaml`,
      "params:\n  who: { type: string }\ntasks:\n  hello:\n    run: echo ${{ params.who }}\n",
    );
    await Deno.writeTextFile(`${dir}/params.json`, '{ "who": "linked" }');
    await Deno.symlink(`${dir}/params.json`, `${dir}/link.json`);
    const io = fakeIo({ cwd: dir });
    const args = ["run", "echo.yaml", "--params-file", "link.json", "--json", "-q"];
    assert.equal(await main([...args, "--state-dir", `${dir}/state`], io), 0, io.err);
    assert.equal(JSON.parse(io.out).result.hello, "linked");
  });
});

Deno.test("readBoundedTextFile() reads at most limit + 1 bytes and names the file and the limit", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/five.txt`, "12345");
    assert.equal(await readBoundedTextFile(`${dir}/five.txt`, { what: "file", limit: 5 }), "12345");
    await assert.rejects(
      readBoundedTextFile(`${dir}/five.txt`, { what: "include", limit: 4, shown: "five.txt" }),
      (e: unknown) =>
        e instanceof FileReadError && e.reason === "too-large" &&
        e.message === 'The include "five.txt" is larger than 4 bytes, the limit for a ' +
            "include; split it or make it smaller",
    );
    await assert.rejects(
      readBoundedTextFile(dir, { what: "flow file" }),
      (e: unknown) =>
        e instanceof FileReadError && /is a directory, not a regular file/.test(e.message),
    );
    await assert.rejects(
      readBoundedTextFile(`${dir}/missing`, { what: "flow file" }),
      Deno.errors.NotFound,
      "a missing file is the file system's error, for callers to word",
    );
  });
});
