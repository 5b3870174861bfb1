/** Usage errors: one line naming the problem and where to look, exit 2, no work done. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { baseEnv, runCli } from "../helpers.js";

const cases: Array<[string[], RegExp]> = [
  [["kubeconfig", "add"], /Missing required argument: name/],
  [["kubeconfig", "add", "--name", "x", "--exec", "kubectl"], /Invalid values:|Argument: exec/],
  [["kubeconfig"], /choose a kubeconfig subcommand: add/],
  [["sandbox"], /choose a sandbox subcommand: up, down, env, demo/],
  [["whoami", "-o", "yaml"], /Invalid values/],
  [["no-such-command"], /Unknown argument: no-such-command/],
  [[], /choose a command/],
];

for (const [args, message] of cases) {
  test(`usage error: eks-access ${args.join(" ")}`, () => {
    // credentials present: a handler that ran anyway would get further and fail differently
    const r = runCli(args, { env: baseEnv({ AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "x", AWS_DEFAULT_REGION: "us-west-2", AWS_ENDPOINT_URL: "http://127.0.0.1:9" }) });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^eks-access: error: .*; see eks-access --help\n$/);
    assert.match(r.stderr, message);
  });
}

test("--help and --version answer on stdout with exit 0", () => {
  for (const args of [["--help"], ["token", "--help"], ["kubeconfig", "add", "--help"], ["sandbox", "--help"], ["--version"]]) {
    const r = runCli(args, { env: baseEnv() });
    assert.equal(r.status, 0, `${args.join(" ")}: ${r.stderr}`);
    assert.ok(r.stdout.length > 0);
  }
  assert.match(runCli(["token", "--help"], { env: baseEnv() }).stdout, /--cluster-name[\s\S]*--no-cache[\s\S]*Tokens are cached/);
  assert.match(runCli(["completion"], { env: baseEnv() }).stdout, /eks-access-completions/);
});

test("a command's own failure keeps its kind: exit 1 and its own hint, not a usage error", () => {
  const r = runCli(["whoami", "--region", "us-west-2"], { env: baseEnv() });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^eks-access: error: could not load AWS credentials for profile "default": .*; configure credentials/);
  assert.doesNotMatch(r.stderr, /see eks-access --help/);
});

test("every option of every command is described in its --help (none is a bare [string])", () => {
  const commands = [["token"], ["kubeconfig", "add"], ["whoami"], ["sandbox", "up"], ["sandbox", "down"], ["sandbox", "env"], ["sandbox", "demo"]];
  for (const cmd of commands) {
    const help = runCli([...cmd, "--help"], { env: baseEnv() });
    assert.equal(help.status, 0, help.stderr);
    const options = help.stdout.slice(help.stdout.indexOf("Options:"));
    // an undescribed option is a line with only the flag (and alias) before its [type] column
    const bare = options.split("\n").filter((line) => /^\s+(-\w, )?--[\w-]+\s+\[/.test(line));
    assert.deepEqual(bare, [], `eks-access ${cmd.join(" ")} --help`);
    assert.ok(options.includes("--help"), "control: the options block was found");
  }
});
