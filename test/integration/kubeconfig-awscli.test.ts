/**
 * `eks-access kubeconfig add --exec aws` against `aws eks update-kubeconfig`, both talking to the same
 * moto_server: same files (byte for byte), same messages, same multi-file choice, same errors.
 */
import { before, after, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, lstatSync, readFileSync, statSync, symlinkSync, writeFileSync, copyFileSync } from "node:fs";
import { join } from "node:path";
import { startMoto, type MotoServer } from "../../src/sandbox/emulator/moto.js";
import { baseEnv, run, runCli, tempDir, type Env } from "../helpers.js";

let moto: MotoServer;
let env: Env;
let dirs: Array<() => void> = [];

before(async () => {
  moto = await startMoto();
  const t = tempDir();
  dirs.push(t.cleanup);
  const config = join(t.path, "config");
  const credentials = join(t.path, "credentials");
  writeFileSync(config, "[default]\nregion = us-west-2\n[profile dev]\nregion = us-west-2\n");
  writeFileSync(credentials, "[default]\naws_access_key_id = test\naws_secret_access_key = test\n[dev]\naws_access_key_id = test\naws_secret_access_key = test\n");
  env = baseEnv({ AWS_CONFIG_FILE: config, AWS_SHARED_CREDENTIALS_FILE: credentials, AWS_ENDPOINT_URL: moto.url });
  for (const name of ["demo", "other"]) {
    const r = run("aws", ["eks", "create-cluster", "--name", name, "--role-arn", "arn:aws:iam::123456789012:role/eks", "--resources-vpc-config", "subnetIds=subnet-1"], { env });
    assert.equal(r.status, 0, r.stderr);
  }
});

after(async () => {
  await moto?.stop();
  for (const d of dirs) d();
});

function workdir(): string {
  const t = tempDir();
  dirs.push(t.cleanup);
  return t.path;
}

const ARN = "arn:aws:eks:us-west-2:123456789012:cluster/demo";

/** Runs both tools on copies of the same starting files; returns both results and the files after. */
function both(args: string[], files: Record<string, string | null>, extraEnv: Env = {}, kubeconfigEnv?: (dir: string) => string) {
  const results = [] as Array<{ status: number; stdout: string; stderr: string; files: Record<string, string | null> }>;
  for (const tool of ["aws", "ours"] as const) {
    const dir = workdir();
    for (const [name, content] of Object.entries(files)) if (content !== null) writeFileSync(join(dir, name), content);
    const e: Env = { ...env, ...extraEnv, ...(kubeconfigEnv ? { KUBECONFIG: kubeconfigEnv(dir) } : {}) };
    const a = args.map((x) => x.replace("{dir}", dir));
    const r = tool === "aws" ? run("aws", ["eks", "update-kubeconfig", ...a], { env: e, cwd: dir }) : runCli(["kubeconfig", "add", "--exec", "aws", ...a], { env: e, cwd: dir });
    const after: Record<string, string | null> = {};
    for (const name of Object.keys(files)) after[name] = existsSync(join(dir, name)) ? readFileSync(join(dir, name), "utf8") : null;
    results.push({ status: r.status, stdout: r.stdout.replaceAll(dir, "{dir}"), stderr: r.stderr.replaceAll(dir, "{dir}"), files: after });
  }
  return { aws: results[0]!, ours: results[1]! };
}

const PYYAML_EXISTING = `apiVersion: v1
clusters:
- cluster:
    server: https://old.example.com
  name: ${ARN}
- cluster:
    server: https://keep.example.com
  name: keep-cluster
contexts:
- context:
    cluster: keep-cluster
    user: keep-user
  name: keep-context
current-context: keep-context
kind: Config
preferences: {}
users:
- name: keep-user
  user:
    token: abc
`;

test("new file: identical bytes, message and 0600 mode", () => {
  const { aws, ours } = both(["--name", "demo", "--kubeconfig", "{dir}/kc"], { kc: null });
  assert.equal(aws.status, 0, aws.stderr);
  assert.equal(ours.status, 0, ours.stderr);
  assert.equal(ours.stdout, aws.stdout);
  assert.equal(ours.stdout, `Added new context ${ARN} to {dir}/kc\n`);
  assert.equal(ours.files["kc"], aws.files["kc"]);
});

test("empty file is a new kubeconfig", () => {
  const { aws, ours } = both(["--name", "demo", "--kubeconfig", "{dir}/kc"], { kc: "" });
  assert.equal(ours.status, 0, ours.stderr);
  assert.equal(ours.files["kc"], aws.files["kc"]);
});

test("existing entries: replaced in place, others kept, current-context set", () => {
  const { aws, ours } = both(["--name", "demo", "--kubeconfig", "{dir}/kc"], { kc: PYYAML_EXISTING });
  assert.equal(ours.stdout, aws.stdout);
  assert.equal(ours.stdout, `Updated context ${ARN} in {dir}/kc\n`);
  assert.equal(ours.files["kc"], aws.files["kc"]);
  assert.match(ours.files["kc"]!, /keep-cluster/);
});

test("aliases, role, proxy and profile produce the same entries", () => {
  const args = ["--name", "demo", "--kubeconfig", "{dir}/kc", "--alias", "dev", "--user-alias", "dev-user", "--role-arn", "arn:aws:iam::123456789012:role/Admin", "--proxy-url", "socks5://127.0.0.1:1080" /* AWS CLI v1 would fetch an http(s):// parameter value */, "--profile", "dev"];
  const { aws, ours } = both(args, { kc: PYYAML_EXISTING });
  assert.equal(aws.status, 0, aws.stderr);
  assert.equal(ours.stdout, aws.stdout);
  assert.equal(ours.files["kc"], aws.files["kc"]);
  assert.match(ours.files["kc"]!, /- --role\n {6}- arn:aws:iam::123456789012:role\/Admin/);
  assert.match(ours.files["kc"]!, /name: AWS_PROFILE\n {8}value: dev/);
});

test("AWS_PROFILE in the environment is written to the entry, as the CLI does", () => {
  const { aws, ours } = both(["--name", "demo", "--kubeconfig", "{dir}/kc"], { kc: null }, { AWS_PROFILE: "dev" });
  assert.equal(ours.files["kc"], aws.files["kc"]);
  assert.match(ours.files["kc"]!, /value: dev/);
});

test("--verbose prints the same entries", () => {
  const { aws, ours } = both(["--name", "demo", "--kubeconfig", "{dir}/kc", "--verbose"], { kc: null });
  assert.equal(ours.stdout, aws.stdout);
  assert.match(ours.stdout, /^Added new context .*\nEntries:\n\ncontext:\n/);
});

test("--dry-run prints the merged file and writes nothing", () => {
  const { aws, ours } = both(["--name", "demo", "--kubeconfig", "{dir}/kc", "--dry-run"], { kc: PYYAML_EXISTING });
  assert.equal(ours.stdout, aws.stdout);
  assert.equal(ours.files["kc"], PYYAML_EXISTING);
  assert.equal(aws.files["kc"], PYYAML_EXISTING);
});

test("multi-path KUBECONFIG: the file that already has the cluster is updated, the others untouched", () => {
  const files = { a: "apiVersion: v1\nkind: Config\nclusters: []\n", b: PYYAML_EXISTING };
  const { aws, ours } = both(["--name", "demo"], files, {}, (dir) => `${dir}/a:${dir}/b`);
  assert.equal(ours.stdout, aws.stdout);
  assert.equal(ours.stdout, `Updated context ${ARN} in {dir}/b\n`);
  assert.deepEqual(ours.files, aws.files);
  assert.equal(ours.files["a"], files.a);
});

test("multi-path KUBECONFIG: no file has it → the first path; a corrupt later file is passed over", () => {
  const files = { a: null, b: "clusters: {not: a list}\n" };
  const { aws, ours } = both(["--name", "demo"], files, {}, (dir) => `${dir}/a::${dir}/b`);
  assert.equal(aws.status, 0, aws.stderr);
  assert.equal(ours.status, 0, ours.stderr);
  assert.equal(ours.stdout, aws.stdout);
  assert.deepEqual(ours.files, aws.files);
});

test("cluster not found: both fail, nothing written", () => {
  const { aws, ours } = both(["--name", "nope", "--kubeconfig", "{dir}/kc"], { kc: PYYAML_EXISTING });
  assert.notEqual(aws.status, 0);
  assert.equal(ours.status, 1);
  assert.match(ours.stderr, /^eks-access: error: cluster "nope" not found in region us-west-2 \(ResourceNotFoundException: No cluster found for name: nope\.\); check --name and --region/);
  assert.equal(ours.stderr.split("\n").length, 2, "one line");
  assert.equal(ours.files["kc"], PYYAML_EXISTING);
});

for (const [what, content, message] of [
  ["invalid YAML", "clusters: [\n", /is not valid: YAML error/],
  ["clusters of the wrong type", "clusters: {a: 1}\n", /clusters should be a list/],
  ["a non-mapping entry", "users:\n- just-a-string\n", /users\[0\] is not a mapping/],
  ["a top-level list", "- a\n- b\n", /top level is not a mapping/],
] as const) {
  test(`bad kubeconfig (${what}): clear one-line error, file untouched`, () => {
    const { aws, ours } = both(["--name", "demo", "--kubeconfig", "{dir}/kc"], { kc: content });
    assert.notEqual(aws.status, 0, "the AWS CLI refuses it too");
    assert.equal(ours.status, 1);
    assert.match(ours.stderr, message);
    assert.match(ours.stderr, /nothing was written/);
    assert.equal(ours.files["kc"], content);
  });
}

test("better than the CLI: comments survive, a symlinked kubeconfig stays a symlink, mode becomes 0600", () => {
  const dir = workdir();
  const real = join(dir, "real-config");
  const withComments = `# my clusters\napiVersion: v1\nkind: Config\nclusters:\n# prod first\n- cluster:\n    server: https://keep.example.com # pinned\n  name: keep\ncontexts: []\nusers: []\n`;
  writeFileSync(real, withComments, { mode: 0o644 });
  symlinkSync(real, join(dir, "link"));
  const r = runCli(["kubeconfig", "add", "--name", "demo", "--kubeconfig", join(dir, "link")], { env });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(lstatSync(join(dir, "link")).isSymbolicLink());
  const text = readFileSync(real, "utf8");
  for (const c of ["# my clusters", "# prod first", "# pinned"]) assert.ok(text.includes(c), `kept ${c}`);
  assert.equal(statSync(real).mode & 0o777, 0o600);
  assert.match(text, /command: eks-access/);
});

test("--exec eks-access entry and --exec-profile", () => {
  const dir = workdir();
  copyFileSync("/dev/null", join(dir, "kc"));
  const r = runCli(["kubeconfig", "add", "--name", "demo", "--kubeconfig", join(dir, "kc"), "--profile", "dev", "--exec-profile", "readonly", "--role-arn", "arn:aws:iam::123456789012:role/R"], { env });
  assert.equal(r.status, 0, r.stderr);
  const text = readFileSync(join(dir, "kc"), "utf8");
  assert.match(text, /command: eks-access\n/);
  assert.match(text, /args:\n {6}- token\n {6}- --cluster-name\n {6}- demo\n {6}- --region\n {6}- us-west-2\n {6}- --output\n {6}- json\n {6}- --role-arn\n {6}- arn:aws:iam::123456789012:role\/R\n/);
  assert.match(text, /name: AWS_PROFILE\n {8}value: readonly/);
});

/**
 * The categories of the AWS CLI's own fixtures (tests/functional/eks/testdata), written afresh:
 * every valid variant must give the AWS CLI's bytes; every invalid one must fail on both sides and
 * leave the file as it was.
 */
const EXISTING_USER = `- name: ${ARN}\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1alpha1\n      args:\n      - token\n      - -i\n      - demo\n      command: aws-iam-authenticator\n`;
const validVariants: Record<string, string> = {
  "keys in another order": `users: []\nkind: Config\nclusters: []\ncurrent-context: ''\ncontexts: []\npreferences: {}\napiVersion: v1\n`,
  "null sections": `apiVersion: v1\nclusters: null\ncontexts: null\ncurrent-context: null\nkind: Config\npreferences: {}\nusers: null\n`,
  "no clusters, contexts, users or current-context keys": `apiVersion: v1\nkind: Config\npreferences: {}\n`,
  "a cluster entry without its cluster field": `apiVersion: v1\nclusters:\n- name: ${ARN}\ncontexts: []\ncurrent-context: ''\nkind: Config\npreferences: {}\nusers: []\n`,
  "a context entry without its context field": `apiVersion: v1\nclusters: []\ncontexts:\n- name: ${ARN}\ncurrent-context: ''\nkind: Config\npreferences: {}\nusers: []\n`,
  "an old v1alpha1 aws-iam-authenticator user is replaced": `apiVersion: v1\nclusters: []\ncontexts: []\ncurrent-context: ''\nkind: Config\npreferences: {}\nusers:\n${EXISTING_USER}`,
  "entries of other clusters kept in order": `apiVersion: v1\nclusters:\n- cluster:\n    server: https://a\n  name: a\n- cluster:\n    server: https://b\n  name: b\ncontexts: []\ncurrent-context: a\nkind: Config\npreferences:\n  colors: true\nusers: []\n`,
};
for (const [what, content] of Object.entries(validVariants)) {
  test(`AWS CLI fixture category, valid: ${what}`, () => {
    const { aws, ours } = both(["--name", "demo", "--kubeconfig", "{dir}/kc"], { kc: content });
    assert.equal(aws.status, 0, aws.stderr);
    assert.equal(ours.status, 0, ours.stderr);
    assert.equal(ours.stdout, aws.stdout);
    assert.equal(ours.files["kc"], aws.files["kc"]);
  });
}

const invalidVariants: Record<string, string> = {
  "plain text (a YAML string)": "This is not a yaml file.\nIt is text that parses as a YAML string.\n",
  "clusters is a string": "apiVersion: v1\nclusters: not-a-list\n",
  "contexts is a string": "apiVersion: v1\ncontexts: not-a-list\n",
  "users is a string": "apiVersion: v1\nusers: not-a-list\n",
  "a cluster entry is a string": "apiVersion: v1\nclusters:\n- just-a-name\n",
  "a context entry is a string": "apiVersion: v1\ncontexts:\n- just-a-name\n",
  "a user entry is a string": "apiVersion: v1\nusers:\n- just-a-name\n",
  "unparsable YAML": "apiVersion: v1\nclusters: [\n  - {\n",
  "preferences is a list": "apiVersion: v1\npreferences: []\n",
};
for (const [what, content] of Object.entries(invalidVariants)) {
  test(`AWS CLI fixture category, invalid: ${what}`, () => {
    const { aws, ours } = both(["--name", "demo", "--kubeconfig", "{dir}/kc"], { kc: content });
    assert.notEqual(aws.status, 0, "the AWS CLI refuses it");
    assert.equal(ours.status, 1);
    assert.match(ours.stderr, /^eks-access: error: kubeconfig \{dir\}\/kc is not valid: .+; fix or move the file \(nothing was written\), or choose another with --kubeconfig\n$/);
    assert.equal(ours.files["kc"], content);
    assert.equal(aws.files["kc"], content);
  });
}
