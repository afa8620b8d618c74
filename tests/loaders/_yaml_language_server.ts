// Starts yaml-language-server (the engine of VS Code's YAML extension) on stdio, for
// yaml_lsp_test.ts: `deno run -A tests/loaders/_yaml_language_server.ts --stdio`.
import "yaml-language-server/out/server/src/server.js";
