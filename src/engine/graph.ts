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
import { Edges } from "./edges.ts";
import { CANCELLED, isRef, type MapState, Node, RUNNING, valueOf } from "./node.ts";

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
  /** The run's edges. */
  readonly edges: Edges = new Edges();
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

  /** Frees the edges once every call has settled (before the run's record is built). */
  release(): void {
    this.#closed = true;
    this.edges.clear();
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

  /**
   * The dependencies of a call that has not started (the references in its arguments), each
   * once, in the order the call passes them; null when it has none.
   */
  depsOf(node: Node): Node[] | null {
    if (node.state >= RUNNING) return null;
    let deps: Node[] | null = null;
    // Short lists are de-duplicated by looking; long ones (a fan-in) with a set.
    let seen: Set<Node> | undefined;
    const add = (d: Node) => {
      if (deps === null) deps = [d];
      else if (seen !== undefined) {
        if (!seen.has(d)) {
          seen.add(d);
          deps.push(d);
        }
      } else if (!deps.includes(d)) {
        deps.push(d);
        if (deps.length > 16) seen = new Set(deps);
      }
    };
    const refs = node.more?.refs;
    if (refs) { for (const d of refs) add(d); }
    else {
      const args = node.args;
      for (let i = 0; i < args.length; i++) {
        const a = args[i];
        if (a instanceof Node) add(a);
      }
    }
    return deps;
  }

  /** The dependents still waiting for a node, in call order; null when none are. */
  dependentsOf(node: Node): Node[] | null {
    return this.edges.dependentsOf(node);
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

  /** Takes the id of a call made later (see `CallIds.reserve`). */
  reserveId(name: string, explicit?: string): string {
    return this.#ids.reserve(name, explicit);
  }

  /** Makes item `index` of a map group, called with `value`. */
  item(group: Node, index: number, value: unknown): Node {
    const item = new Node(`${group.id}[${index}]`, this.#seq++, group.task, group.config);
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
    const args = node.args;
    const more = node.more;
    if (more !== null && more.refs !== null) {
      more.refs = null;
      for (let i = 0; i < args.length; i++) args[i] = substitute(args[i], isRef, valueOf);
    } else {
      for (let i = 0; i < args.length; i++) {
        const a = args[i];
        if (a instanceof Node) args[i] = a.value;
      }
    }
  }

  #node(task: TaskDefinition, explicitId?: string): Node {
    if (this.#closed) {
      throw new RunCancelledError(this.#settings.runId, "no task can be added after the run ended");
    }
    const { config, issues } = this.#configs.get(task);
    if (issues.length) throw new FlowValidationError(this.#settings.flow, issues);
    const id = explicitId === undefined ? this.#ids.next(config.name) : this.#ids.claim(explicitId);
    return new Node(id, this.#seq++, task, config);
  }

  #scan(node: Node, args: readonly unknown[]): void {
    // Primitives and top-level references are handled here without allocating; anything
    // nested goes through the full JSON check, which also finds references inside it. A call
    // with nested references keeps them all, top-level ones too, in the order it passes them.
    const edges = this.edges;
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (a instanceof Node) {
        if (node.more !== null && node.more.refs !== null) node.addRef(a);
        if (edges.link(node, a)) node.pending++;
      } else if (a !== null && typeof a === "object") {
        this.#scanNested(node, args, i);
      } else if (a !== undefined && a !== null) {
        const t = typeof a;
        if (t !== "string" && t !== "boolean" && !(t === "number" && Number.isFinite(a))) {
          this.#refuse(node, () => scanArgs(node.id, [a], isRef, () => {}, i));
        }
      }
    }
  }

  /** Scans argument `i`, an array or object, for references (and checks it is JSON). */
  #scanNested(node: Node, args: readonly unknown[], i: number): void {
    const edges = this.edges;
    this.#refuse(node, () =>
      scanArgs(node.id, [args[i]], isRef, (r) => {
        if (node.more === null || node.more.refs === null) {
          // The first nested reference: the ones before it at the top level are kept too.
          for (let k = 0; k < i; k++) if (args[k] instanceof Node) node.addRef(args[k] as Node);
        }
        node.addRef(r as Node);
        if (edges.link(node, r as Node)) node.pending++;
      }, i));
  }

  /** Runs a check that throws when an argument is not JSON: then the call must never run. */
  #refuse(node: Node, check: () => void): void {
    try {
      check();
    } catch (e) {
      // Marked settled: it must not run when the references it linked settle.
      node.state = CANCELLED;
      throw e;
    }
  }

  #link(node: Node, dep: Node): void {
    if (this.edges.link(node, dep)) node.pending++;
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
