/**
 * The Dockerfile, built without a Docker engine: its instructions are carried out here, in order,
 * each stage in its own directory standing for the image's root (WORKDIR, COPY from the build
 * context or `--from` an earlier stage, RUN with sh, ENV, USER) — so the build stage really runs
 * `npm ci` and `npm run build` on a copy of what it COPYs. Then the runtime stage, which must hold
 * only package.json and dist/, is run as the image would run it: ENTRYPOINT + CMD prints serve's
 * help, and ENTRYPOINT with a cluster id starts the TokenReview server as an unprivileged user
 * (uid 1000, the `node` user of the official Node images), which answers /readyz and stops on
 * SIGTERM. An instruction this runner does not know fails the test, so it follows the Dockerfile.
 * (Slow: npm ci of the lock file from the npm cache or registry.)
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, cpSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { isAbsolute, join, relative } from "node:path";
import { requestText } from "../../src/sandbox/cluster/kube.js";
import { freePort, poll } from "../../src/sandbox/emulator/net.js";
import { repoRoot, tempDir } from "../helpers.js";

const NODE_UID = 1000; // the `node` user of the official node:* images

interface Stage {
  name: string;
  root: string;
  workdir: string;
  env: Record<string, string>;
  user?: string;
  entrypoint?: string[];
  cmd?: string[];
  from: string;
}

const t = tempDir("eks-access-dockerfile-");
const stages: Stage[] = [];
const args: Record<string, string> = {};
const log: string[] = [];

/** Instructions, continuation lines joined, comments and blank lines left out. */
function instructions(text: string): Array<{ op: string; rest: string }> {
  return text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op!.toUpperCase(), rest: rest.join(" ") };
    });
}

const expand = (s: string): string => s.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => args[(a ?? b)!] ?? "");

function inStage(stage: Stage, path: string): string {
  const abs = isAbsolute(path) ? path : join(stage.workdir, path);
  return join(stage.root, abs);
}

function copy(sources: string[], dest: string, fromRoot: (p: string) => string, stage: Stage): void {
  const target = inStage(stage, dest);
  const intoDir = dest.endsWith("/") || sources.length > 1;
  for (const s of sources) {
    const src = fromRoot(s);
    const to = statSync(src).isDirectory() || !intoDir ? target : join(target, s.split("/").pop()!);
    mkdirSync(intoDir ? target : join(to, ".."), { recursive: true });
    cpSync(src, to, { recursive: true });
  }
}

before(() => {
  chmodSync(t.path, 0o755); // the unprivileged user walks into it
  for (const { op, rest } of instructions(readFileSync(join(repoRoot, "Dockerfile"), "utf8"))) {
    const stage = stages.at(-1);
    switch (op) {
      case "ARG": {
        const [name, value] = rest.split("=");
        args[name!] = value ?? "";
        break;
      }
      case "FROM": {
        const [image, as, name] = rest.split(/\s+/);
        assert.equal(as?.toUpperCase(), "AS", `name each stage: FROM ${rest}`);
        const root = join(t.path, name!);
        mkdirSync(root, { recursive: true });
        stages.push({ name: name!, root, workdir: "/", env: {}, from: expand(image!) });
        break;
      }
      case "WORKDIR":
        stage!.workdir = rest;
        mkdirSync(inStage(stage!, "."), { recursive: true });
        break;
      case "ENV": {
        const [k, v] = rest.split("=");
        stage!.env[k!] = v!;
        break;
      }
      case "COPY": {
        const words = rest.split(/\s+/);
        const fromFlag = words[0]!.startsWith("--from=") ? words.shift()!.slice("--from=".length) : undefined;
        const dest = words.pop()!;
        const source = fromFlag === undefined ? undefined : stages.find((s) => s.name === fromFlag);
        if (fromFlag !== undefined) assert.ok(source, `COPY --from=${fromFlag}: no such stage`);
        copy(words, dest, (p) => (source ? join(source.root, p) : join(repoRoot, p)), stage!);
        break;
      }
      case "RUN": {
        const started = Date.now();
        const r = spawnSync("sh", ["-c", rest], {
          cwd: inStage(stage!, "."),
          env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "/root", npm_config_update_notifier: "false", ...stage!.env },
          encoding: "utf8",
          maxBuffer: 64 * 1024 * 1024,
        });
        assert.equal(r.status, 0, `RUN ${rest}: ${r.stderr.slice(-2000)}`);
        log.push(`RUN ${rest}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
        break;
      }
      case "USER":
        stage!.user = rest;
        break;
      case "EXPOSE":
        break;
      case "ENTRYPOINT":
        stage!.entrypoint = JSON.parse(rest) as string[];
        break;
      case "CMD":
        stage!.cmd = JSON.parse(rest) as string[];
        break;
      default:
        assert.fail(`Dockerfile instruction ${op} is not carried out by this test: teach it`);
    }
  }
});

after(() => t.cleanup());

const runtime = (): Stage => {
  const s = stages.at(-1);
  assert.ok(s && s.name === "runtime", "the last stage is the runtime");
  return s;
};

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? walk(join(dir, f)) : [join(dir, f)]));
}

/** ENTRYPOINT + args with the image's absolute paths mapped into the stage's directory. */
function command(s: Stage, extra: string[]): [string, string[]] {
  const [file, ...rest] = s.entrypoint!.map((a) => (a.startsWith("/") ? join(s.root, a) : a));
  return [file!, [...rest, ...extra]];
}

test("two stages on the official Node image of the Node version this runs on; the runtime holds package.json and dist/ only", () => {
  assert.deepEqual(stages.map((s) => s.name), ["build", "runtime"]);
  for (const s of stages) assert.match(s.from, /^node:\d+-bookworm-slim$/);
  assert.equal(stages[0]!.from.split(":")[1]!.split("-")[0], process.versions.node.split(".")[0], "the image's Node major version is the one tested here");
  const s = runtime();
  const files = walk(s.root).map((f) => relative(s.root, f));
  assert.ok(files.includes("opt/eks-access/dist/main.cjs") && files.includes("opt/eks-access/dist/cli.js"), files.slice(0, 20).join(", "));
  assert.deepEqual(files.filter((f) => !f.startsWith("opt/eks-access/dist/") && f !== "opt/eks-access/package.json"), [], "nothing but package.json and dist/");
  assert.deepEqual(files.filter((f) => /node_modules|\.ts$|meta\.json$/.test(f)), [], "no dependencies, sources or build metadata");
  assert.equal(s.user, "node", "a non-root user");
  assert.deepEqual(s.entrypoint, ["node", "/opt/eks-access/dist/main.cjs", "serve"]);
  assert.ok(log.some((l) => l.startsWith("RUN npm ci")) && log.some((l) => l.startsWith("RUN npm run build")), log.join("; "));
});

test("ENTRYPOINT + CMD: serve's help, from the runtime stage alone", () => {
  const s = runtime();
  const [file, argv] = command(s, s.cmd ?? []);
  const r = spawnSync(file, argv, { cwd: join(s.root, s.workdir), env: { PATH: process.env["PATH"] ?? "", ...s.env }, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^eks-access serve\n/);
  assert.match(r.stdout, /--config/);
});

test("ENTRYPOINT with a cluster id, as uid 1000: the TokenReview server starts, is ready, and stops on SIGTERM", async () => {
  const s = runtime();
  const state = join(t.path, "state");
  mkdirSync(state);
  chownSync(state, NODE_UID, NODE_UID);
  const port = await freePort();
  const [file, argv] = command(s, ["--cluster-id", "dockerfile-test", "--port", String(port), "--state-dir", state, "--generate-kubeconfig", join(state, "webhook.kubeconfig")]);
  const child = spawn("setpriv", [`--reuid=${NODE_UID}`, `--regid=${NODE_UID}`, "--clear-groups", file, ...argv], {
    cwd: join(s.root, s.workdir),
    env: { PATH: process.env["PATH"] ?? "", HOME: "/nonexistent", AWS_EC2_METADATA_DISABLED: "true", ...s.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  try {
    const ready = await poll(async () => (child.exitCode !== null ? -1 : (await requestText(`https://127.0.0.1:${port}/readyz`, { ca: readFileSync(join(state, "cert.pem"), "utf8") })).status), (v) => v === 200 || v === -1, 200);
    assert.ok(ready.held && ready.value === 200, `not ready: ${out}`);
    assert.equal(statSync(join(state, "key.pem")).uid, NODE_UID, "made by the unprivileged user");
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    child.kill("SIGTERM");
    assert.equal(await exited, 0, out);
    assert.match(out, /"msg":"stopped"/);
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
});
