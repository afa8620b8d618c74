/**
 * An Orchestrator in a plain Deno script: flows run in the background, at most two at a time,
 * each recorded in SQLite in the state dir; a run a crash interrupted is resumed on start.
 *
 *     deno run -A examples/orchestrator.ts [STATE_DIR]
 */

import { flow, Orchestrator, task } from "@orchestra/orchestra";

/** Fetches a (pretend) page and counts its words. */
export const countWords = task("count_words", async (page: string) => {
  await new Promise((r) => setTimeout(r, 10));
  return page.split("-").length;
});

/** Adds the counts up. */
export const total = task("total", (counts: number[]) => counts.reduce((a, b) => a + b, 0));

/** Counts the words of every page. */
export const wordCount = flow(
  { name: "word_count", params: { pages: { type: "array", default: ["a-b", "c-d-e"] } } },
  (f, params) => total(f.map(params.pages as string[], countWords)),
);

/** Runs three word counts through an orchestrator and returns their results. */
export async function main(stateDir = "./.orchestra"): Promise<number[]> {
  const orchestrator = new Orchestrator({ stateDir, concurrency: 2, flows: [wordCount] });
  await orchestrator.start();
  try {
    const ids = [
      await orchestrator.invoke(wordCount),
      await orchestrator.invoke(wordCount, { pages: ["one", "two-three"] }),
      await orchestrator.invoke(wordCount, { pages: ["x-y-z-w"] }),
    ];
    const results: number[] = [];
    for (const id of ids) {
      const record = await orchestrator.wait(id);
      const status = await orchestrator.status(id);
      console.log(`${id}: ${record.status}, ${status?.tasks.length} tasks, total ${record.result}`);
      results.push(record.result as number);
    }
    const recent = await orchestrator.list({ flow: "word_count", limit: 3 });
    console.log(`${recent.length} recent runs of word_count`);
    return results;
  } finally {
    await orchestrator.stop({ graceMs: 5_000 });
  }
}

if (import.meta.main) await main(Deno.args[0]);
