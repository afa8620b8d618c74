import assert from "node:assert/strict";
import { unsafeInterpolations } from "../../src/loaders/yaml/shell_context.ts";

const within = (cmd: string) => unsafeInterpolations(cmd).map((s) => s.within);

Deno.test("expressions in word position are safe", () => {
  assert.deepEqual(within("echo ${{ a }} x${{ b }}y --flag=${{ c }}"), []);
  assert.deepEqual(within("a && b ${{ x }}; c | d ${{ y }}"), []);
});

Deno.test("expressions inside quotes or backquotes are reported", () => {
  assert.deepEqual(within('echo "hi ${{ a }}"'), ["double quotes"]);
  assert.deepEqual(within("echo 'hi ${{ a }}'"), ["single quotes"]);
  assert.deepEqual(within("echo `cat ${{ a }}`"), ["backquotes"]);
  assert.equal(unsafeInterpolations(`echo "x" ${"${{"} a }} "${"${{"} b }}"`)[0].offset, 19);
});

Deno.test("$( … ) opens a fresh word context, also inside double quotes", () => {
  assert.deepEqual(within('mkdir -p "$(dirname ${{ p }})"'), []);
  assert.deepEqual(within('echo "$(printf "%s" ${{ p }})"'), []);
  assert.deepEqual(within('echo "$(echo "${{ p }}")"'), ["double quotes"]);
});

Deno.test("here-documents are reported; comments and escaped quotes are handled", () => {
  assert.deepEqual(within("cat <<EOF\n${{ a }}\nEOF\necho ${{ b }}"), ["a here-document"]);
  assert.deepEqual(within("cat <<-'EOF'\n\t${{ a }}\n\tEOF\n"), ["a here-document"]);
  assert.deepEqual(within("echo ok # ${{ a }} in a comment\necho ${{ b }}"), []);
  assert.deepEqual(within('echo "a \\" b" ${{ c }}'), []);
  assert.deepEqual(within("echo a#b ${{ c }}"), []);
});
