// Run ownership on PostgreSQL: leases renewed by a heartbeat, taken over once they lapsed, and
// fencing tokens that keep a presumed-dead owner from ever writing the run again.
import assert from "node:assert/strict";
import { RunLeaseLostError, type RunOwner } from "../../src/store/ownership.ts";
import { PostgresStore } from "../../src/store/postgres_store.ts";
import type { RunLease } from "../../src/store/store.ts";
import { waitFor } from "../durability/_processes.ts";
import { pgTest, withClient, withFreshSchema } from "../_helpers/postgres.ts";
import { started, taskEvents } from "./_events.ts";

const OTHER: RunOwner = { pid: 777, host: "other-machine", since: "2026-01-01T00:00:00.000Z" };

/**
 * Makes the run's lease lapse (as if its owner had been paused past its timeout) and has
 * `store` take it over. The owner's heartbeat may renew it in between: then again.
 */
async function takeOver(url: string, schema: string, store: PostgresStore, runId: string) {
  for (let i = 0; i < 20; i++) {
    await withClient(url, (sql) =>
      sql.unsafe(
        `UPDATE "${schema}".leases SET expires_at = now() - interval '1 second'
         WHERE run_id = $1`,
        [runId],
      ));
    const { lease } = await store.claimRun(runId, OTHER);
    if (lease) return lease;
  }
  throw new Error(`could not take run ${runId} over`);
}

pgTest(
  "PostgresStore: a lapsed lease taken over fences its old owner: its writes of the run are refused with RunLeaseLostError and write nothing",
  async (url) => {
    await withFreshSchema(url, async (schemaUrl, schema) => {
      // A long lease, so that only the test makes it lapse.
      const a = await PostgresStore.open(schemaUrl, { leaseTimeoutSeconds: 600 });
      const b = await PostgresStore.open(schemaUrl);
      try {
        const { lease } = await a.claimRun("r");
        assert.ok(lease);
        assert.equal(lease.signal?.aborted, false);
        await a.append([started("r"), ...taskEvents("r", 0)]);
        await a.recordProcess(process(1));
        const taken = await takeOver(url, schema, b, "r");
        assert.deepEqual((await b.getRun("r"))?.owner, OTHER);

        const lost = (e: unknown) => {
          assert.ok(e instanceof RunLeaseLostError, String(e));
          assert.equal(e.runId, "r");
          assert.deepEqual(e.owner, OTHER);
          assert.match(
            e.message,
            /^Cannot write run "r" to the state store "postgres:\/\/orchestra:\*\*\*@[^"]+": this process lost the lease of run r to process 777 on host "other-machine" since 2026-01-01T00:00:00\.000Z: its lease lapsed/,
          );
          assert.match(e.message, /give leases more time \(lease_timeout in the store URL\)$/);
          return true;
        };
        await assert.rejects(() => a.append(taskEvents("r", 1)), lost);
        assert.ok(lease.signal?.aborted, "the lease's signal tells its holder");
        assert.ok(lost(lease.signal?.reason));
        // From now on every write of the run from a is refused, without asking the server.
        await assert.rejects(
          () =>
            a.append([{ type: "run.finished", runId: "r", time: 1, flow: "f", status: "failed" }]),
          lost,
        );
        await assert.rejects(() => a.reopenRun("r"), lost);
        await assert.rejects(() => a.recordProcess(process(2)), lost);
        assert.equal((await b.events("r")).length, 4, "nothing of a's was written");
        assert.equal((await b.getRun("r"))?.status, "running");
        assert.deepEqual((await b.processes("r")).map((p) => p.pgid), [1]);
        // a cannot claim it back, and giving its lease up leaves b's alone.
        assert.deepEqual((await a.claimRun("r")).heldBy, OTHER);
        await lease.release();
        assert.deepEqual(await a.runOwner("r"), OTHER);
        // Other runs of a are not affected.
        await a.append([started("s")]);
        assert.equal((await a.getRun("s"))?.status, "running");
        // b goes on with the run.
        await b.append(taskEvents("r", 2));
        assert.deepEqual((await b.events("r")).map((e) => e.seq), [1, 2, 3, 4, 5, 6, 7]);
        await a.close();
        assert.deepEqual(await b.runOwner("r"), OTHER, "closing a releases only its own leases");
        assert.equal(await b.runOwner("s"), undefined);
        await taken.release();
      } finally {
        await a.close();
        await b.close();
      }
    });
  },
);

pgTest(
  "PostgresStore: a claim made before an append commits waits for it; an append after the claim is fenced",
  async (url) => {
    await withFreshSchema(url, async (schemaUrl, schema) => {
      const a = await PostgresStore.open(schemaUrl, { leaseTimeoutSeconds: 600 });
      const b = await PostgresStore.open(schemaUrl);
      try {
        await a.append([started("r")]);
        // Appends and a takeover at the same moment: each append either commits before the
        // claim (and b reads it) or is refused; none lands after b took over.
        const appends = Array.from({ length: 20 }, (_, i) => a.append(taskEvents("r", i)));
        const taken: Promise<RunLease> = takeOver(url, schema, b, "r");
        await taken;
        const atTakeover = (await b.events("r")).length;
        const outcomes = await Promise.allSettled(appends);
        const seen = (await b.events("r")).length;
        const written = outcomes.filter((o) => o.status === "fulfilled").length;
        assert.equal(seen, atTakeover, "nothing landed after the takeover");
        assert.equal(seen, 1 + 3 * written, "what b reads is exactly what a was told it wrote");
        for (const o of outcomes) {
          if (o.status === "rejected") assert.ok(o.reason instanceof RunLeaseLostError);
        }
        // Written ones came first: once one was refused, none after it was written.
        const first = outcomes.findIndex((o) => o.status === "rejected");
        if (first >= 0) assert.ok(outcomes.slice(first).every((o) => o.status === "rejected"));
      } finally {
        await a.close();
        await b.close();
      }
    });
  },
);

pgTest(
  "PostgresStore: a takeover waits for the owner's append in progress, so that append is never lost nor lands after it",
  async (url) => {
    await withFreshSchema(url, async (schemaUrl, schema) => {
      const a = await PostgresStore.open(schemaUrl, { leaseTimeoutSeconds: 600 });
      const b = await PostgresStore.open(schemaUrl);
      let unblock = () => {};
      let blocker: Promise<unknown> = Promise.resolve();
      try {
        await a.append([started("r")]);
        await withClient(
          url,
          (sql) =>
            sql.unsafe(`UPDATE "${schema}".leases SET expires_at = now() - interval '1 second'`),
        );
        // Another session holds the run's row, so a's append (its token still valid) waits.
        await new Promise<void>((locked) => {
          blocker = withClient(url, (sql) =>
            sql.begin(async (tx) => {
              await tx.unsafe(`SELECT 1 FROM "${schema}".runs WHERE run_id = 'r' FOR UPDATE`);
              locked();
              await new Promise<void>((r) => (unblock = r));
            }));
        });
        const appending = a.append(taskEvents("r", 0));
        // Whether a statement like `pattern` waits for a lock (the server shows the first
        // 1 kB of each statement).
        const waiting = (pattern: string) =>
          withClient(url, async (sql) =>
            Number(
              (await sql.unsafe(
                `SELECT count(*) AS n FROM pg_stat_activity
                 WHERE wait_event_type = 'Lock' AND query LIKE $1`,
                [pattern],
              ))[0].n,
            ) > 0);
        await waitFor(
          "the append to wait for the run's row",
          () => waiting(`WITH b AS%"${schema}".leases%`),
        );
        let claimed = false;
        const claiming = b.claimRun("r", OTHER).finally(() => claimed = true);
        await waitFor(
          "the claim to wait for the append",
          async () => claimed || await waiting(`%"${schema}".lease_tokens%`),
        );
        assert.equal(claimed, false, "the claim took the lease while an append was under way");
        unblock();
        await appending;
        assert.ok((await claiming).lease, "once the append committed, the claim went through");
        assert.equal((await b.events("r")).length, 4, "the new owner reads the append");
        await assert.rejects(() => a.append(taskEvents("r", 1)), RunLeaseLostError);
      } finally {
        unblock();
        await blocker;
        await a.close();
        await b.close();
      }
    });
  },
);

pgTest(
  "PostgresStore: the heartbeat keeps a live owner's lease past its timeout; stopped (SIGSTOP), the lease lapses, another store takes the run, and the owner, continued, is fenced",
  async (url) => {
    await withFreshSchema(url, async (schemaUrl) => {
      const holderUrl = `${schemaUrl}&lease_timeout=2`;
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-prompt", "tests/store/_lease_holder.ts", holderUrl, "r"],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      let out = "";
      const reading = (async () => {
        for await (const s of child.stdout.pipeThrough(new TextDecoderStream())) out += s;
      })();
      const errors = new Response(child.stderr).text();
      const stdin = child.stdin.getWriter();
      const b = await PostgresStore.open(schemaUrl);
      let stopped = false;
      try {
        await waitFor("the holder to start the run", () => out.includes("held\n"));
        // Two and a half lease timeouts: renewed all along, it is still the holder's.
        await new Promise((r) => setTimeout(r, 5000));
        assert.equal((await b.runOwner("r"))?.pid, child.pid, out);
        assert.ok((await b.claimRun("r", OTHER)).heldBy, "a live owner's run cannot be taken");

        Deno.kill(child.pid, "SIGSTOP"); // paused: no heartbeat
        stopped = true;
        await waitFor(
          "the paused owner's lease to lapse",
          async () => (await b.getRun("r"))?.status === "interrupted",
        );
        const { lease } = await b.claimRun("r", OTHER);
        assert.ok(lease, "a lapsed lease may be taken over");
        await b.append(taskEvents("r", 1));
        Deno.kill(child.pid, "SIGCONT");
        stopped = false;

        // Its next heartbeat finds the lease taken over; its next append is refused.
        await waitFor("the owner to notice", () => out.includes("lost: "));
        await stdin.write(new TextEncoder().encode("append\n"));
        await waitFor("the owner's append", () => /\n(refused|appended)/.test(out));
        assert.match(
          out,
          /\nrefused: RunLeaseLostError: Cannot write run "r" to the state store "[^"]+": this process lost the lease of run r to process 777 on host "other-machine"/,
        );
        assert.deepEqual(
          (await b.events("r")).map((e) => (e.event as { taskId?: string }).taskId ?? e.event.type),
          ["run.started", "t1", "t1", "t1"],
          "nothing of the old owner's after the takeover",
        );
        assert.deepEqual(await b.runOwner("r"), OTHER);
        await stdin.close();
        assert.equal((await child.status).code, 0, await errors);
        assert.deepEqual(await b.runOwner("r"), OTHER, "its close left the new owner's lease");
      } finally {
        if (stopped) Deno.kill(child.pid, "SIGCONT");
        await stdin.close().catch(() => {});
        try {
          child.kill("SIGKILL");
        } catch {
          // ended
        }
        await child.status;
        await reading;
        await errors;
        await b.close();
      }
    });
  },
);

function process(pgid: number) {
  return {
    runId: "r",
    taskId: "t0",
    host: "h",
    pgid,
    identity: `boot:${pgid}`,
    startedAt: new Date().toISOString(),
  };
}

pgTest(
  "PostgresStore: an owner stopped in the middle of an append does not keep its locks: the server ends its session after the lease's timeout, the run is taken over, and the append is lost, not late",
  async (url) => {
    await withFreshSchema(url, async (schemaUrl, schema) => {
      const holder = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--no-prompt",
          "tests/store/_lease_holder.ts",
          `${schemaUrl}&lease_timeout=1`,
          "r",
        ],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      let out = "";
      const reading = (async () => {
        for await (const s of holder.stdout.pipeThrough(new TextDecoderStream())) out += s;
      })();
      const errors = new Response(holder.stderr).text();
      const stdin = holder.stdin.getWriter();
      // Bounded: should the stopped owner keep its locks, b's claim fails instead of waiting.
      const b = await PostgresStore.open(`${schemaUrl}&lock_timeout=10000`);
      let unblock = () => {};
      let blocker: Promise<unknown> = Promise.resolve();
      let stopped = false;
      try {
        await waitFor("the holder to start the run", () => out.includes("held\n"));
        await new Promise<void>((locked) => {
          blocker = withClient(url, (sql) =>
            sql.begin(async (tx) => {
              await tx.unsafe(`SELECT 1 FROM "${schema}".runs WHERE run_id = 'r' FOR UPDATE`);
              locked();
              await new Promise<void>((r) => (unblock = r));
            }));
        });
        await stdin.write(new TextEncoder().encode("append\n"));
        await waitFor(
          "the holder's append to wait for the run's row",
          () =>
            withClient(url, async (sql) =>
              (await sql.unsafe(
                `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`,
                [`WITH b AS%"${schema}".leases%`],
              )).length > 0),
        );
        // Stopped with its transaction open: the statement completes, the commit never comes.
        Deno.kill(holder.pid, "SIGSTOP");
        stopped = true;
        unblock();
        await blocker;
        await waitFor(
          "another store to take the run over",
          async () => (await b.claimRun("r", OTHER)).lease !== undefined,
        );
        assert.equal((await b.events("r")).length, 1, "the stopped owner's append is not there");
        await b.append(taskEvents("r", 1));
        Deno.kill(holder.pid, "SIGCONT");
        stopped = false;
        await waitFor("the holder's append to end", () => /\n(refused|appended)/.test(out));
        assert.match(
          out,
          /\nrefused: RunLeaseLostError: Cannot write run "r" to the state store "[^"]+": this process lost the lease of run r to process 777/,
          "the dropped connection is explained",
        );
        assert.deepEqual((await b.events("r")).map((e) => e.seq), [1, 2, 3, 4]);
        await stdin.close();
        await holder.status;
      } finally {
        if (stopped) Deno.kill(holder.pid, "SIGCONT");
        unblock();
        await blocker;
        await stdin.close().catch(() => {});
        try {
          holder.kill("SIGKILL");
        } catch {
          // ended
        }
        await holder.status;
        await reading;
        await errors;
        await b.close();
      }
    });
  },
);
