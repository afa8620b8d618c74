/**
 * Where each `${{ }}` stands in a shell command: the scanner behind `shell_script.ts`, which
 * writes the script that runs instead of the command as written.
 *
 * No value is ever spliced into a script's text. Each `${{ … }}` becomes a reference to an
 * environment variable that holds the value (`"${ORCHESTRA_EXPR_1}"`), written for the place it
 * stands in: a quoted word in word position, a bare `${…}` inside double quotes or a
 * here-document, a closed-and-reopened quote inside single quotes. The shell expands a variable
 * once and never parses its text again, so a value cannot end a comment, close a quote or start
 * a command, whatever it holds (newlines, quotes, `$(…)`, CR, backslashes).
 *
 * Some places evaluate what a variable holds as code: shell arithmetic (bash evaluates the text
 * of a variable there, array indexes and `$(…)` included), the arguments of `eval` and `trap`, a
 * here-document whose delimiter is quoted (nothing is expanded there at all). An expression in
 * such a place is refused when the flow is validated.
 *
 * @module
 */

/** What surrounds a `${{` in a shell command. */
export type ShellPosition =
  | "word"
  | "double quotes"
  | "single quotes"
  | "ANSI-C quotes"
  | "a comment"
  | "a here-document"
  | "a quoted here-document"
  | "shell arithmetic"
  | "an eval"
  | "a variable name";

/** One `${{ … }}` of a command and where it stands. */
export interface Interpolation {
  /** Offset of the `${{` in the command text. */
  offset: number;
  /** Offset just past its `}}`. */
  end: number;
  /** Where it stands. */
  position: ShellPosition;
}

type Frame =
  | {
    kind: "cmd";
    close: ")" | "`" | "]]" | "";
    arith: boolean;
    start: boolean;
    eval: "" | "eval" | "arith";
  }
  | { kind: "double" }
  | { kind: "single" }
  | { kind: "ansi" }
  | { kind: "comment" }
  | { kind: "arith"; depth: number; close: "))" | "]" }
  | { kind: "param"; phase: "name" | "index" | "arith" | "word"; inDouble: boolean };

interface HereDoc {
  delimiter: string;
  quoted: boolean;
  tabs: boolean;
}

// Only space, tab and newline separate words: a CR is an ordinary character to the shell.
const BOUNDARY = /[ \t\n;&|()<>]/;
const SEPARATOR = /[;&|()\n]/;
const KEYWORDS = new Set("if then else elif fi do done while until ! { } time".split(" "));

function cmd(close: "" | ")" | "`" | "]]", arith = false): Frame {
  return { kind: "cmd", close, arith, start: true, eval: "" };
}

/**
 * Scans a command (as written, before interpolation) and says where each `${{ … }}` stands.
 * It follows quotes, comments, `$(…)`, backquotes, `${…}`, here-documents, arithmetic, bash's
 * `[[ … ]]` and the command word of each simple command (for `eval`, `trap`, `let`).
 *
 * @example
 * ```ts
 * import { scanCommand } from "./shell_context.ts";
 * const where = (c: string) => scanCommand(c).map((i) => i.position);
 * console.assert(where("echo ${{ a }} # ${{ b }}").join() === "word,a comment");
 * console.assert(where('echo "${{ a }}"')[0] === "double quotes");
 * console.assert(where("echo $(( ${{ n }} + 1 ))")[0] === "shell arithmetic");
 * ```
 */
export function scanCommand(
  command: string,
  ranges: readonly { start: number; end: number }[] = expressionRanges(command),
): Interpolation[] {
  const s: Scan = {
    command,
    ranges,
    ends: new Map(ranges.map((r) => [r.start, r.end])),
    stack: [cmd("")],
    pending: [],
    out: [],
  };
  let i = 0;
  while (i < command.length) {
    const frame = s.stack[s.stack.length - 1];
    const end = s.ends.get(i);
    if (end !== undefined) {
      s.out.push({ offset: i, end, position: positionIn(frame, s.stack) });
      if (frame.kind === "cmd") frame.start = false;
      i = end;
      continue;
    }
    i = frame.kind === "cmd" ? commandStep(s, i, frame) : quotedStep(s, i, frame);
  }
  return s.out;
}

/** The state of a scan. */
interface Scan {
  command: string;
  ranges: readonly { start: number; end: number }[];
  ends: Map<number, number>;
  stack: Frame[];
  pending: HereDoc[];
  out: Interpolation[];
}

/** One step inside a comment, quotes, arithmetic or `${…}`; returns where the next starts. */
function quotedStep(s: Scan, i: number, frame: Exclude<Frame, { kind: "cmd" }>): number {
  const { command, stack } = s;
  const ch = command[i];
  switch (frame.kind) {
    case "comment":
      // The line break ends the comment, and the command too: the frame below sees it.
      if (ch === "\n") stack.pop();
      return ch === "\n" ? i : i + 1;
    case "single":
      if (ch === "'") stack.pop();
      return i + 1;
    case "ansi":
      if (ch === "\\") return i + 2;
      if (ch === "'") stack.pop();
      return i + 1;
    case "double":
      if (ch === "\\") return i + 2;
      if (ch === '"') stack.pop();
      else if (ch === "`") stack.push(cmd("`"));
      else if (ch === "$") return dollar(command, i, stack, true);
      return i + 1;
    case "arith":
      if (ch === "(") frame.depth++;
      else if (ch === ")" && frame.depth > 0) frame.depth--;
      else if (frame.depth === 0 && command.startsWith(frame.close, i)) {
        stack.pop();
        return i + frame.close.length;
      } else if (ch === "$") return dollar(command, i, stack, false);
      return i + 1;
    case "param":
      return paramStep(command, i, frame, stack);
  }
}

/** One step in a command context (the script, `$(…)`, backquotes, `[[ … ]]`). */
function commandStep(s: Scan, i: number, c: Extract<Frame, { kind: "cmd" }>): number {
  const { command, stack } = s;
  const ch = command[i];
  const atBoundary = (j: number) => j === 0 || BOUNDARY.test(command[j - 1]);
  if (c.close === "]]" && command.startsWith("]]", i) && atBoundary(i)) {
    stack.pop();
    return i + 2;
  }
  if (ch === "\n" && s.pending.length) {
    c.start = true;
    c.eval = "";
    return hereDocBodies(command, i + 1, s.pending, s.out, s.ranges);
  }
  if (ch === "\\") return i + 2;
  if (ch === "'" || ch === '"') {
    stack.push({ kind: ch === "'" ? "single" : "double" });
    c.start = false;
    return i + 1;
  }
  if (ch === "`") {
    if (c.close === "`") stack.pop();
    else stack.push(cmd("`"));
    return i + 1;
  }
  if (ch === "#" && atBoundary(i)) {
    stack.push({ kind: "comment" });
    return i + 1;
  }
  if (ch === "$") {
    c.start = false;
    return dollar(command, i, stack, false);
  }
  if (ch === ")" && c.close === ")") {
    stack.pop();
    return i + 1;
  }
  // 2>&1: a redirection, not a separator.
  if ((ch === ">" || ch === "<") && command[i + 1] === "&") return i + 2;
  if (ch === "<" && command.startsWith("<<", i)) return redirection(s, i);
  if (SEPARATOR.test(ch)) {
    c.start = true;
    c.eval = "";
    if (ch === "(" && command[i + 1] === "(" && atBoundary(i)) {
      stack.push({ kind: "arith", depth: 0, close: "))" });
      return i + 2;
    }
    if (ch === "(") stack.push(cmd(")"));
    return i + 1;
  }
  if (ch === " " || ch === "\t") return i + 1;
  return c.start && atBoundary(i) ? commandWord(command, i, c, stack) : i + 1;
}

/** `<<<` (a here-string: its word is an ordinary word) or `<<DELIMITER` (a here-document). */
function redirection(s: Scan, i: number): number {
  const { command } = s;
  if (command[i + 2] === "<") return i + 3;
  const m = /^<<(-?)[ \t]*(?:'([^'\n]*)'|"([^"\n]*)"|\\?([A-Za-z0-9_.-]+))/.exec(
    command.slice(i),
  );
  if (!m) return i + 2;
  const delimiter = m[2] ?? m[3] ?? m[4];
  const quoted = m[2] !== undefined || m[3] !== undefined || m[0].includes("\\");
  s.pending.push({ delimiter, quoted, tabs: m[1] === "-" });
  return i + m[0].length;
}

/**
 * Where the `${{ … }}` of a command are, found without parsing them: each from `${{` to the
 * `}}` that closes it, quoted strings inside skipped. A compiled template knows them exactly;
 * pass its parts' offsets to {@linkcode scanCommand} instead.
 */
export function expressionRanges(command: string): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  for (let i = command.indexOf("${{"); i >= 0; i = command.indexOf("${{", i)) {
    const end = closeOf(command, i);
    out.push({ start: i, end });
    i = end;
  }
  return out;
}

function closeOf(command: string, start: number): number {
  let quote = "";
  for (let j = start + 3; j < command.length; j++) {
    const ch = command[j];
    if (quote) {
      if (ch === quote) quote = "";
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (command.startsWith("}}", j)) return j + 2;
  }
  return command.length;
}

function positionIn(frame: Frame, stack: Frame[]): ShellPosition {
  switch (frame.kind) {
    case "double":
      return "double quotes";
    case "single":
      return "single quotes";
    case "ansi":
      return "ANSI-C quotes";
    case "comment":
      return "a comment";
    case "arith":
      return "shell arithmetic";
    case "param":
      if (frame.phase === "name") return "a variable name";
      if (frame.phase !== "word") return "shell arithmetic";
      return frame.inDouble ? "double quotes" : "word";
    case "cmd":
      if (frame.arith) return "shell arithmetic";
      if (frame.eval === "eval") return "an eval";
      if (frame.eval === "arith") return "shell arithmetic";
      // Inside `[[ … ]]` nested in arithmetic, or the like: the outer one decides.
      return stack.some((f) => f.kind === "arith") ? "shell arithmetic" : "word";
  }
}

/** A `$` in a command or in double quotes: `$(`, `$((`, `${`, `$'`, `$"` or a plain `$`. */
function dollar(command: string, i: number, stack: Frame[], inDouble: boolean): number {
  const next = command[i + 1];
  if (next === "(" && command[i + 2] === "(") {
    stack.push({ kind: "arith", depth: 0, close: "))" });
    return i + 3;
  }
  if (next === "(") {
    stack.push(cmd(")"));
    return i + 2;
  }
  if (next === "{") {
    stack.push({ kind: "param", phase: "name", inDouble });
    return i + 2;
  }
  if (!inDouble && next === "'") {
    stack.push({ kind: "ansi" });
    return i + 2;
  }
  if (!inDouble && next === '"') {
    stack.push({ kind: "double" });
    return i + 2;
  }
  return i + 1;
}

/** One step inside `${…}`: its name, an index, an operator, then a word up to `}`. */
function paramStep(
  command: string,
  i: number,
  frame: Extract<Frame, { kind: "param" }>,
  stack: Frame[],
): number {
  const ch = command[i];
  if (frame.phase === "name") {
    const m = /^[#!]?(?:[A-Za-z_][A-Za-z0-9_]*|[0-9]+|[@*#?$!-])/.exec(command.slice(i));
    if (m) i += m[0].length;
    const op = command[i];
    if (op === "[") {
      frame.phase = "index";
      return i + 1;
    }
    return paramOperator(command, i, frame, stack);
  }
  if (frame.phase === "index") {
    if (ch === "]") {
      frame.phase = "name";
      return paramOperator(command, i + 1, frame, stack);
    }
    return ch === "$" ? dollar(command, i, stack, false) : i + 1;
  }
  if (ch === "}") {
    stack.pop();
    return i + 1;
  }
  if (ch === "\\") return i + 2;
  if (frame.phase === "word") {
    if (ch === '"') {
      stack.push({ kind: "double" });
      return i + 1;
    }
    if (ch === "'" && !frame.inDouble) {
      stack.push({ kind: "single" });
      return i + 1;
    }
  }
  if (ch === "`") {
    stack.push(cmd("`"));
    return i + 1;
  }
  if (ch === "$") return dollar(command, i, stack, frame.inDouble);
  return i + 1;
}

function paramOperator(
  command: string,
  i: number,
  frame: Extract<Frame, { kind: "param" }>,
  stack: Frame[],
): number {
  const op = command[i];
  if (op === "}") {
    stack.pop();
    return i + 1;
  }
  if (op === ":" && "-=+?".includes(command[i + 1] ?? "")) {
    frame.phase = "word";
    return i + 2;
  }
  // `${x:1:2}`: offset and length are arithmetic.
  frame.phase = op === ":" ? "arith" : "word";
  return i + 1;
}

/** At the first word of a simple command: note `eval`, `let`, `[[`, `((`, keywords. */
function commandWord(
  command: string,
  i: number,
  c: Extract<Frame, { kind: "cmd" }>,
  stack: Frame[],
): number {
  const rest = command.slice(i);
  if (rest.startsWith("[[") && (rest.length === 2 || /[ \t\n]/.test(rest[2]))) {
    const end = rest.indexOf("]]");
    const body = end < 0 ? rest : rest.slice(0, end);
    const arith = /\s-(eq|ne|lt|le|gt|ge)\s/.test(body);
    c.start = false;
    stack.push(cmd("]]", arith));
    return i + 2;
  }
  const assignment = /^[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=/.exec(rest);
  if (assignment) {
    if (assignment[1]) {
      // `a[${{ i }}]=x` indexes an array, which bash evaluates as arithmetic.
      stack.push({ kind: "arith", depth: 0, close: "]" });
      return i + assignment[0].indexOf("[") + 1;
    }
    return i + assignment[0].length;
  }
  const word = /^[^ \t\n;&|()<>"'`$\\]+/.exec(rest)?.[0] ?? "";
  if (word === "") return i + 1;
  if (KEYWORDS.has(word)) return i + word.length;
  c.start = false;
  if (word === "eval" || word === "trap") c.eval = "eval";
  else if (word === "let") c.eval = "arith";
  else if (["declare", "typeset", "local", "export", "readonly"].includes(word)) {
    const line = /^[^;&|\n]*/.exec(rest)![0];
    if (/\s-[A-Za-z]*i/.test(line)) c.eval = "arith";
  }
  return i + word.length;
}

/** Skips the bodies of pending here-documents starting at `i`; returns where they end. */
function hereDocBodies(
  command: string,
  i: number,
  pending: HereDoc[],
  out: Interpolation[],
  ranges: readonly { start: number; end: number }[],
): number {
  while (pending.length && i < command.length) {
    const doc = pending.shift()!;
    let end = command.length;
    let next = command.length;
    for (let j = i; j < command.length;) {
      const nl = command.indexOf("\n", j);
      const lineEnd = nl < 0 ? command.length : nl;
      let line = command.slice(j, lineEnd);
      if (doc.tabs) line = line.replace(/^\t+/, "");
      if (line === doc.delimiter) {
        end = j;
        next = nl < 0 ? command.length : nl + 1;
        break;
      }
      j = lineEnd + 1;
    }
    for (const r of ranges) {
      if (r.start < i || r.start >= end) continue;
      out.push({
        offset: r.start,
        end: r.end,
        position: doc.quoted ? "a quoted here-document" : "a here-document",
      });
    }
    i = next;
  }
  return i;
}
