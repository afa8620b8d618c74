/**
 * The check step of the compiler: every `${{ }}` parsed, the names it uses checked against
 * where it stands, and what it reads recorded (upstream tasks, params, secrets), every problem
 * at its file:line:col with a hint that translates GitHub's words where they differ.
 *
 * @module
 */

import type { SourceLocation, ValidationIssue } from "../../core/errors.ts";
import { didYouMean } from "../../core/suggest.ts";
import {
  BUILTIN_FUNCTIONS,
  calledFunctions,
  checkExpression,
  type Expr,
  ExpressionSyntaxError,
  parseExpression,
  parseTemplate,
  references,
  STATUS_FUNCTIONS,
  type Template,
} from "./expressions/mod.ts";
import type { CompiledCondition, OutputNames } from "./compiled.ts";
import { nameHint } from "./hints.ts";
import type { FlowSpec, TaskSpec } from "./spec.ts";
import type { YamlPath, YamlSource } from "./source.ts";

/** Where an expression stands: what it may read. */
export interface Scope {
  /** The task it belongs to (none for the flow's env). */
  task?: TaskSpec;
  /** The root names it may use. */
  roots: readonly string[];
  /** Whether status functions may be called (in `if:`). */
  statusFns?: boolean;
  /** The matrix keys a leg has, when the task has a matrix; undefined when they are open. */
  matrixKeys?: readonly string[];
  /** The step ids it may read as `steps.<id>`, inside steps. */
  steps?: readonly string[];
  /** Env variables it may read besides the flow's and the task's (a step's own). */
  env?: readonly string[];
  /** The file, when not the task's. */
  source?: YamlSource;
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

const TASK_PARTS = ["result", "status", "outputs"];
const NEEDS_PARTS = ["result", "outputs"];
const STEP_PARTS = ["outputs", "outcome", "conclusion"];

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
  /** The outputs each task offers. */
  readonly outputs: Map<string, OutputNames> = new Map();
  readonly #spec: FlowSpec;
  readonly #ids: string[];
  readonly #tasks: Map<string, TaskSpec>;
  readonly #params: string[];

  /** A checker for `spec`, whose problems so far it keeps. */
  constructor(spec: FlowSpec) {
    this.#spec = spec;
    this.issues = [...spec.issues];
    this.#ids = spec.tasks.map((t) => t.id);
    this.#tasks = new Map(spec.tasks.map((t) => [t.id, t]));
    this.#params = Object.keys(spec.fields.params ?? {});
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

  /** Records a problem. */
  issueAt(t: TaskSpec | undefined, location: SourceLocation, message: string, hint?: string): void {
    const i: ValidationIssue = { message, location };
    if (t) i.taskId = t.id;
    if (hint) i.hint = hint;
    this.issues.push(i);
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
   * Parses an `if:`: one expression, bare or in `${{ }}`, or a boolean. Undefined when it does
   * not parse (an issue says why).
   */
  condition(
    value: string | boolean,
    path: YamlPath,
    scope: Scope,
  ): CompiledCondition | boolean | undefined {
    if (typeof value === "boolean") return value;
    const t = scope.task;
    const source = scope.source ?? t?.source ?? this.#spec.source;
    const text = value.trim();
    // Offsets in `text` are offsets in the value after its leading whitespace.
    const shift = value.length - value.trimStart().length;
    let expr: Expr | undefined;
    try {
      if (text.includes("${{")) {
        const tpl = parseTemplate(text);
        if (!tpl.whole) {
          this.issueAt(
            t,
            source.locate(path),
            `\`if\` must be one expression`,
            "write `if: ${{ … }}` or the bare expression; text around ${{ }} makes it a " +
              "non-empty string, which is always true",
          );
          return undefined;
        }
        expr = (tpl.parts.find((p) => typeof p !== "string") as { expr: Expr }).expr;
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
    this.check(expr, path, { ...scope, statusFns: true }, shift);
    // Called, not merely mentioned (in a string, say): only then may it run after a failure.
    const always = calledFunctions(expr).some((fn) =>
      ["failure", "always", "cancelled"].includes(fn.name)
    );
    const bare = text.replace(/^\$\{\{\s*/, "").replace(/\s*\}\}$/, "");
    return { expr, text: JSON.stringify(bare), always };
  }

  /** Checks one expression at `path` (offsets shifted by `shift`). */
  check(expr: Expr, path: YamlPath, scope: Scope, shift = 0): void {
    const t = scope.task;
    const source = scope.source ?? t?.source ?? this.#spec.source;
    const functions = scope.statusFns
      ? [...BUILTIN_FUNCTIONS, ...STATUS_FUNCTIONS]
      : BUILTIN_FUNCTIONS;
    for (const p of checkExpression(expr, { roots: scope.roots, functions })) {
      let { message, hint } = p;
      const name = /^Unknown name "([^"]+)"/.exec(message)?.[1];
      const translated = name === undefined ? undefined : nameHint(name, {
        foreach: scope.roots.includes("item"),
        matrix: scope.roots.includes("matrix"),
        steps: scope.steps !== undefined,
        workflow: this.#spec.form === "workflow",
      });
      if (translated) ({ message, hint } = translated);
      if (!scope.statusFns && /"(success|failure|always|cancelled)"/.test(message)) {
        hint = "status functions work only in `if:`";
      }
      this.issueAt(t, source.locateInString(path, p.start + shift), message, hint);
    }
    for (const ref of references(expr)) {
      const at = source.locateInString(path, ref.start + shift);
      this.#reference(ref.root, ref.path, at, scope);
    }
  }

  #reference(root: string, path: (string | number)[], at: SourceLocation, scope: Scope): void {
    const t = scope.task;
    const [first] = path;
    if (root === "params" || root === "inputs") {
      if (typeof first !== "string") return;
      const key = t?.id ?? "";
      let names = this.paramRefs.get(key);
      if (!names) this.paramRefs.set(key, names = new Set());
      names.add(first);
      if (!this.#params.includes(first)) {
        this.issueAt(
          t,
          at,
          `Unknown param "${first}"${didYouMean(first, this.#params)}`,
          this.#params.length ? `params: ${this.#params.join(", ")}` : "declare it under `params:`",
        );
      }
    } else if (root === "secrets" && typeof first === "string" && t) {
      let names = this.secretRefs.get(t.id);
      if (!names) this.secretRefs.set(t.id, names = new Set());
      names.add(first);
    } else if (root === "env" && typeof first === "string") {
      this.#envReference(first, at, scope);
    } else if ((root === "tasks" || root === "needs") && t && typeof first === "string") {
      this.#taskReference(root, path, at, scope);
    } else if (root === "matrix" && typeof first === "string" && scope.matrixKeys) {
      if (!scope.matrixKeys.includes(first)) {
        this.issueAt(
          t,
          at,
          `The matrix has no key "${first}"${didYouMean(first, scope.matrixKeys)}`,
          `its keys: ${scope.matrixKeys.join(", ")}`,
        );
      }
    } else if (root === "steps" && typeof first === "string" && scope.steps) {
      this.#stepReference(path, at, scope);
    }
  }

  #envReference(name: string, at: SourceLocation, scope: Scope): void {
    const t = scope.task;
    const known = [
      ...Object.keys(this.#spec.fields.env ?? {}),
      ...Object.keys(t?.fields.env ?? {}),
      ...scope.env ?? [],
    ];
    if (known.includes(name)) return;
    this.issueAt(
      t,
      at,
      `Unknown env variable "${name}"${didYouMean(name, known)}`,
      "declare it under `env:` (of the flow or the task); host variables are read with " +
        "secrets.NAME",
    );
  }

  #stepReference(path: (string | number)[], at: SourceLocation, scope: Scope): void {
    const [id, part] = path;
    const steps = scope.steps!;
    if (!steps.includes(String(id))) {
      this.issueAt(
        scope.task,
        at,
        `No step "${id}" runs before this${didYouMean(String(id), steps)}`,
        steps.length
          ? `steps with an id before this one: ${steps.join(", ")}`
          : "give the step an `id:` and read it from a later step",
      );
    } else if (part !== undefined && !STEP_PARTS.includes(String(part))) {
      this.issueAt(
        scope.task,
        at,
        `steps.${id}.${String(part)} does not exist${didYouMean(String(part), STEP_PARTS)}`,
        "a step offers outputs, outcome and conclusion",
      );
    }
  }

  #taskReference(
    root: "tasks" | "needs",
    path: (string | number)[],
    at: SourceLocation,
    scope: Scope,
  ): void {
    const t = scope.task!;
    const [first, second, third] = path as [string, unknown, unknown];
    if (!this.#tasks.has(first)) {
      const others = this.#ids.filter((i) => i !== t.id);
      this.issueAt(t, at, `Unknown task "${first}"${didYouMean(first, others)}`);
      return;
    }
    if (first === t.id) {
      this.issueAt(
        t,
        at,
        `Task "${t.id}" cannot read its own result`,
        "use `result` in `outputs:`",
      );
      return;
    }
    const parts = root === "tasks" ? TASK_PARTS : NEEDS_PARTS;
    if (second !== undefined && !parts.includes(String(second))) {
      const hint = root === "tasks"
        ? "a task offers result, status and outputs"
        : "needs.<id> offers result (success, failure, cancelled or skipped) and outputs";
      this.issueAt(
        t,
        at,
        `${root}.${first}.${String(second)} does not exist${didYouMean(String(second), parts)}`,
        hint,
      );
    }
    if (root === "needs" && !this.#directNeeds(t).includes(first)) {
      this.issueAt(
        t,
        at,
        `Task "${t.id}" reads needs.${first} but does not need "${first}" directly`,
        `needs holds only the tasks in \`needs:\`: add "${first}" there, or read it as ` +
          `tasks.${first} (any task upstream)`,
      );
      return;
    }
    if (second === "outputs" && typeof third === "string") {
      this.#outputReference(t, first, third, at);
    }
    const status = !scope.statusFns &&
      (root === "tasks" ? second === "status" : second === "result");
    this.pendingReads.push({ task: t, id: first, at, status });
  }

  #outputReference(t: TaskSpec, id: string, name: string, at: SourceLocation): void {
    const offered = this.outputs.get(id);
    if (!offered || offered.open || offered.names.has(name)) return;
    const declared = [...offered.names];
    this.issueAt(
      t,
      at,
      `Task "${id}" has no output "${name}"${didYouMean(name, declared)}`,
      declared.length
        ? `its outputs: ${declared.join(", ")}`
        : 'declare it under its `outputs:`, or write name=value to "$GITHUB_OUTPUT" in its command',
    );
  }

  #directNeeds(t: TaskSpec): string[] {
    const n = t.fields.needs;
    return n === undefined ? [] : typeof n === "string" ? [n] : n;
  }
}
