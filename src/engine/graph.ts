/**
 * Graph building: each task call the body makes becomes a {@linkcode Node} with a deterministic
 * id, its settings, and edges to the calls whose references its arguments hold (also inside
 * arrays and objects); `f.map` makes a group whose items are added when its list is known.
 * References are replaced by their values when the call starts.
 *
 * @module
 */

import { FlowValidationError, RunCancelledError } from "../core/errors.ts";
import { type CallOptions, PROTOCOL_VERSION, type TaskDefinition } from "../core/protocol.ts";
import type { TaskSettings } from "../core/model.ts";
import type { PermissionSet } from "../core/permissions.ts";
import { CallIds, scanArgs, substitute, TaskConfigs } from "./calls.ts";
import { isRef, type MapState, Node, valueOf } from "./node.ts";

/** The default bound on how many items one `map` may expand into. */
export const DEFAULT_MAP_LIMIT = 10_000;

/** Options of `f.map`. */
export interface MapOptions extends CallOptions {
  /** The most items of this map running at once. @default unlimited */
  concurrency?: number;
  /** The most items this map may expand into. @default 10_000 */
  maxItems?: number;
  /**
   * Computes the list from `items` once the references in it are resolved, so `items` may be
   * any value holding references (e.g. an object of them). @default the value itself
   */
  select?: (value: unknown) => unknown;
}

/** Where the graph's new nodes go: the scheduler. */
export interface GraphSink {
  /** Takes a new node into the run. */
  add(node: Node): void;
  /** Expands a map group over `list` (its items are made by {@linkcode GraphBuilder.item}). */
  expand(group: Node, list: unknown): void;
}

/** What settings every task of the flow shares. */
export interface GraphSettings {
  /** The flow's name (for validation errors). */
  flow: string;
  /** The run's id (for the error of a call after the run ended). */
  runId: string;
  /** Task settings of the flow. */
  defaults: TaskSettings | undefined;
  /** The flow's permission ceiling. */
  ceiling: PermissionSet | undefined;
  /** The flow's sandbox mode. */
  sandbox: "strict" | boolean | undefined;
  /** Executors the run offers besides this build's own (`RunOptions.executors`). */
  executors?: readonly string[];
  /** Where relative permission paths resolve when compared with the ceiling. */
  baseDir?: string;
}

/** The task definition behind a task function, or a clear error. */
export function taskDefinitionOf(task: unknown): TaskDefinition {
  if (
    (typeof task === "function" || (typeof task === "object" && task !== null)) &&
    (task as Record<symbol, unknown>)[Symbol.for("orchestra.task")] === PROTOCOL_VERSION
  ) {
    return task as TaskDefinition;
  }
  throw new TypeError(
    `Expected a task made with task(), got ${typeof task}; wrap the function with task("name", fn)`,
  );
}

/**
 * Builds one run's graph from the body's calls.
 *
 * @example
 * ```ts ignore
 * const graph = new GraphBuilder(settings, scheduler);
 * const a = graph.call(load, ["users"]);
 * const b = graph.call(save, [a]); // b needs a
 * ```
 */
export class GraphBuilder {
  readonly #settings: GraphSettings;
  readonly #sink: GraphSink;
  readonly #configs: TaskConfigs;
  readonly #ids = new CallIds();
  #seq = 0;
  #closed = false;

  /** A builder of the graph of one run, handing new nodes to `sink`. */
  constructor(settings: GraphSettings, sink: GraphSink) {
    this.#settings = settings;
    this.#sink = sink;
    this.#configs = new TaskConfigs(
      settings.defaults,
      settings.ceiling,
      settings.sandbox,
      {
        ...(settings.executors ? { executors: settings.executors } : {}),
        ...(settings.baseDir !== undefined ? { baseDir: settings.baseDir } : {}),
      },
    );
  }

  /** No call may be added from now on (the run ended or is being cancelled). */
  close(): void {
    this.#closed = true;
  }

  /** Adds a call of `task` with `args` (the call's own array: it is kept and resolved in place). */
  call(task: TaskDefinition, args: unknown[], options?: CallOptions): Node {
    const node = this.#node(task, options?.id);
    if (options?.condition) node.condition = options.condition;
    this.#scan(node, args);
    node.args = args;
    this.#sink.add(node);
    return node;
  }

  /** Adds a `f.map` group over `items` (a list, a reference, or a value holding references). */
  map(items: unknown, task: unknown, options: MapOptions = {}): Node {
    const def = taskDefinitionOf(task);
    const group = this.#node(def, options.id);
    if (options.condition) group.condition = options.condition;
    group.map = mapState(group.id, options);
    if (items instanceof Node) {
      group.args = [items];
      this.#link(group, items);
      this.#sink.add(group);
    } else if (Array.isArray(items) && options.select === undefined && group.condition === null) {
      // A literal list (no args kept): the group expands right away.
      this.#sink.add(group);
      this.#sink.expand(group, items);
    } else if (options.select !== undefined || group.condition !== null || Array.isArray(items)) {
      // The list is computed when the references in `items` are resolved.
      const args = [items];
      this.#scan(group, args);
      group.args = args;
      this.#sink.add(group);
    } else {
      throw new TypeError(
        `f.map() of "${group.id}" needs a list or a task reference, got ${typeof items}`,
      );
    }
    return group;
  }

  /** Makes item `index` of a map group, called with `value`. */
  item(group: Node, index: number, value: unknown): Node {
    const cfg = group.config;
    const item = new Node(`${group.id}[${index}]`, this.#seq++, group.task, cfg, cfg.priority);
    item.group = group;
    const args = [value];
    this.#scan(item, args);
    item.args = args;
    return item;
  }

  /** The input of a map group, references replaced by their values. */
  mapInput(group: Node): unknown {
    const input = group.args[0];
    return input instanceof Node ? input.value : substitute(input, isRef, valueOf);
  }

  /** Replaces the references in a starting call's arguments by their values, in place. */
  resolve(node: Node): void {
    if (node.deps === null) return;
    const args = node.args;
    if (node.nestedRefs) {
      for (let i = 0; i < args.length; i++) args[i] = substitute(args[i], isRef, valueOf);
    } else {
      for (let i = 0; i < args.length; i++) {
        const a = args[i];
        if (a instanceof Node) args[i] = a.value;
      }
    }
    node.deps = null;
  }

  #node(task: TaskDefinition, explicitId?: string): Node {
    if (this.#closed) {
      throw new RunCancelledError(this.#settings.runId, "no task can be added after the run ended");
    }
    const { config, issues } = this.#configs.get(task);
    if (issues.length) throw new FlowValidationError(this.#settings.flow, issues);
    const id = explicitId === undefined ? this.#ids.next(config.name) : this.#ids.claim(explicitId);
    return new Node(id, this.#seq++, task, config, config.priority);
  }

  #scan(node: Node, args: readonly unknown[]): void {
    // Primitives and top-level references are handled here without allocating; anything
    // nested goes through the full JSON check, which also finds references inside it.
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (a instanceof Node) {
        this.#link(node, a);
      } else if (a !== null && typeof a === "object") {
        scanArgs(node.id, [a], isRef, (r) => this.#link(node, r as Node), i);
        if (node.deps !== null) node.nestedRefs = true;
      } else if (a !== undefined && a !== null) {
        const t = typeof a;
        if (t !== "string" && t !== "boolean" && !(t === "number" && Number.isFinite(a))) {
          scanArgs(node.id, [a], isRef, () => {}, i);
        }
      }
    }
  }

  #link(node: Node, dep: Node): void {
    // A node's references are linked all at once, so one mark per dependency de-duplicates.
    if (dep.linkedTo === node) return;
    dep.linkedTo = node;
    if (node.deps === null) node.deps = [dep];
    else node.deps.push(dep);
    if (!dep.settled) {
      node.pending++;
      if (dep.dependents === null) dep.dependents = [node];
      else dep.dependents.push(node);
    }
  }
}

function mapState(id: string, options: MapOptions): MapState {
  const map: MapState = {
    items: null,
    left: 0,
    limit: Infinity,
    running: 0,
    parked: null,
    maxItems: options.maxItems ?? DEFAULT_MAP_LIMIT,
    select: options.select ?? null,
  };
  if (options.concurrency !== undefined) {
    if (!(Number.isInteger(options.concurrency) && options.concurrency >= 1)) {
      throw new RangeError(
        `f.map() of "${id}": concurrency must be a whole number ≥ 1, got ${options.concurrency}`,
      );
    }
    map.limit = options.concurrency;
  }
  return map;
}
