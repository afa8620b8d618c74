// The flow schema in an editor: yaml-language-server (the engine of VS Code's YAML extension)
// driven headless over LSP on stdio. Completion and hover inside a task give the keys and
// their descriptions, and a mistake is a diagnostic.
import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";

const SCHEMA = pathToFileURL(new URL("../../examples/flow.schema.json", import.meta.url).pathname)
  .href;
const SERVER = new URL("./_yaml_language_server.ts", import.meta.url).pathname;

type Message = { id?: number; method?: string; params?: unknown; result?: unknown };

/** A minimal LSP client: requests with ids, notifications, and the server's own requests. */
class Client {
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #next = 1;
  #pending = new Map<number, (m: Message) => void>();
  #listeners: ((m: Message) => void)[] = [];
  #done: Promise<void>;

  constructor() {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-prompt", SERVER, "--stdio"],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#done = this.#read();
  }

  async #read(): Promise<void> {
    let buffer = new Uint8Array(0);
    const decoder = new TextDecoder();
    for await (const chunk of this.#child.stdout) {
      const joined = new Uint8Array(buffer.length + chunk.length);
      joined.set(buffer);
      joined.set(chunk, buffer.length);
      buffer = joined;
      for (;;) {
        const head = decoder.decode(buffer.slice(0, Math.min(buffer.length, 200)));
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) break;
        const length = Number(/Content-Length: (\d+)/i.exec(head)![1]);
        const start = end + 4;
        if (buffer.length < start + length) break;
        const message = JSON.parse(decoder.decode(buffer.slice(start, start + length)));
        buffer = buffer.slice(start + length);
        this.#dispatch(message);
      }
    }
  }

  #dispatch(m: Message): void {
    if (m.id !== undefined && m.method === undefined) {
      this.#pending.get(m.id)?.(m);
      this.#pending.delete(m.id);
      return;
    }
    // The server asks for its settings and registers capabilities: answer as an editor would.
    if (m.id !== undefined && m.method) {
      const settings = { validate: true, hover: true, completion: true, schemas: {} };
      const result = m.method === "workspace/configuration"
        ? (m.params as { items: unknown[] }).items.map(() => settings)
        : null;
      void this.#send({ jsonrpc: "2.0", id: m.id, result });
      return;
    }
    for (const l of this.#listeners) l(m);
  }

  #send(message: unknown): Promise<void> {
    const body = new TextEncoder().encode(JSON.stringify(message));
    const head = new TextEncoder().encode(`Content-Length: ${body.length}\r\n\r\n`);
    return this.#writer.write(new Uint8Array([...head, ...body]));
  }

  async request(method: string, params: unknown): Promise<unknown> {
    const id = this.#next++;
    const reply = new Promise<Message>((resolve) => this.#pending.set(id, resolve));
    await this.#send({ jsonrpc: "2.0", id, method, params });
    return (await reply).result;
  }

  notify(method: string, params: unknown): Promise<void> {
    return this.#send({ jsonrpc: "2.0", method, params });
  }

  /** The next notification `method` that `accept` takes. */
  next(method: string, accept: (params: unknown) => boolean): Promise<unknown> {
    return new Promise((resolve) => {
      const l = (m: Message) => {
        if (m.method !== method || !accept(m.params)) return;
        this.#listeners = this.#listeners.filter((x) => x !== l);
        resolve(m.params);
      };
      this.#listeners.push(l);
    });
  }

  async close(): Promise<void> {
    await this.request("shutdown", null).catch(() => {});
    await this.notify("exit", null).catch(() => {});
    await this.#writer.close().catch(() => {});
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 5000);
    await this.#child.status;
    clearTimeout(timer);
    await this.#done.catch(() => {});
  }
}

const text = (contents: unknown): string =>
  typeof contents === "string" ? contents : JSON.stringify(contents);

Deno.test({
  name: "yaml-language-server completes and explains a task's keys from the flow schema",
  // The server keeps timers of its own after shutdown.
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const client = new Client();
    try {
      await client.request("initialize", {
        processId: null,
        rootUri: null,
        capabilities: {
          workspace: { configuration: true },
          textDocument: {
            completion: { completionItem: { documentationFormat: ["markdown", "plaintext"] } },
            hover: { contentFormat: ["markdown", "plaintext"] },
          },
        },
      });
      await client.notify("initialized", {});
      const uri = "file:///tmp/orchestra-lsp/flow.yaml";
      const doc = [
        `# yaml-language-server: $schema=${SCHEMA}`,
        "tasks:",
        "  build:",
        "    needs: [fetch]",
        "    timeout: 5",
        "    ",
        "  fetch:",
        "    run: echo",
      ].join("\n");
      const diagnostics = client.next(
        "textDocument/publishDiagnostics",
        (p) => (p as { uri: string; diagnostics: unknown[] }).diagnostics.length > 0,
      );
      await client.notify("textDocument/didOpen", {
        textDocument: { uri, languageId: "yaml", version: 1, text: doc },
      });
      const completion = await client.request("textDocument/completion", {
        textDocument: { uri },
        position: { line: 5, character: 4 },
      }) as { items: { label: string; documentation?: unknown }[] };
      const items = new Map(completion.items.map((i) => [i.label, i]));
      for (const key of ["run", "uses", "steps", "strategy", "timeout-minutes", "if", "env"]) {
        assert.ok(items.has(key), `completion offers ${key}: ${[...items.keys()].join(", ")}`);
      }
      assert.match(text(items.get("timeout-minutes")!.documentation), /in minutes/);
      assert.match(text(items.get("strategy")!.documentation), /matrix/i);
      const hover = await client.request("textDocument/hover", {
        textDocument: { uri },
        position: { line: 3, character: 6 },
      }) as { contents: unknown };
      assert.match(text(hover.contents), /Tasks that must finish first/);
      const found = await diagnostics as {
        diagnostics: { message: string; range: { start: unknown } }[];
      };
      assert.ok(
        found.diagnostics.some((d) =>
          /a bare number has no unit/.test(d.message) &&
          JSON.stringify(d.range.start) === '{"line":4,"character":13}'
        ),
        JSON.stringify(found.diagnostics),
      );
    } finally {
      await client.close();
    }
  },
});
