// A short run of bench/serve_bench.ts as a correctness check (no timed assertion): under
// concurrent clients no request fails and no run started is lost.
import assert from "node:assert/strict";
import { serveBench } from "../../bench/serve_bench.ts";

Deno.test({
  name: "serve under load: no error, no lost run (a few seconds of bench/serve_bench.ts)",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const r = await serveBench({ seconds: 2, clients: 20, webhooks: 5 });
  assert.equal(r.errors, 0);
  assert.ok(r.started > 0);
  assert.equal(r.lost, 0);
  assert.equal(r.webhook.n, 5);
});
