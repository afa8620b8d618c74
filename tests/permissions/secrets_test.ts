import assert from "node:assert/strict";
import {
  dotenvSecrets,
  DotenvSyntaxError,
  envSecrets,
  maskSecrets,
  parseDotenv,
  resolveSecrets,
  secretMasker,
  SecretNotFoundError,
  SecretProviderError,
  staticSecrets,
} from "../../src/permissions/secrets.ts";
import { withTree } from "../config/_tree.ts";

Deno.test("parseDotenv() reads keys, quotes, comments and export", () => {
  const text = [
    "# database",
    "",
    "export DB_USER=app",
    "  DB_HOST = db.internal  ",
    "DB_PASS='p#ss w$rd'  # single quotes are literal",
    'GREETING="hello\\nworld \\"x\\" \\\\ \\q"',
    "TOKEN=abc#def",
    "EMPTY=",
    "COMMENTED=value # a comment",
    "ONLY_COMMENT=#nothing",
    "KEY=first",
    "KEY=second",
    "WIN=crlf\r",
    'MULTI="line one',
    'line two"',
    "TICK=`back tick`",
  ].join("\n");
  assert.deepEqual(parseDotenv(text), {
    DB_USER: "app",
    DB_HOST: "db.internal",
    DB_PASS: "p#ss w$rd",
    GREETING: 'hello\nworld "x" \\ \\q',
    TOKEN: "abc#def",
    EMPTY: "",
    COMMENTED: "value",
    ONLY_COMMENT: "",
    KEY: "second",
    WIN: "crlf",
    MULTI: "line one\nline two",
    TICK: "back tick",
  });
});

Deno.test("parseDotenv() names file, line and column of a malformed line", () => {
  const cases: [string, number, number, string][] = [
    ["A=1\njust words\n", 2, 1, 'expected KEY=VALUE, got "just words"'],
    ["A=1\n  1BAD=x\n", 2, 3, '"1BAD" is not a valid variable name'],
    ['A=1\nB="open\nC=2\n', 2, 3, 'the " quote of B is never closed'],
    ["A='x' trailing\n", 1, 7, "unexpected text after the closing ' quote of A"],
  ];
  for (const [text, line, col, message] of cases) {
    assert.throws(() => parseDotenv(text, "/app/.env"), (e: unknown) => {
      assert.ok(e instanceof DotenvSyntaxError && e instanceof SyntaxError);
      assert.equal(e.message, `/app/.env:${line}:${col}: ${message}`);
      assert.deepEqual([e.file, e.line, e.col], ["/app/.env", line, col]);
      return true;
    });
  }
});

Deno.test("envSecrets() reads variables, with an optional prefix", async () => {
  const vars: Record<string, string> = { TOKEN: "plain", APP_TOKEN: "prefixed" };
  const env = (n: string) => vars[n];
  assert.equal(await envSecrets({ env }).get("TOKEN"), "plain");
  assert.equal(await envSecrets({ env, prefix: "APP_" }).get("TOKEN"), "prefixed");
  assert.equal(await envSecrets({ env, prefix: "APP_" }).get("OTHER"), undefined);
});

Deno.test("dotenvSecrets() reads the file once; a missing file is a clear error", async () => {
  await withTree({ ".env": "TOKEN=from-file\n" }, async (root) => {
    const p = dotenvSecrets(`${root}/.env`);
    assert.equal(await p.get("TOKEN"), "from-file");
    await Deno.writeTextFile(`${root}/.env`, "TOKEN=changed\n");
    assert.equal(await p.get("TOKEN"), "from-file");
    assert.equal(await p.get("NOPE"), undefined);
    await assert.rejects(
      async () => await dotenvSecrets(`${root}/missing.env`).get("TOKEN"),
      (e: unknown) =>
        e instanceof SecretProviderError &&
        e.message === `Dotenv file "${root}/missing.env" does not exist; create it or remove ` +
            "it from the secret providers",
    );
  });
});

Deno.test("resolveSecrets() takes each name from the first provider that has it", async () => {
  const values = await resolveSecrets(
    [
      envSecrets({ env: (n) => n === "A" ? "from-env" : undefined }),
      staticSecrets({ A: "from-map", B: "b" }),
    ],
    ["A", "B", "A"],
  );
  assert.deepEqual(values, { A: "from-env", B: "b" });
});

Deno.test("resolveSecrets() names every missing secret and where it looked", async () => {
  await withTree({ ".env": "X=1\n" }, async (root) => {
    const providers = [
      envSecrets({ prefix: "APP_", env: () => undefined }),
      dotenvSecrets(`${root}/.env`),
      staticSecrets({}),
    ];
    await assert.rejects(resolveSecrets(providers, ["DB_PASS"]), (e: unknown) => {
      assert.ok(e instanceof SecretNotFoundError);
      assert.equal(
        e.message,
        'Secret "DB_PASS" is not set (tried environment variable APP_DB_PASS, dotenv file ' +
          `${root}/.env (key DB_PASS), the static map (key DB_PASS))`,
      );
      return true;
    });
    await assert.rejects(resolveSecrets(providers, ["A", "X", "B"]), (e: unknown) => {
      assert.ok(e instanceof SecretNotFoundError);
      assert.deepEqual(e.names, ["A", "B"]);
      assert.match(e.message, /^2 secrets are not set:\n {2}- secret "A" is not set \(tried /);
      return true;
    });
  });
  await assert.rejects(resolveSecrets([], ["A"]), /tried no providers configured/);
});

Deno.test("maskSecrets() replaces every occurrence, the longest value first", () => {
  assert.equal(
    maskSecrets("user=admin pass=admin123 again admin123", ["admin123", "admin"]),
    "user=*** pass=*** again ***",
  );
  assert.equal(maskSecrets("a.b+c (x)", ["b+c", "(x)"]), "a.*** ***");
  assert.equal(maskSecrets("nothing here", []), "nothing here");
  assert.equal(maskSecrets("keep", [""]), "keep");
});

Deno.test("secretMasker() also masks JSON-escaped forms and lines of multi-line values", () => {
  const key = "-----BEGIN KEY-----\nMIIEabc123\n-----END KEY-----";
  const mask = secretMasker(['pa"ss\\word', key]);
  assert.equal(mask(JSON.stringify({ password: 'pa"ss\\word' })), '{"password":"***"}');
  assert.equal(mask(`key: ${key}`), "key: ***");
  assert.equal(mask(JSON.stringify(key)), '"***"');
  assert.equal(mask("log line with MIIEabc123 only"), "log line with *** only");
});
