import { test } from "node:test";
import assert from "node:assert/strict";
import { parseFlags } from "../../src/core/flags.js";

const specs = { "cluster-name": { type: "string" }, "no-cache": { type: "boolean" }, region: { type: "string" } } as const;

test("flags: --k v, --k=v, switches", () => {
  assert.deepEqual(parseFlags(["--cluster-name", "a", "--region=eu-west-1", "--no-cache"], specs, "token"), { "cluster-name": "a", region: "eu-west-1", "no-cache": true });
  assert.deepEqual(parseFlags(["--cluster-name=a=b"], specs, "token"), { "cluster-name": "a=b" });
  assert.deepEqual(parseFlags(["--cluster-name", "-dash-is-a-value"], specs, "token"), { "cluster-name": "-dash-is-a-value" });
  assert.deepEqual(parseFlags([], specs, "token"), {});
});

test("flags: every malformed command line is a usage error naming the flag", () => {
  const bad: Array<[string[], RegExp]> = [
    [["--bogus"], /unknown option '--bogus'/],
    [["--cluster-name"], /option '--cluster-name' needs a value/],
    [["--cluster-name", "--region", "x"], /option '--cluster-name' needs a value/],
    [["--no-cache=yes"], /option '--no-cache' takes no value/],
    [["--region", "a", "--region", "b"], /given twice/],
    [["positional"], /unexpected argument 'positional'/],
    [["--toString"], /unknown option '--toString'/],
  ];
  for (const [args, re] of bad) {
    assert.throws(() => parseFlags(args, specs, "token"), (e: Error & { exitCode?: number; line?: string }) => {
      assert.match(e.message, re);
      assert.equal(e.exitCode, 2);
      assert.match(e.line!, /; see eks-access token --help$/);
      return true;
    });
  }
});
