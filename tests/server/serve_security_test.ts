// orchestra serve's security: tokens by role, webhooks with their own secrets (bearer or
// GitHub's HMAC) and idempotency keys, the CLI's refusals, token add; and draining on SIGTERM
// with the interrupted run resumed by the next server.
import assert from "node:assert/strict";
import { main } from "../../src/cli/main.ts";
import { readTokensFile, sha256Hex } from "../../src/server/tokens.ts";
import { fakeIo, ROOT } from "../cli/_io.ts";
import { call, serveFiles, waitRun } from "./_serve.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const HOOK = `
name: deploy
params:
  ref: { type: string, default: main }
tasks:
  show:
    run: echo \${{ params.ref }} \${{ event.action }}
`;

Deno.test(
  { name: "serve: tokens by role; webhooks by secret, HMAC and idempotency key", ...opts },
  async () => {
    const viewer = "orc_viewer_token_for_tests_0123456789";
    const operator = "orc_operator_token_for_tests_0123456789";
    const s = await serveFiles({ "deploy.yaml": HOOK }, {
      tokens: {
        tokens: [
          { name: "grafana", role: "viewer", sha256: await sha256Hex(viewer) },
          { name: "ci", role: "operator", sha256: await sha256Hex(operator) },
        ],
        webhooks: { deploy: { secret: "DEPLOY_SECRET" } },
      },
      env: { DEPLOY_SECRET: "s3cret-hook" },
    });
    const { url } = s;
    const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
    try {
      assert.equal((await call(`${url}/api/v1/flows`, "GET")).status, 401, "no token");
      assert.equal(
        (await call(`${url}/api/v1/flows`, "GET", undefined, bearer("wrong"))).status,
        401,
      );
      assert.equal(
        (await call(`${url}/api/v1/flows`, "GET", undefined, bearer(viewer))).status,
        200,
      );
      assert.equal(
        (await fetch(`${url}/metrics`, { headers: bearer(viewer) }).then((r) => r.text(), () => ""))
          .length > 0,
        true,
      );
      assert.equal((await call(`${url}/healthz`, "GET")).status, 200, "public");
      const denied = await call(`${url}/api/v1/flows/deploy/runs`, "POST", {}, bearer(viewer));
      assert.equal(denied.status, 403);
      assert.match(denied.json.detail as string, /"grafana" is a viewer; this needs an operator/);
      const started = await call(`${url}/api/v1/flows/deploy/runs`, "POST", {}, bearer(operator));
      assert.equal(started.status, 201);
      const doc = await (await fetch(`${url}/api/v1/runs/${started.json.runId}`, {
        headers: bearer(operator),
      })).json();
      assert.equal(doc.trigger.by, "ci");

      // Webhooks: their own secret, not an API token.
      const body = JSON.stringify({ ref: "v1.2", action: "published", extra: { a: 1 } });
      const hook = (headers: Record<string, string>, b = body) =>
        fetch(`${url}/hooks/deploy`, {
          method: "POST",
          headers: { "content-type": "application/json", ...headers },
          body: b,
        });
      assert.equal((await hook({})).status, 401);
      assert.equal(
        (await hook(bearer(operator))).status,
        401,
        "an API token is not the webhook's secret",
      );
      const byBearer = await hook({ ...bearer("s3cret-hook"), "idempotency-key": "d-1" });
      assert.equal(byBearer.status, 201);
      const { runId } = await byBearer.json();
      const run = await waitRun(url, runId, 20_000).catch(async () => {
        return await (await fetch(`${url}/api/v1/runs/${runId}`, { headers: bearer(viewer) }))
          .json();
      });
      void run;
      const hookDoc =
        await (await fetch(`${url}/api/v1/runs/${runId}`, { headers: bearer(viewer) })).json();
      assert.equal(hookDoc.params.ref, "v1.2", "a body key that is a param");
      assert.equal(hookDoc.params.event.action, "published", "the whole body as event");
      // The same delivery again: no second run.
      const again = await hook({ ...bearer("s3cret-hook"), "idempotency-key": "d-1" });
      assert.equal(again.status, 200);
      assert.deepEqual(await again.json(), { runId, duplicate: true });
      // GitHub's signature and delivery id.
      const key = await crypto.subtle.importKey(
        "raw",
        new TextEncoder().encode("s3cret-hook"),
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["sign"],
      );
      const mac = Array.from(
        new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(body))),
        (b) => b.toString(16).padStart(2, "0"),
      ).join("");
      const signed = await hook({
        "x-hub-signature-256": `sha256=${mac}`,
        "x-github-delivery": "gh-7",
      });
      assert.equal(signed.status, 201);
      await signed.body?.cancel();
      const tampered = await hook(
        { "x-hub-signature-256": `sha256=${mac}` },
        body.replace("v1.2", "v6.6"),
      );
      assert.equal(tampered.status, 401);
      await tampered.body?.cancel();
      const dup = await hook({
        "x-hub-signature-256": `sha256=${mac}`,
        "x-github-delivery": "gh-7",
      });
      assert.equal((await dup.json()).duplicate, true);
      const none = await fetch(`${url}/hooks/other`, { method: "POST", body: "{}" });
      assert.equal(none.status, 404);
      await none.body?.cancel();
      const metrics = await (await fetch(`${url}/metrics`, { headers: bearer(viewer) })).text();
      assert.match(metrics, /orchestra_webhook_duplicates_total\{flow="deploy"\} 2/);
      assert.match(metrics, /orchestra_runs_started_total\{flow="deploy",trigger="webhook"\} 2/);
    } finally {
      await s.stop();
    }
  },
);

Deno.test("serve token add prints a token once and stores only its hash; serve refuses 0.0.0.0 without tokens", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const io = fakeIo({ cwd: dir });
    const code = await main([
      "serve",
      "token",
      "add",
      "ci",
      "--role",
      "operator",
      "--tokens",
      "t.yaml",
      "--state-dir",
      `${dir}/s`,
    ], io);
    assert.equal(code, 0, io.err);
    const token = io.out.trim();
    assert.match(token, /^orc_[A-Za-z0-9_-]{43}$/);
    const file = await readTokensFile(`${dir}/t.yaml`);
    assert.deepEqual(file.tokens, [{
      name: "ci",
      role: "operator",
      sha256: await sha256Hex(token),
    }]);
    assert.ok(!(await Deno.readTextFile(`${dir}/t.yaml`)).includes(token), "never in clear");
    assert.equal((await Deno.stat(`${dir}/t.yaml`)).mode! & 0o777, 0o600);
    const twice = fakeIo({ cwd: dir });
    assert.equal(
      await main(["serve", "token", "add", "ci", "--role", "viewer", "--tokens", "t.yaml"], twice),
      2,
    );
    assert.match(twice.err, /has a token named "ci" already/);
    const badRole = fakeIo({ cwd: dir });
    assert.equal(
      await main(["serve", "token", "add", "x", "--role", "admin", "--tokens", "t.yaml"], badRole),
      2,
    );
    const open = fakeIo({ cwd: dir });
    assert.equal(
      await main(["serve", dir, "--host", "0.0.0.0", "--state-dir", `${dir}/s`], open),
      2,
    );
    assert.match(open.err, /refuses to listen on 0\.0\.0\.0 without tokens/);
    const missing = fakeIo({ cwd: dir });
    assert.equal(await main(["serve", `${dir}/nope`, "--state-dir", `${dir}/s`], missing), 2);
    assert.match(missing.err, /cannot serve ".*nope": no such file or folder/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve reads the tokensFile setting: orchestra.yaml (relative to its folder), ORCHESTRA_TOKENS_FILE, --tokens", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/sub`);
    await Deno.mkdir(`${dir}/conf`);
    await Deno.writeTextFile(`${dir}/orchestra.yaml`, "tokensFile: conf/tokens.yaml\n");
    // token add from a subfolder writes the file the config names, beside the config.
    const add = fakeIo({ cwd: `${dir}/sub` });
    assert.equal(
      await main(["serve", "token", "add", "ci", "--role", "operator"], add),
      0,
      add.err,
    );
    assert.match(add.err, new RegExp(`added to ${dir}/conf/tokens\\.yaml`));
    assert.equal((await readTokensFile(`${dir}/conf/tokens.yaml`)).tokens.length, 1);
    // serve itself reads it: a broken file stops it, naming the file.
    await Deno.writeTextFile(`${dir}/conf/tokens.yaml`, "tokens: [ { name: x } ]\n");
    const broken = fakeIo({ cwd: `${dir}/sub` });
    assert.equal(await main(["serve", dir, "--state-dir", `${dir}/s`], broken), 2);
    assert.match(broken.err, new RegExp(`${dir}/conf/tokens\\.yaml`));
    // The variable wins over the file, a flag over both.
    const env = fakeIo({ cwd: dir });
    env.env = (n) => n === "ORCHESTRA_TOKENS_FILE" ? "from-env.yaml" : undefined;
    assert.equal(await main(["serve", "token", "add", "a", "--role", "viewer"], env), 0, env.err);
    assert.equal((await readTokensFile(`${dir}/from-env.yaml`)).tokens[0].name, "a");
    const flag = fakeIo({ cwd: dir });
    flag.env = env.env;
    assert.equal(
      await main(["serve", "token", "add", "b", "--role", "viewer", "--tokens", "f.yaml"], flag),
      0,
      flag.err,
    );
    assert.equal((await readTokensFile(`${dir}/f.yaml`)).tokens[0].name, "b");
    // orchestra config shows where it came from.
    const shown = fakeIo({ cwd: dir });
    assert.equal(await main(["config", "--json"], shown), 0, shown.err);
    const doc = JSON.parse(shown.out);
    assert.equal(doc.settings.tokensFile, `${dir}/conf/tokens.yaml`);
    assert.deepEqual(doc.sources.tokensFile, { source: "file", detail: `${dir}/orchestra.yaml:1` });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "serve: SIGTERM drains; a run still going is interrupted and the next server resumes it",
  ...opts,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "orchestra_serve_drain_" });
  const state = `${dir}/state`;
  await Deno.writeTextFile(
    `${dir}/slow.yaml`,
    "name: slow\ntasks:\n  first: { run: echo one }\n  wait:\n    needs: first\n    uses: sleep\n    with: { duration: 2s }\n",
  );
  const start = () =>
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--no-prompt",
        "--unstable-worker-options",
        `${ROOT}/main.ts`,
        "serve",
        dir,
        "--port",
        "0",
        "--state-dir",
        state,
        "--grace",
        "200ms",
        "--name",
        "drain-test",
      ],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
  const urlOf = async (child: Deno.ChildProcess) => {
    const reader = child.stdout.getReader();
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the server ended before it listened");
      text += new TextDecoder().decode(value);
    }
    reader.releaseLock();
    await child.stdout.cancel();
    return text.trim();
  };
  const finished = async (child: Deno.ChildProcess) => {
    const [status, err] = await Promise.all([child.status, new Response(child.stderr).text()]);
    return { code: status.code, err };
  };
  try {
    const first = start();
    const url = await urlOf(first);
    const r = await call(`${url}/api/v1/flows/slow/runs`, "POST");
    const runId = r.json.runId as string;
    // Once its first task is done, stop the server.
    for (let i = 0; i < 200; i++) {
      const d = await call(`${url}/api/v1/runs/${runId}`, "GET");
      if (
        (d.json.tasks as { id: string; status: string }[]).some((t) =>
          t.id === "wait" && t.status === "running"
        )
      ) break;
      await new Promise((res) => setTimeout(res, 25));
    }
    first.kill("SIGTERM");
    const out = await finished(first);
    assert.equal(out.code, 0, out.err);
    assert.match(out.err, new RegExp(`1 runs interrupted, resumed at the next start: ${runId}`));
    // Between the servers the run reads interrupted (its runner's lease ended), as orchestra
    // status shows it, with its first task kept.
    const status = fakeIo({ cwd: dir });
    assert.equal(await main(["status", runId, "--state-dir", state, "--json"], status), 0);
    const between = JSON.parse(status.out);
    assert.equal(between.status, "interrupted", status.out);
    // The next server resumes it: first is kept, wait runs again and succeeds.
    const second = start();
    const url2 = await urlOf(second);
    const doc = await waitRun(url2, runId, 30_000);
    assert.equal(doc.status, "succeeded");
    const tasks = doc.tasks as { id: string; attempts: number }[];
    assert.equal(tasks.find((t) => t.id === "first")!.attempts, 1, "not run again");
    second.kill("SIGTERM");
    assert.equal((await finished(second)).code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
