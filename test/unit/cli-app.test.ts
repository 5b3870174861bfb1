/** The yargs application hands `token` to the shell's fast-path function, with the same arguments. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { runCli } from "../../src/cli/app.js";

test("yargs' token handler runs the function main.ts gives it (the fast path), with the arguments after the command", async () => {
  const calls: string[][] = [];
  const code = await runCli(["token", "--cluster-name", "x", "-o", "json"], {
    token: async (args) => {
      calls.push(args);
      return 0;
    },
  });
  assert.equal(code, 0);
  assert.deepEqual(calls, [["--cluster-name", "x", "-o", "json"]]);
});

test("a value option without a value is refused before yargs runs anything, naming the command's --help", async () => {
  await assert.rejects(
    runCli(["kubeconfig", "add", "--name", "x", "--profile"], { token: async () => assert.fail("not token") }),
    (e: Error & { line?: string; exitCode?: number }) => {
      assert.equal(e.line, "option '--profile' needs a value; see eks-access kubeconfig add --help");
      assert.equal(e.exitCode, 2);
      return true;
    },
  );
});
