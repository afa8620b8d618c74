// The dashboard's files as the program serves them: headers, types, caching, and what the
// scripts may never do.
import assert from "node:assert/strict";
import { Hono } from "hono";
import { ASSETS } from "../../../src/server/dashboard/assets.ts";
import { CONTENT_SECURITY_POLICY, mountDashboard } from "../../../src/server/dashboard/mount.ts";

const DIR = new URL("../../../src/server/dashboard/assets/", import.meta.url);

function app(): Hono {
  const a = new Hono();
  mountDashboard(a);
  return a;
}

Deno.test("GET / is the dashboard, with a CSP that runs only this server's own scripts", async () => {
  const r = await app().request("/");
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("content-type"), "text/html; charset=utf-8");
  const csp = r.headers.get("content-security-policy")!;
  assert.equal(csp, CONTENT_SECURITY_POLICY);
  const directives = Object.fromEntries(
    csp.split(";").map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]),
  );
  assert.deepEqual(directives["default-src"], ["'none'"]);
  assert.deepEqual(directives["script-src"], ["'self'"]);
  assert.deepEqual(directives["style-src"], ["'self'"]);
  assert.deepEqual(directives["connect-src"], ["'self'"]);
  assert.deepEqual(directives["frame-ancestors"], ["'none'"]);
  assert.ok(!csp.includes("unsafe-inline") && !csp.includes("unsafe-eval"));
  assert.equal(r.headers.get("x-content-type-options"), "nosniff");
  assert.equal(r.headers.get("x-frame-options"), "DENY");
  assert.equal(r.headers.get("referrer-policy"), "no-referrer");
  const html = await r.text();
  assert.match(html, /<script type="module" src="\/ui\/main\.js"><\/script>/);
  // No inline script or style in the page (the CSP would refuse it anyway).
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/);
  assert.doesNotMatch(html, /<style|\sstyle=|\son\w+=/i);
  assert.doesNotMatch(html, /https?:\/\//, "nothing from another host (no CDN)");
});

Deno.test("every file under assets/ is served from the program, with its type and an ETag", async () => {
  const files = [...Deno.readDirSync(DIR)].filter((e) => e.isFile).map((e) => e.name).sort();
  assert.deepEqual(
    [...ASSETS.keys()].filter((n) => n !== "dagre.js").sort(),
    files,
    "each file of assets/ must be imported in assets.ts (and nothing else)",
  );
  const a = app();
  for (const [name, asset] of ASSETS) {
    const r = await a.request(`/ui/${name}`);
    assert.equal(r.status, 200, name);
    assert.equal(r.headers.get("content-type"), asset.type, name);
    assert.equal(r.headers.get("cache-control"), "no-cache");
    const etag = r.headers.get("etag")!;
    assert.equal(await r.text(), asset.body);
    if (name !== "dagre.js") {
      assert.equal(asset.body, await Deno.readTextFile(new URL(name, DIR)), name);
    }
    const again = await a.request(`/ui/${name}`, { headers: { "if-none-match": etag } });
    assert.equal(again.status, 304, name);
    assert.equal(await again.text(), "");
  }
  const types = Object.fromEntries([...ASSETS].map(([n, x]) => [n.split(".").pop(), x.type]));
  assert.deepEqual(types, {
    html: "text/html; charset=utf-8",
    css: "text/css; charset=utf-8",
    svg: "image/svg+xml",
    js: "text/javascript; charset=utf-8",
  });
});

Deno.test("/ui/dagre.js is the ES module of npm:@dagrejs/dagre as pinned in deno.json", async () => {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("../../../deno.json", import.meta.url)),
  );
  assert.match(config.imports["@dagrejs/dagre"], /^npm:@dagrejs\/dagre@\d+\.\d+\.\d+$/);
  const body = ASSETS.get("dagre.js")!.body;
  assert.match(body, /export\s*\{[^}]*\bas default\b/);
  assert.match(body, /\blayout\b/);
  assert.doesNotMatch(body, /sourceMappingURL/, "no source map is asked for");
  assert.doesNotMatch(body, /^\s*import\s/m, "the module imports nothing");
});

Deno.test("an unknown dashboard file is a 404 problem naming the files", async () => {
  const r = await app().request("/ui/evil.js");
  assert.equal(r.status, 404);
  assert.equal(r.headers.get("content-type"), "application/problem+json");
  assert.match((await r.json()).detail, /no file "evil\.js".*main\.js/);
  assert.equal((await app().request("/ui/../deno.json")).status, 404);
});

Deno.test("the dashboard's scripts never parse HTML or evaluate text", () => {
  // Hostile names and logs stay text only if no script turns text into markup or code.
  const forbidden: [RegExp, string][] = [
    [/\.innerHTML\b/, "innerHTML"],
    [/\.outerHTML\b/, "outerHTML"],
    [/insertAdjacentHTML/, "insertAdjacentHTML"],
    [/document\.write/, "document.write"],
    [/\beval\s*\(/, "eval"],
    [/new\s+Function\b/, "new Function"],
    [/DOMParser|createContextualFragment|parseHTMLUnsafe|setHTMLUnsafe/, "an HTML parser"],
    [/set(Timeout|Interval)\(\s*["'`]/, "a timer with code as text"],
    [/\.style\.cssText|setAttribute\(\s*["']style/, "inline style"],
    [/https?:\/\//, "a URL of another host"],
  ];
  for (const [name, asset] of ASSETS) {
    if (!name.endsWith(".js") || name === "dagre.js") continue;
    // The SVG namespace is a name, not a place anything is fetched from.
    const body = asset.body.replaceAll('"http://www.w3.org/2000/svg"', "");
    for (const [pattern, what] of forbidden) {
      assert.doesNotMatch(body, pattern, `${name} uses ${what}`);
    }
  }
});
