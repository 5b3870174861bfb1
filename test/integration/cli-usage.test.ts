/** Usage errors: one line naming the problem and where to look, exit 2, no work done. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { baseEnv, runCli, tempDir, tokenUrl } from "../helpers.js";

// [argv, message, the --help the hint points at]
const cases: Array<[string[], RegExp, string]> = [
  [["kubeconfig", "add"], /Missing required argument: name/, "kubeconfig add"],
  [["kubeconfig", "add", "--name", "x", "--exec", "kubectl"], /Invalid values:|Argument: exec/, "kubeconfig add"],
  [["kubeconfig", "add", "--name", "x", "--bogus"], /Unknown argument: bogus/, "kubeconfig add"],
  [["--bogus", "kubeconfig", "add", "--name", "x"], /Unknown argument: bogus/, "kubeconfig add"],
  [["kubeconfig"], /choose a kubeconfig subcommand: add/, "kubeconfig"],
  [["sandbox"], /choose a sandbox subcommand: up, down, env, demo/, "sandbox"],
  [["whoami", "-o", "yaml"], /Invalid values/, "whoami"],
  [["whoami", "--bogus"], /Unknown argument: bogus/, "whoami"],
  [["token", "--bogus"], /unknown option '--bogus'/, "token"],
  [["no-such-command"], /Unknown argument: no-such-command/, ""],
  [[], /choose a command/, ""],
  // a value option with nothing after it: the same error from the fast parser and from yargs
  [["token", "--cluster-name", "x", "--region"], /^eks-access: error: option '--region' needs a value;/, "token"],
  [["kubeconfig", "add", "--name", "x", "--region"], /^eks-access: error: option '--region' needs a value;/, "kubeconfig add"],
  [["kubeconfig", "add", "--region", "--name", "x"], /^eks-access: error: option '--region' needs a value;/, "kubeconfig add"],
  [["whoami", "--region"], /^eks-access: error: option '--region' needs a value;/, "whoami"],
  [["whoami", "--profile", "-o", "json"], /^eks-access: error: option '--profile' needs a value;/, "whoami"],
  [["sandbox", "env", "--dir"], /^eks-access: error: option '--dir' needs a value;/, "sandbox env"],
  // access list/check, migrate, auth-mode set
  [["access"], /choose an access subcommand: list, check, reconcile/, "access"],
  [["access", "list"], /Missing required argument: cluster/, "access list"],
  [["access", "list", "--cluster", "x", "-o", "text"], /Invalid values:.*Argument: output/, "access list"],
  [["access", "check", "--cluster"], /^eks-access: error: option '--cluster' needs a value;/, "access check"],
  [["migrate"], /choose a migrate subcommand: plan, apply, verify/, "migrate"],
  [["migrate", "apply", "--cluster", "x", "--bogus"], /Unknown argument: bogus/, "migrate apply"],
  [["migrate", "verify", "--cluster", "x", "--concurrency"], /^eks-access: error: option '--concurrency' needs a value;/, "migrate verify"],
  [["auth-mode"], /choose an auth-mode subcommand: set/, "auth-mode"],
  [["auth-mode", "set", "--cluster", "x"], /Not enough non-option arguments/, "auth-mode set"],
  [["auth-mode", "set", "CONFIG_MAP", "--cluster", "x"], /Invalid values:.*Argument: mode, Given: "CONFIG_MAP"/, "auth-mode set"],
  [["access", "reconcile"], /Missing required argument: cluster/, "access reconcile"],
  [["access", "reconcile", "--cluster", "c", "--lookup-role"], /^eks-access: error: option '--lookup-role' needs a value;/, "access reconcile"],
  [["aws-auth", "restore", "--backup", "f"], /Missing required argument: cluster/, "aws-auth restore"],
  [["aws-auth", "restore", "--cluster", "c", "--backup"], /^eks-access: error: option '--backup' needs a value;/, "aws-auth restore"],
  // the value of a value option is never a command word
  [["--region", "token", "--cluster-name", "x"], /^eks-access: error: choose a command;/, ""],
];

for (const [args, message, command] of cases) {
  test(`usage error: eks-access ${args.join(" ")}`, () => {
    // credentials present: a handler that ran anyway would get further and fail differently
    const r = runCli(args, { env: baseEnv({ AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "x", AWS_DEFAULT_REGION: "us-west-2", AWS_ENDPOINT_URL: "http://127.0.0.1:9", EKS_ACCESS_NO_CACHE: "1" }) });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, new RegExp(`^eks-access: error: .*; see eks-access ${command ? `${command} ` : ""}--help\\n$`));
    assert.match(r.stderr, message);
  });
}

const ACCESS_READ_COMMANDS = [["access", "list"], ["access", "check"], ["migrate", "plan"], ["migrate", "apply"], ["migrate", "verify"], ["auth-mode", "set"]];

const KEYS = { AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", AWS_DEFAULT_REGION: "us-west-2" };
const FROZEN = "@2024-05-01 12:00:00";

test("global flags in any position: `--cluster-name x token` is `token --cluster-name x`, cache miss (real signing) and hit", () => {
  const t = tempDir();
  try {
    const env = baseEnv({ ...KEYS, EKS_ACCESS_CACHE_DIR: t.path });
    const reference = runCli(["token", "--cluster-name", "demo", "--no-cache"], { env, frozenAt: FROZEN });
    assert.equal(reference.status, 0, reference.stderr);
    assert.match(JSON.parse(reference.stdout).status.token, /^k8s-aws-v1\./);
    for (const args of [
      ["--cluster-name", "demo", "token", "--no-cache"],
      ["--no-cache", "token", "--cluster-name", "demo"],
      ["--region", "us-west-2", "--no-cache", "--cluster-name", "demo", "token", "-o", "json"],
    ]) {
      const r = runCli(args, { env, frozenAt: FROZEN });
      assert.equal(r.status, 0, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stdout, reference.stdout, args.join(" "));
    }
    // through the cache: the miss writes, the hit (flags first again) reads the same token
    const miss = runCli(["--cluster-name", "demo", "token"], { env });
    assert.equal(miss.status, 0, miss.stderr);
    const hit = runCli(["--cluster-name", "demo", "token"], { env });
    assert.equal(hit.stdout, miss.stdout);
    assert.equal(tokenUrl(miss.stdout).hostname, "sts.us-west-2.amazonaws.com");
  } finally {
    t.cleanup();
  }
});

test("token -o json is --output json; -o text is refused as --output text is", () => {
  const env = baseEnv({ ...KEYS, EKS_ACCESS_NO_CACHE: "1" });
  const long = runCli(["token", "--cluster-name", "demo", "--output", "json"], { env, frozenAt: FROZEN });
  const short = runCli(["token", "--cluster-name", "demo", "-o", "json"], { env, frozenAt: FROZEN });
  assert.equal(short.status, 0, short.stderr);
  assert.equal(short.stdout, long.stdout);
  const text = runCli(["token", "--cluster-name", "demo", "-o", "text"], { env });
  assert.equal(text.status, 2);
  assert.match(text.stderr, /--output text is not supported by token/);
  assert.match(runCli(["token", "--help"], { env }).stdout, /-o, --output/);
});

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
  const commands = [["token"], ["kubeconfig", "add"], ["whoami"], ["sandbox", "up"], ["sandbox", "down"], ["sandbox", "env"], ["sandbox", "demo"], ["cache", "clear"], ["serve"], ["serve", "init"], ["grant"], ["revoke"], ["aws-auth", "check"], ["aws-auth", "restore"], ["access", "reconcile"], ...ACCESS_READ_COMMANDS];
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

test("VALUE_FLAGS (what main.ts skips to find the command, and the value rule) lists exactly the options each --help shows taking a value", async () => {
  const { VALUE_FLAGS, valueFlagsOf } = await import("../../src/cli/value-flags.js");
  const commands = [["token"], ["kubeconfig", "add"], ["whoami"], ["sandbox", "up"], ["sandbox", "env"], ["sandbox", "demo"], ["cache", "clear"], ["serve"], ["serve", "init"], ["grant"], ["revoke"], ["aws-auth", "check"], ["aws-auth", "restore"], ["access", "reconcile"], ...ACCESS_READ_COMMANDS];
  for (const cmd of commands) {
    const help = runCli([...cmd, "--help"], { env: baseEnv() });
    assert.equal(help.status, 0, help.stderr);
    const block = help.stdout.slice(help.stdout.indexOf("Options:"));
    const entries: string[] = [];
    for (const line of block.split("\n").slice(1)) {
      if (/^\s*$/.test(line)) break;
      if (/^\s+(-\w, )?--[\w-]+/.test(line)) entries.push(line);
      else if (entries.length > 0) entries[entries.length - 1] += line;
    }
    const takingValues = entries
      .filter((e) => /\[string\]|\[number\]|\[array\]|\[choices:/.test(e))
      .flatMap((e) => [...e.trim().split(/\s{2,}/)[0]!.matchAll(/--?([\w-]+)/g)].map((m) => m[1]!));
    assert.ok(entries.length >= 3, `control: options of ${cmd.join(" ")} were found`);
    assert.deepEqual([...valueFlagsOf(cmd)].sort(), takingValues.sort(), `eks-access ${cmd.join(" ")} --help`);
  }
  assert.ok(Object.keys(VALUE_FLAGS).length >= 4);
});

test("--debug is accepted by every command, in any position, and prints what was resolved but no secret", () => {
  const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYdebugSECRET";
  const env = baseEnv({ AWS_ACCESS_KEY_ID: "AKIDDEBUGTEST", AWS_SECRET_ACCESS_KEY: secret, AWS_SESSION_TOKEN: "debug-session-token-SECRET", AWS_REGION: "us-west-2", AWS_ENDPOINT_URL: "http://127.0.0.1:9", EKS_ACCESS_CACHE_DIR: "/nonexistent-cache" });
  for (const args of [["whoami", "--debug"], ["--debug", "kubeconfig", "add", "--name", "x", "--kubeconfig", "/nonexistent/kc"]]) {
    const r = runCli(args, { env });
    assert.notEqual(r.status, 0, "the endpoint is unreachable");
    assert.match(r.stderr, /^eks-access: debug: region: us-west-2 \(AWS_REGION\)$/m, args.join(" "));
    assert.match(r.stderr, /^eks-access: debug: credentials: environment/m);
    assert.match(r.stderr, /could not reach http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\)/);
    for (const v of [secret, "debug-session-token-SECRET"]) assert.ok(!(r.stderr + r.stdout).includes(v), "no secret key or session token");
  }
  const clear = runCli(["cache", "clear", "--debug"], { env });
  assert.equal(clear.status, 0, clear.stderr);
});
