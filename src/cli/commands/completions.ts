/**
 * `orchestra completions bash|zsh|fish`: a completion script generated from the same tables the
 * CLI parses with and prints its help from (commands, subcommands, each command's flags, and
 * the descriptions in its help), so the completions cannot miss a flag the CLI takes.
 *
 * @module
 */

import { LOG_FORMATS, LOG_LEVELS, SETTINGS_BY_KEY } from "../../config/settings.ts";
import { type Parsed, UsageError } from "../args.ts";
import type { Io } from "../io.ts";

/** What a command's first operand is, for completion. */
export type Operand = "file" | "command" | "shell" | "none";

/** What completions need to know of one command. */
export interface CompletedCommand {
  /** One line on what it does. */
  summary: string;
  /** Its flags, as `node:util`'s `parseArgs` takes them (`--help` is added). */
  options: Readonly<
    Record<
      string,
      { readonly type: "string" | "boolean"; readonly short?: string; readonly multiple?: boolean }
    >
  >;
  /** Its help text: flag descriptions are read from its option lines. */
  help: string;
  /** Its subcommands (`plugins list`, `cache clear`, …). */
  subcommands?: readonly string[];
  /** What its operand is (after any subcommand). @default "none" */
  operand?: Operand;
  /** Flags it takes that no one should type (not completed, not in its help). */
  hidden?: readonly string[];
}

/** The shells `completions` writes for. */
export const SHELLS = ["bash", "zsh", "fish"] as const;

/** Options of `completions`. */
export const COMPLETIONS_OPTIONS = {} as const;

type Values = "file" | "dir" | "text" | readonly string[];

/** How each flag's value completes: files, folders, a list of choices, or free text. */
function valuesOf(flag: string): Values {
  if (["config", "params-file", "policy-file", "secrets-file", "output"].includes(flag)) {
    return "file";
  }
  if (["state-dir", "plugin-dir", "dir"].includes(flag)) return "dir";
  const choices: Record<string, readonly string[]> = {
    "log-level": LOG_LEVELS,
    "log-format": LOG_FORMATS,
    executor: SETTINGS_BY_KEY.executor.choices ?? [],
    durability: SETTINGS_BY_KEY.durability.choices ?? [],
    format: ["mermaid", "dot", "json"],
    decision: ["allow", "deny"],
    status: ["running", "succeeded", "failed", "cancelled"],
  };
  return choices[flag] ?? "text";
}

interface Flag {
  long: string;
  short?: string;
  takesValue: boolean;
  repeatable: boolean;
  values: Values;
  description: string;
}

/** A command's flags, `--help` included, with the descriptions its help gives them. */
function flagsOf(command: CompletedCommand): Flag[] {
  const descriptions = new Map<string, string>();
  for (const line of command.help.split("\n")) {
    const m = /^\s+(?:-\w, )?--([a-z][a-z-]*)(?:[ =]\S+)?\s{2,}(\S.*)$/.exec(line);
    if (m) descriptions.set(m[1], m[2].trim());
  }
  const options: CompletedCommand["options"] = {
    ...command.options,
    help: { type: "boolean", short: "h" },
  };
  return Object.entries(options)
    .filter(([long]) => !command.hidden?.includes(long))
    .map(([long, o]) => ({
      long,
      ...(o.short ? { short: o.short } : {}),
      takesValue: o.type === "string",
      repeatable: o.multiple === true,
      values: o.type === "string" ? valuesOf(long) : "text",
      description: descriptions.get(long) ?? "",
    }));
}

/**
 * The completion script for `shell`.
 *
 * @example
 * ```ts
 * import { completionScript } from "./completions.ts";
 * const script = completionScript("bash", {
 *   run: { summary: "Run a flow", help: "", operand: "file", options: { json: { type: "boolean" } } },
 * });
 * console.assert(script.includes("complete -F _orchestra") && script.includes("--json"));
 * ```
 */
export function completionScript(
  shell: typeof SHELLS[number],
  commands: Readonly<Record<string, CompletedCommand>>,
): string {
  switch (shell) {
    case "bash":
      return bashScript(commands);
    case "zsh":
      return zshScript(commands);
    case "fish":
      return fishScript(commands);
  }
}

/** Runs `orchestra completions SHELL`. */
export function completionsCommand(
  parsed: Parsed,
  io: Io,
  commands: Readonly<Record<string, CompletedCommand>>,
): Promise<number> {
  const [shell, extra] = parsed.positionals;
  if (shell === undefined) {
    throw new UsageError("completions", `missing SHELL: orchestra completions ${SHELLS.join("|")}`);
  }
  if (!(SHELLS as readonly string[]).includes(shell)) {
    throw new UsageError(
      "completions",
      `unknown shell "${shell}"; orchestra completes in ${SHELLS.join(", ")}`,
    );
  }
  if (extra !== undefined) throw new UsageError("completions", `unexpected argument "${extra}"`);
  io.stdout(completionScript(shell as typeof SHELLS[number], commands));
  return Promise.resolve(0);
}

// ---------------------------------------------------------------------------------------------
// bash

function words(xs: readonly string[]): string {
  return xs.join(" ");
}

function bashScript(commands: Readonly<Record<string, CompletedCommand>>): string {
  const names = Object.keys(commands);
  const valueCases: string[] = [];
  const byValues = new Map<string, string[]>();
  const optionCases: string[] = [];
  const operandCases: string[] = [];
  for (const [name, command] of Object.entries(commands)) {
    const flags = flagsOf(command);
    const spelled = flags.flatMap((f) => [`--${f.long}`, ...(f.short ? [`-${f.short}`] : [])]);
    optionCases.push(`    ${name}) opts="${words(spelled)}" ;;`);
    for (const f of flags.filter((f) => f.takesValue)) {
      const key = typeof f.values === "string" ? f.values : `words:${words(f.values)}`;
      const patterns = byValues.get(key) ?? [];
      for (const s of [`--${f.long}`, ...(f.short ? [`-${f.short}`] : [])]) {
        if (!patterns.includes(`${name}:${s}`)) patterns.push(`${name}:${s}`);
      }
      byValues.set(key, patterns);
    }
    const lines: string[] = [];
    if (command.subcommands?.length) {
      lines.push(
        `      if [[ $n -eq 0 ]]; then COMPREPLY=($(compgen -W "${
          words(command.subcommands)
        }" -- "$cur")); return; fi`,
      );
    }
    const operand = command.operand ?? "none";
    const first = command.subcommands?.length ? 1 : 0;
    if (operand === "file") {
      lines.push(`      if [[ $n -eq ${first} ]]; then _orchestra_flows "$cur"; fi`);
    }
    if (operand === "command") {
      lines.push(
        `      if [[ $n -eq ${first} ]]; then COMPREPLY=($(compgen -W "${
          words(names)
        }" -- "$cur")); fi`,
      );
    }
    if (operand === "shell") {
      lines.push(
        `      if [[ $n -eq ${first} ]]; then COMPREPLY=($(compgen -W "${
          words(SHELLS)
        }" -- "$cur")); fi`,
      );
    }
    if (lines.length) operandCases.push(`    ${name})\n${lines.join("\n")}\n      ;;`);
  }
  for (const [key, patterns] of byValues) {
    const action = key === "file"
      ? `compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur"))`
      : key === "dir"
      ? `compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$cur"))`
      : key === "text"
      ? `COMPREPLY=()`
      : `COMPREPLY=($(compgen -W "${key.slice("words:".length)}" -- "$cur"))`;
    valueCases.push(`    ${patterns.join("|")})\n      ${action}; return ;;`);
  }
  return `# bash completion for orchestra (generated by: orchestra completions bash)
# Install: orchestra completions bash > ~/.local/share/bash-completion/completions/orchestra

_orchestra_flows() {
  # Flow files (.ts, .yaml, .yml) and folders to look in.
  local f
  compopt -o filenames 2>/dev/null
  while IFS= read -r f; do
    if [[ -d "$f" || "$f" == *.ts || "$f" == *.yaml || "$f" == *.yml ]]; then
      COMPREPLY+=("$f")
    fi
  done < <(compgen -f -- "$1")
}

_orchestra() {
  local cur prev cmd opts word n i
  COMPREPLY=()
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=($(compgen -W "${words(names)} --help -h --version -V" -- "$cur"))
    return
  fi
  cmd="\${COMP_WORDS[1]}"
  case "$cmd:$prev" in
${valueCases.join("\n")}
  esac
  case "$cmd" in
${optionCases.join("\n")}
    *) return ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    return
  fi
  # n: how many operands come before this word (flags and their values left out).
  n=0
  for ((i = 2; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    if [[ "$word" == -* ]]; then
      case "$cmd:$word" in
${
    [...byValues.values()].flat().length
      ? `        ${[...byValues.values()].flat().join("|")}) ((i++)) ;;`
      : ""
  }
      esac
    else
      ((n++))
    fi
  done
  case "$cmd" in
${operandCases.join("\n")}
  esac
}

complete -F _orchestra orchestra
`;
}

// ---------------------------------------------------------------------------------------------
// zsh

/** Text safe inside a zsh `_arguments` description and single quotes. */
function zshText(text: string): string {
  return text.replace(/[[\]:]/g, " ").replace(/'/g, "'\\''").replace(/\s+/g, " ").trim();
}

function zshAction(values: Values): string {
  if (values === "file") return "_files";
  if (values === "dir") return "_files -/";
  if (values === "text") return " ";
  return `(${values.join(" ")})`;
}

function zshScript(commands: Readonly<Record<string, CompletedCommand>>): string {
  const list = Object.entries(commands)
    .map(([name, c]) => `    '${name}:${zshText(c.summary)}'`);
  const cases: string[] = [];
  for (const [name, command] of Object.entries(commands)) {
    const specs: string[] = [];
    for (const f of flagsOf(command)) {
      const desc = `[${zshText(f.description || f.long)}]`;
      const value = f.takesValue ? `:${f.long}:${zshAction(f.values)}` : "";
      const star = f.repeatable ? "*" : "";
      if (f.short) {
        const exclude = f.repeatable ? "*" : `(-${f.short} --${f.long})`;
        specs.push(`'${exclude}'{-${f.short},--${f.long}}'${desc}${value}'`);
      } else specs.push(`'${star}--${f.long}${desc}${value}'`);
    }
    let n = 1;
    if (command.subcommands?.length) {
      specs.push(`'${n++}:subcommand:(${command.subcommands.join(" ")})'`);
    }
    const operand = command.operand ?? "none";
    if (operand === "file") specs.push(`'${n}:flow file:_files -g "*.(ts|yaml|yml)"'`);
    if (operand === "command") specs.push(`'${n}:command:(${Object.keys(commands).join(" ")})'`);
    if (operand === "shell") specs.push(`'${n}:shell:(${SHELLS.join(" ")})'`);
    cases.push(
      `    ${name})\n      _arguments -s \\\n        ${specs.join(" \\\n        ")}\n      ;;`,
    );
  }
  return `#compdef orchestra
# zsh completion for orchestra (generated by: orchestra completions zsh)
# Install: orchestra completions zsh > "\${fpath[1]}/_orchestra", then restart zsh (compinit)

_orchestra() {
  local -a commands
  commands=(
${list.join("\n")}
  )
  if (( CURRENT == 2 )); then
    _describe -t commands 'orchestra command' commands
    _arguments '(- *)'{-h,--help}'[Show help]' '(- *)'{-V,--version}'[Show the version]'
    return
  fi
  local cmd=\${words[2]}
  shift words
  (( CURRENT-- ))
  case $cmd in
${cases.join("\n")}
  esac
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _orchestra "$@"
else
  compdef _orchestra orchestra
fi
`;
}

// ---------------------------------------------------------------------------------------------
// fish

function fishText(text: string): string {
  return `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

function fishScript(commands: Readonly<Record<string, CompletedCommand>>): string {
  const names = Object.keys(commands);
  const lines = [
    "# fish completion for orchestra (generated by: orchestra completions fish)",
    "# Install: orchestra completions fish > ~/.config/fish/completions/orchestra.fish",
    "",
    "complete -c orchestra -f",
    "complete -c orchestra -n __fish_use_subcommand -s h -l help -d 'Show help'",
    "complete -c orchestra -n __fish_use_subcommand -s V -l version -d 'Show the version'",
  ];
  for (const [name, command] of Object.entries(commands)) {
    lines.push(
      `complete -c orchestra -n __fish_use_subcommand -a ${name} -d ${fishText(command.summary)}`,
    );
  }
  for (const [name, command] of Object.entries(commands)) {
    const when = `'__fish_seen_subcommand_from ${name}'`;
    lines.push("");
    for (const f of flagsOf(command)) {
      const parts = [`complete -c orchestra -n ${when}`];
      if (f.short) parts.push(`-s ${f.short}`);
      parts.push(`-l ${f.long}`);
      if (f.takesValue) {
        if (f.values === "file") parts.push("-r -F");
        else if (f.values === "dir") parts.push("-x -a '(__fish_complete_directories)'");
        else if (f.values === "text") parts.push("-x");
        else parts.push(`-x -a ${fishText(f.values.join(" "))}`);
      }
      if (f.description) parts.push(`-d ${fishText(f.description)}`);
      lines.push(parts.join(" "));
    }
    const subs = command.subcommands ?? [];
    const noSub = subs.length ? `; and not __fish_seen_subcommand_from ${subs.join(" ")}` : "";
    if (subs.length) {
      lines.push(
        `complete -c orchestra -n '__fish_seen_subcommand_from ${name}${noSub}' -a ${
          fishText(subs.join(" "))
        }`,
      );
    }
    const operand = command.operand ?? "none";
    const at = subs.length
      ? `'__fish_seen_subcommand_from ${name}; and __fish_seen_subcommand_from ${subs.join(" ")}'`
      : when;
    if (operand === "file") {
      lines.push(`complete -c orchestra -n ${at} -F`);
    }
    if (operand === "command") {
      lines.push(`complete -c orchestra -n ${at} -a ${fishText(names.join(" "))}`);
    }
    if (operand === "shell") {
      lines.push(`complete -c orchestra -n ${at} -a ${fishText(SHELLS.join(" "))}`);
    }
  }
  return lines.join("\n") + "\n";
}
