/**
 * The page at `/`: a placeholder until the dashboard, listing the flows and the latest runs
 * from the API (so it shows what a browser page can do with it: read JSON, follow SSE, send
 * actions with a token header). Self-contained: no script or style from elsewhere.
 *
 * @module
 */

/** The page's HTML. */
export const PAGE: string = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Orchestra</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin-bottom: 2rem; } td, th { padding: .2rem .8rem; text-align: left; border-bottom: 1px solid #ddd; }
.invalid, .failed { color: #b00; } .succeeded { color: #070; } .running { color: #05a; }
code { background: #f4f4f4; padding: 0 .2rem; }
</style></head>
<body>
<h1>Orchestra</h1>
<p>The dashboard is on its way; the API is at <code>/api/v1</code> (<a href="/api/v1/openapi.json">OpenAPI</a>), metrics at <a href="/metrics">/metrics</a>.</p>
<p id="auth" hidden><label>Token: <input id="token" type="password" size="40"></label> <button id="save">Use</button></p>
<h2>Flows</h2><table id="flows"><tr><th>Flow</th><th>Valid</th><th>Schedules</th><th>Next run</th></tr></table>
<h2>Runs</h2><table id="runs"><tr><th>Run</th><th>Flow</th><th>Status</th><th>Started</th><th>Trigger</th></tr></table>
<script>
const token = () => sessionStorage.getItem("orchestra-token");
async function api(path) {
  const headers = token() ? { authorization: "Bearer " + token() } : {};
  const r = await fetch(path, { headers });
  if (r.status === 401) { document.getElementById("auth").hidden = false; throw new Error("token"); }
  return r.json();
}
function row(table, cells, cls) {
  const tr = document.createElement("tr");
  for (const c of cells) { const td = document.createElement("td"); td.textContent = c; tr.append(td); }
  if (cls) tr.className = cls;
  document.getElementById(table).append(tr);
}
async function load() {
  const { flows } = await api("/api/v1/flows");
  for (const f of flows) {
    row("flows", [f.name, f.valid ? "yes" : "no: " + f.issues.map((i) => i.message).join("; "),
      f.schedules.map((s) => s.cron + " " + s.timezone).join(", "),
      f.schedules.flatMap((s) => s.next).sort()[0] ?? ""], f.valid ? "" : "invalid");
  }
  const { runs } = await api("/api/v1/runs?limit=20");
  for (const r of runs) row("runs", [r.runId, r.flow, r.status, r.startedAt, r.trigger?.kind ?? ""], r.status);
}
document.getElementById("save").onclick = () => {
  sessionStorage.setItem("orchestra-token", document.getElementById("token").value);
  location.reload();
};
load().catch(() => {});
</script>
</body></html>
`;
