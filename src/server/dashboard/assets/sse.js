// Server-Sent Events over fetch rather than EventSource: EventSource cannot send the
// Authorization header, and a token in the URL would end up in logs. Reconnects after a
// dropped connection with Last-Event-ID (the API resumes from it, nothing twice), until the
// server sends `end` or the signal aborts.

import { headers } from "./api.js";

/** Splits SSE text into events; returns the text left over (an incomplete event). */
export function parseEvents(buffer, emit) {
  let at;
  while ((at = buffer.search(/\r?\n\r?\n/)) >= 0) {
    const block = buffer.slice(0, at);
    buffer = buffer.slice(at).replace(/^\r?\n\r?\n/, "");
    const event = { id: undefined, type: "message", data: "" };
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "id") event.id = value;
      else if (field === "event") event.type = value;
      else if (field === "data") data.push(value);
    }
    event.data = data.join("\n");
    if (data.length || event.type !== "message") emit(event);
  }
  return buffer;
}

/**
 * Follows `path` as Server-Sent Events: `onEvent({ id, type, data })` for each (data parsed
 * as JSON), `onEnd()` after the `end` event. Resolves when the stream ended or was aborted.
 */
export async function follow(path, { onEvent, onEnd, onError, signal, retryMs = 1000 }) {
  let lastId;
  while (!signal.aborted) {
    try {
      const r = await fetch(path, {
        headers: headers("GET", {
          accept: "text/event-stream",
          ...(lastId !== undefined ? { "last-event-id": lastId } : {}),
        }),
        credentials: "omit",
        signal,
      });
      if (!r.ok) {
        let problem = {};
        try {
          problem = await r.json();
        } catch { /* not JSON */ }
        if (r.status === 401) dispatchEvent(new CustomEvent("orchestra:unauthorized"));
        onError?.(problem.detail || `HTTP ${r.status}`);
        return;
      }
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      let ended = false;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer = parseEvents(buffer + value, (e) => {
          if (e.id !== undefined) lastId = e.id;
          if (e.type === "end") ended = true;
          let data = null;
          try {
            data = e.data ? JSON.parse(e.data) : null;
          } catch {
            data = e.data;
          }
          if (e.type === "end") onEnd?.(data);
          else onEvent({ id: e.id, type: e.type, data });
        });
      }
      if (ended) return;
    } catch (e) {
      if (signal.aborted) return;
      onError?.(`Connection lost (${e?.message ?? e}); reconnecting`);
    }
    // Dropped without `end` (a restart, a proxy): pick up where it stopped.
    await new Promise((resolve) => {
      const t = setTimeout(resolve, retryMs);
      signal.addEventListener("abort", () => {
        clearTimeout(t);
        resolve();
      }, { once: true });
    });
  }
}
