/**
 * What `kubeconfig add` loads: the EKS client and the credential chain, never the STS client (it
 * assumes no role unless --assume-role-arn). A module-loader hook records every file the built CLI
 * loads; dist/meta.json says which sources each bundle file holds. Servers listen on 127.0.0.1.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { readFileSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { baseEnv, cliPath, repoRoot, runAsync, tempDir, type Env } from "../helpers.js";

const t = tempDir();
let eks: Server;
let eksUrl: string;

before(async () => {
  writeFileSync(
    join(t.path, "hooks.mjs"),
    `import { appendFileSync } from "node:fs";
let out;
export function initialize(data) { out = data.out; }
export async function load(url, context, next) {
  if (url.startsWith("file:")) appendFileSync(out, url + "\\n");
  return next(url, context);
}
`,
  );
  writeFileSync(join(t.path, "register.mjs"), `import { register } from "node:module";\nregister(new URL("./hooks.mjs", import.meta.url), { data: { out: process.env.LOAD_LOG } });\n`);
  eks = createServer((req, res) => {
    const name = decodeURIComponent((req.url ?? "").split("/")[2] ?? "");
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ cluster: { name, arn: `arn:aws:eks:us-west-2:111122223333:cluster/${name}`, endpoint: "https://127.0.0.1:6443", certificateAuthority: { data: "Q0E=" }, status: "ACTIVE" } }));
  });
  await new Promise<void>((r) => eks.listen(0, "127.0.0.1", r));
  eksUrl = `http://127.0.0.1:${(eks.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise<void>((r) => eks.close(() => r()));
  t.cleanup();
});

/** The sources (src/… and node_modules/…) in the bundle files one run loaded. */
async function loadedSources(args: string[], env: Env, name: string): Promise<{ status: number; stderr: string; sources: Set<string> }> {
  const log = join(t.path, `${name}.log`);
  writeFileSync(log, "");
  const r = await runAsync(cliPath, args, baseEnv({ ...env, LOAD_LOG: log, NODE_OPTIONS: `--import ${join(t.path, "register.mjs")}` }));
  type Meta = Record<string, { outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }> }>;
  const meta = JSON.parse(readFileSync(join(repoRoot, "dist", "meta.json"), "utf8")) as Meta;
  const outputs = Object.assign({}, ...Object.values(meta).map((m) => m.outputs)) as Meta[string]["outputs"];
  const sources = new Set<string>();
  for (const url of readFileSync(log, "utf8").split("\n").filter(Boolean)) {
    const file = fileURLToPath(url).slice(repoRoot.length + 1);
    for (const [input, v] of Object.entries(outputs[file]?.inputs ?? {})) if (v.bytesInOutput > 0) sources.add(input);
  }
  return { status: r.status, stderr: r.stderr, sources };
}

const KEYS: Env = { AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", AWS_DEFAULT_REGION: "us-west-2", AWS_MAX_ATTEMPTS: "1" };
const sts = (sources: Set<string>): string[] => [...sources].filter((s) => s.includes("@aws-sdk/client-sts/") || s === "src/adapters/sts.ts");

test("kubeconfig add loads the EKS client and not the STS client", async () => {
  const r = await loadedSources(["kubeconfig", "add", "--name", "demo", "--dry-run"], { ...KEYS, AWS_ENDPOINT_URL_EKS: eksUrl }, "add");
  assert.equal(r.status, 0, r.stderr);
  assert.ok([...r.sources].some((s) => s.includes("@aws-sdk/client-eks/")), "control: the EKS client was seen loading");
  assert.ok(r.sources.has("src/adapters/eks.ts"));
  assert.deepEqual(sts(r.sources), []);
});

test("control: --assume-role-arn and whoami do load the STS client", async () => {
  const refused = eksUrl; // not an STS: the calls fail, after the modules loaded
  const assume = await loadedSources(["kubeconfig", "add", "--name", "demo", "--dry-run", "--assume-role-arn", "arn:aws:iam::111122223333:role/r"], { ...KEYS, AWS_ENDPOINT_URL_STS: refused }, "assume");
  assert.match(assume.stderr, /could not assume role/);
  assert.ok(sts(assume.sources).length > 0);
  const whoami = await loadedSources(["whoami"], { ...KEYS, AWS_ENDPOINT_URL_STS: refused }, "whoami");
  assert.ok(sts(whoami.sources).length > 0);
});
