import { test } from "node:test";
import assert from "node:assert/strict";
import { commandFirst, parseFlags, requireValues } from "../../src/core/flags.js";
import { ALL_VALUE_FLAGS } from "../../src/cli/value-flags.js";

const specs = { "cluster-name": { type: "string" }, "no-cache": { type: "boolean" }, region: { type: "string" }, output: { type: "string", short: "o" } } as const;

test("flags: --k v, --k=v, switches", () => {
  assert.deepEqual(parseFlags(["--cluster-name", "a", "--region=eu-west-1", "--no-cache"], specs, "token"), { "cluster-name": "a", region: "eu-west-1", "no-cache": true });
  assert.deepEqual(parseFlags(["--cluster-name=a=b"], specs, "token"), { "cluster-name": "a=b" });
  assert.deepEqual(parseFlags(["--cluster-name=-dash-is-a-value"], specs, "token"), { "cluster-name": "-dash-is-a-value" });
  assert.deepEqual(parseFlags(["--region", "-1"], specs, "token"), { region: "-1" }, "a negative number is a value, as in yargs");
  assert.deepEqual(parseFlags(["-o", "json", "--region", ""], specs, "token"), { output: "json", region: "" });
  assert.deepEqual(parseFlags([], specs, "token"), {});
});

test("flags: every malformed command line is a usage error naming the flag", () => {
  const bad: Array<[string[], RegExp]> = [
    [["--bogus"], /unknown option '--bogus'/],
    [["--cluster-name"], /option '--cluster-name' needs a value/],
    [["--cluster-name", "--region", "x"], /option '--cluster-name' needs a value/],
    [["--cluster-name", "-dash"], /option '--cluster-name' needs a value/],
    [["-o"], /option '-o' needs a value/],
    [["-x", "json"], /unknown option '-x'/],
    [["-o", "json", "--output", "json"], /option '--output' given twice/],
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

test("value rule for the yargs commands: the fast parser's, naming the command's --help", () => {
  const values = new Set(["region", "o"]);
  for (const args of [["--region"], ["--region", "--profile", "p"], ["--region", "-x"], ["-o"]]) {
    assert.throws(() => requireValues(args, values, "whoami"), (e: Error & { line?: string; exitCode?: number }) => {
      assert.equal(e.line, `option '${args[0]}' needs a value; see eks-access whoami --help`);
      assert.equal(e.exitCode, 2);
      return true;
    });
  }
  for (const args of [["--region", "r"], ["--region="], ["--region", ""], ["--profile"], ["--", "--region"]]) requireValues(args, values, "whoami");
});

test("command words move first, over the values of value options (not over values that look like words)", () => {
  const cases: Array<[string[], string[]]> = [
    [["--cluster-name", "x", "token"], ["token", "--cluster-name", "x"]],
    [["--no-cache", "token", "--cluster-name", "x"], ["token", "--no-cache", "--cluster-name", "x"]],
    [["--cluster-name", "token", "token"], ["token", "--cluster-name", "token"]],
    [["--region=r", "kubeconfig", "--name", "n", "add"], ["kubeconfig", "add", "--region=r", "--name", "n"]],
    [["-o", "json", "whoami"], ["whoami", "-o", "json"]],
    [["--region", "--profile", "p", "whoami"], ["whoami", "--region", "--profile", "p"]],
    [["token", "--", "x"], ["token", "--", "x"]],
    [[], []],
  ];
  for (const [argv, expected] of cases) assert.deepEqual(commandFirst(argv, ALL_VALUE_FLAGS), expected, argv.join(" "));
});
