/**
 * The check step of the compiler: every `${{ }}` parsed, the names it uses checked against
 * where it stands, and what it reads recorded (upstream tasks, params, secrets), every problem
 * at its file:line:col with a hint that translates GitHub's words where they differ.
 *
 * @module
 */

import type { SourceLocation, ValidationIssue } from "../../core/errors.ts";
import {
  calledFunctions,
  type Expr,
  ExpressionSyntaxError,
  parseExpression,
  parseTemplate,
  type Template,
} from "./expressions/mod.ts";
import type { Place, TaskShape } from "./expressions/contexts.ts";
import {
  checkAgainstFlow,
  type FlowFacts,
  type Site,
  textIssues,
} from "./expressions/flow_checks.ts";
import { constantCondition } from "./expressions/lint.ts";
import type { CompiledCondition, OutputNames } from "./compiled.ts";
import type { FlowSpec, TaskSpec } from "./spec.ts";
import type { YamlPath, YamlSource } from "./source.ts";

/** Where an expression stands: what it may read (see {@linkcode Place}). */
export interface Scope {
  /** The task it belongs to (none for the flow's env and name). */
  task?: TaskSpec;
  /** The kind of place. */
  place: Place;
  /** The matrix keys a leg has, when the task has a matrix; undefined when they are open. */
  matrixKeys?: readonly string[];
  /** Inside steps: the ids of the steps before this one, which it may read as `steps.<id>`. */
  steps?: readonly string[];
  /** Env variables it may read besides the flow's and the task's (a step's own). */
  env?: readonly string[];
  /** The file, when not the task's. */
  source?: YamlSource;
  /** What it belongs to, in messages: `task "build"` (the default), `step "Test" of job "ci"`. */
  what?: string;
}

/** A read of another task that must be upstream, checked once every task is known. */
export interface PendingRead {
  /** The reading task. */
  task: TaskSpec;
  /** The task read. */
  id: string;
  /** Where. */
  at: SourceLocation;
  /** Whether it reads a status outside `if:`. */
  status: boolean;
}

/** What decides which contexts exist in task `t`'s expressions. */
export function shapeOf(t: TaskSpec): TaskShape {
  return {
    foreach: t.fields.foreach !== undefined,
    matrix: t.fields.strategy !== undefined,
    steps: t.fields.steps !== undefined,
  };
}

function directNeeds(t: TaskSpec): string[] {
  const n = t.fields.needs;
  return n === undefined ? [] : typeof n === "string" ? [n] : n;
}

/** Checks expressions of one flow and records what they read. */
export class Checker {
  /** Every problem found. */
  readonly issues: ValidationIssue[];
  /** Reads of other tasks, checked once every task's needs are known. */
  readonly pendingReads: PendingRead[] = [];
  /** The secrets each task's expressions read. */
  readonly secretRefs: Map<string, Set<string>> = new Map();
  /** The params each task's expressions read ("" for the flow's env: everyone). */
  readonly paramRefs: Map<string, Set<string>> = new Map();
  /** The outputs each task offers (set before any task is compiled). */
  readonly outputs: Map<string, OutputNames> = new Map();
  readonly #spec: FlowSpec;
  readonly #ids: string[];
  readonly #tasks: Map<string, TaskSpec>;
  #facts?: FlowFacts;

  /** A checker for `spec`, whose problems so far it keeps. */
  constructor(spec: FlowSpec) {
    this.#spec = spec;
    this.issues = [...spec.issues];
    this.#ids = spec.tasks.map((t) => t.id);
    this.#tasks = new Map(spec.tasks.map((t) => [t.id, t]));
  }

  /** The flow's spec. */
  get spec(): FlowSpec {
    return this.#spec;
  }

  /** Whether a task has id `id`. */
  hasTask(id: string): boolean {
    return this.#tasks.has(id);
  }

  /** Every task's id, in file order. */
  get ids(): readonly string[] {
    return this.#ids;
  }

  /** Records a problem (an error unless `severity` says it is a warning). */
  issueAt(
    t: TaskSpec | undefined,
    location: SourceLocation,
    message: string,
    hint?: string,
    severity?: "error" | "warning",
  ): void {
    const i: ValidationIssue = { message, location };
    if (t) i.taskId = t.id;
    if (hint) i.hint = hint;
    if (severity === "warning") i.severity = severity;
    this.issues.push(i);
  }

  // What expressions may read: the flow's declarations. Built on first use, once every
  // task's outputs are known.
  #flowFacts(): FlowFacts {
    this.#facts ??= {
      ...(this.#spec.fields.params ? { params: this.#spec.fields.params } : {}),
      env: Object.keys(this.#spec.fields.env ?? {}),
      tasks: this.#spec.tasks.map((t) => {
        const offered = this.outputs.get(t.id);
        return {
          id: t.id,
          outputs: offered ? [...offered.names] : Object.keys(t.fields.outputs ?? {}),
          open: offered?.open ?? false,
        };
      }),
    };
    return this.#facts;
  }

  #site(scope: Scope): Site {
    const t = scope.task;
    const site: Site = { place: scope.place, workflow: this.#spec.form === "workflow" };
    if (!t) return site;
    site.task = {
      id: t.id,
      env: [...Object.keys(t.fields.env ?? {}), ...scope.env ?? []],
      shape: shapeOf(t),
      needs: directNeeds(t),
      ...(scope.matrixKeys ? { matrixKeys: scope.matrixKeys } : {}),
      ...(scope.steps ? { steps: scope.steps } : {}),
    };
    return site;
  }

  /** Parses and checks a text with `${{ }}`; undefined (and an issue) when it does not parse. */
  template(text: string, path: YamlPath, scope: Scope): Template | undefined {
    const source = scope.source ?? scope.task?.source ?? this.#spec.source;
    let tpl: Template;
    try {
      tpl = parseTemplate(text);
    } catch (e) {
      if (!(e instanceof ExpressionSyntaxError)) throw e;
      this.issueAt(
        scope.task,
        source.locateInString(path, e.offset),
        `Expression error: ${e.reason}`,
        e.hint,
      );
      return undefined;
    }
    for (const part of tpl.parts) {
      if (typeof part !== "string") this.check(part.expr, path, scope);
    }
    for (const p of textIssues(tpl, this.#flowFacts(), this.#site(scope))) {
      this.issueAt(scope.task, source.locateInString(path, p.start), p.message, p.hint, p.severity);
    }
    return tpl;
  }

  /** Checks the `${{ }}` strings anywhere inside a value (a plugin's `with:`). */
  templatesIn(value: unknown, path: YamlPath, scope: Scope): void {
    if (typeof value === "string" && value.includes("${{")) this.template(value, path, scope);
    else if (Array.isArray(value)) {
      value.forEach((v, i) => this.templatesIn(v, [...path, i], scope));
    } else if (value !== null && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) this.templatesIn(v, [...path, k], scope);
    }
  }

  /**
   * Parses an `if:` (`scope.place` is `if` or `step-if`): one expression, bare or in `${{ }}`,
   * or a boolean. Undefined when it does not parse or is text with expressions in it, which
   * GitHub reads as a non-empty text, always true (an issue says why).
   */
  condition(
    value: string | boolean,
    path: YamlPath,
    scope: Scope,
  ): CompiledCondition | boolean | undefined {
    if (typeof value === "boolean") return value;
    const t = scope.task;
    const what = scope.what ?? (t ? `task "${t.id}"` : "the flow");
    const source = scope.source ?? t?.source ?? this.#spec.source;
    const text = value.trim();
    // Offsets in `text` are offsets in the value after its leading whitespace.
    const shift = value.length - value.trimStart().length;
    let expr: Expr;
    try {
      if (text.includes("${{")) {
        const tpl = parseTemplate(text);
        if (!tpl.whole) {
          const one = tpl.parts.map((p) => typeof p === "string" ? p : p.source.trim()).join("");
          this.issueAt(
            t,
            source.locateInString(path, shift),
            `\`if\` of ${what} is always true: ${JSON.stringify(text)} is text with ` +
              "expressions in it, not one expression, and a non-empty text is true",
            `write one expression: \`if: \${{ ${one} }}\` (or without \${{ }})`,
          );
          return undefined;
        }
        expr = (tpl.parts[0] as { expr: Expr }).expr;
      } else expr = parseExpression(text);
    } catch (e) {
      if (!(e instanceof ExpressionSyntaxError)) throw e;
      this.issueAt(
        t,
        source.locateInString(path, e.offset + shift),
        `Expression error in \`if\`: ${e.reason}`,
        e.hint,
      );
      return undefined;
    }
    this.check(expr, path, scope, shift);
    const fixed = constantCondition(expr);
    if (fixed) {
      const message = fixed.message.replace(/^The condition/, `\`if\` of ${what}`);
      const at = source.locateInString(path, fixed.start + shift);
      this.issueAt(t, at, message, fixed.hint, "warning");
    }
    // Called, not merely mentioned (in a string, say): only then may it run after a failure.
    const always = calledFunctions(expr).some((fn) =>
      ["failure", "always", "cancelled"].includes(fn.name.toLowerCase())
    );
    const bare = text.replace(/^\$\{\{\s*/, "").replace(/\s*\}\}$/, "");
    return { expr, text: JSON.stringify(bare), always };
  }

  /** Checks one expression at `path` (offsets shifted by `shift`), and records what it reads. */
  check(expr: Expr, path: YamlPath, scope: Scope, shift = 0): void {
    const t = scope.task;
    const source = scope.source ?? t?.source ?? this.#spec.source;
    const at = (offset: number) => source.locateInString(path, offset + shift);
    const found = checkAgainstFlow(expr, this.#site(scope), this.#flowFacts());
    for (const p of found.issues) this.issueAt(t, at(p.start), p.message, p.hint, p.severity);
    if (found.params.length) {
      const key = t?.id ?? "";
      let names = this.paramRefs.get(key);
      if (!names) this.paramRefs.set(key, names = new Set());
      for (const name of found.params) names.add(name);
    }
    if (t && found.secrets.length) {
      let names = this.secretRefs.get(t.id);
      if (!names) this.secretRefs.set(t.id, names = new Set());
      for (const name of found.secrets) names.add(name);
    }
    if (!t) return;
    for (const read of found.tasks) {
      this.pendingReads.push({ task: t, id: read.id, at: at(read.start), status: read.status });
    }
  }
}
