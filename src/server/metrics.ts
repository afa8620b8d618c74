/**
 * The server's metrics, written in Prometheus' text format (version 0.0.4) for `GET /metrics`:
 * counters, gauges and histograms with labels. Small on purpose: the server only counts and
 * observes, and the format is a few lines of text.
 *
 * @module
 */

type Labels = Record<string, string>;

function key(labels: Labels): string {
  return Object.keys(labels).sort().map((k) => `${k}\u0000${labels[k]}`).join("\u0001");
}

function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"');
}

function labelText(labels: Labels, extra?: [string, string]): string {
  const all = Object.entries(labels);
  if (extra) all.push(extra);
  if (all.length === 0) return "";
  return `{${all.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`;
}

function num(n: number): string {
  return Number.isFinite(n) ? String(n) : n > 0 ? "+Inf" : n < 0 ? "-Inf" : "NaN";
}

interface Metric {
  write(out: string[]): void;
}

/** A counter or a gauge: a value per label set. */
export class Series implements Metric {
  readonly #values = new Map<string, { labels: Labels; value: number }>();
  /** Creates it; register it with {@linkcode Metrics}. */
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: "counter" | "gauge",
  ) {}

  /** Adds `by` (1) to the value of `labels`. */
  inc(labels: Labels = {}, by = 1): void {
    const k = key(labels);
    const v = this.#values.get(k);
    if (v) v.value += by;
    else this.#values.set(k, { labels, value: by });
  }

  /** Sets the value of `labels` (a gauge). */
  set(labels: Labels, value: number): void {
    this.#values.set(key(labels), { labels, value });
  }

  /** The value of `labels` (0 when never set). */
  get(labels: Labels = {}): number {
    return this.#values.get(key(labels))?.value ?? 0;
  }

  /** Writes its lines. */
  write(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`);
    for (const { labels, value } of this.#values.values()) {
      out.push(`${this.name}${labelText(labels)} ${num(value)}`);
    }
  }
}

/** A histogram: counts of observations per bucket, their sum and count, per label set. */
export class Histogram implements Metric {
  readonly #values = new Map<
    string,
    { labels: Labels; counts: number[]; sum: number; n: number }
  >();
  /** Creates it with upper bounds `buckets` (seconds, ascending). */
  constructor(readonly name: string, readonly help: string, readonly buckets: readonly number[]) {}

  /** Records one observation. */
  observe(labels: Labels, value: number): void {
    const k = key(labels);
    let v = this.#values.get(k);
    if (!v) this.#values.set(k, v = { labels, counts: this.buckets.map(() => 0), sum: 0, n: 0 });
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]) v.counts[i]++;
    v.sum += value;
    v.n++;
  }

  /** How many observations `labels` has. */
  count(labels: Labels): number {
    return this.#values.get(key(labels))?.n ?? 0;
  }

  /** Writes its lines. */
  write(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    for (const { labels, counts, sum, n } of this.#values.values()) {
      this.buckets.forEach((b, i) => {
        out.push(`${this.name}_bucket${labelText(labels, ["le", num(b)])} ${counts[i]}`);
      });
      out.push(`${this.name}_bucket${labelText(labels, ["le", "+Inf"])} ${n}`);
      out.push(`${this.name}_sum${labelText(labels)} ${num(sum)}`);
      out.push(`${this.name}_count${labelText(labels)} ${n}`);
    }
  }
}

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/**
 * Every metric the server exports.
 *
 * @example
 * ```ts
 * import { Metrics } from "./metrics.ts";
 * const m = new Metrics();
 * m.runs.inc({ flow: "etl", status: "succeeded" });
 * console.assert(m.text().includes('orchestra_runs_total{flow="etl",status="succeeded"} 1'));
 * ```
 */
export class Metrics {
  /** Runs that ended, by flow and status. */
  readonly runs = new Series(
    "orchestra_runs_total",
    "Runs that ended, by flow and status",
    "counter",
  );
  /** Runs started, by flow and trigger. */
  readonly started = new Series(
    "orchestra_runs_started_total",
    "Runs started, by flow and trigger (api, schedule, webhook, retry, resume)",
    "counter",
  );
  /** Runs running now, by flow. */
  readonly running = new Series("orchestra_runs_running", "Runs running now, by flow", "gauge");
  /** Tasks that settled, by flow and status. */
  readonly tasks = new Series(
    "orchestra_tasks_total",
    "Tasks that settled, by flow and status (succeeded, failed, skipped, cancelled, cached)",
    "counter",
  );
  /** Task attempt durations. */
  readonly taskSeconds = new Histogram(
    "orchestra_task_duration_seconds",
    "How long task attempts took, by flow and status",
    DURATION_BUCKETS,
  );
  /** How long a run waited between its request and its first task starting. */
  readonly queueSeconds = new Histogram(
    "orchestra_run_queue_wait_seconds",
    "From a run's request to its first task starting, by flow",
    DURATION_BUCKETS,
  );
  /** Schedule ticks, by schedule and what came of them. */
  readonly ticks = new Series(
    "orchestra_schedule_ticks_total",
    "Schedule ticks, by schedule and outcome (started, skipped, buffered, paused, failed)",
    "counter",
  );
  /** Ticks that passed while no server ran, by schedule. */
  readonly missed = new Series(
    "orchestra_schedule_missed_ticks_total",
    "Ticks missed while no server was running (caught up or not), by schedule",
    "counter",
  );
  /** HTTP requests, by method, route and status code. */
  readonly requests = new Series(
    "orchestra_http_requests_total",
    "HTTP requests, by method, route and status code",
    "counter",
  );
  /** Webhook deliveries that were a retried delivery of one already taken. */
  readonly duplicates = new Series(
    "orchestra_webhook_duplicates_total",
    "Webhook deliveries refused as a repeat of one already taken (same idempotency key), by flow",
    "counter",
  );

  /** The exposition text. */
  text(): string {
    const out: string[] = [];
    for (
      const m of [
        this.runs,
        this.started,
        this.running,
        this.tasks,
        this.taskSeconds,
        this.queueSeconds,
        this.ticks,
        this.missed,
        this.requests,
        this.duplicates,
      ]
    ) m.write(out);
    return out.join("\n") + "\n";
  }
}
