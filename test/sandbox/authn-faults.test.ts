/**
 * Faults, for `eks-access serve` as a cluster's authenticator (with aws-iam-authenticator v0.6.13 on
 * the same inputs as the reference: test/sandbox/authn-rig.ts), STS played by the sandbox's STS
 * verifier behind a fault gate (test/sandbox/sts-fault-gate.ts):
 *  - STS slow (past serve's --sts-timeout), failing (500, 503), throttling, down: serve answers 500 or
 *    429 with the reason — the apiserver retries, kubectl gets an error, never a wrong answer — and
 *    recovers as soon as STS does (no failure is cached); what v0.6.13 answers to each is recorded;
 *  - a restart of serve under load: reviews keep coming from concurrent clients while serve is
 *    stopped (SIGTERM) and started again, three times, each new serve kept from listing aws-auth for
 *    a while (its link to the apiserver held): every answer is the right one, or a transport error
 *    or a 5xx (the apiserver retries those) — never a wrong identity, a wrong 200 or a wrong 403.
 * (An invalid aws-auth mid-run: test/sandbox/authn-differential.test.ts and authn-apiserver.test.ts.)
 *
 * Run under the e2e lock: flock /tmp/eks-access-e2e.lock node --import tsx --test test/sandbox/authn-faults.test.ts
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { join } from "node:path";
import { postTokenReview, type TokenReviewResult } from "../../src/sandbox/cluster/authenticator.js";
import { kubectl, requestText, writeTokenKubeconfig } from "../../src/sandbox/cluster/kube.js";
import { poll } from "../../src/sandbox/emulator/net.js";
import { presignToken } from "../../src/adapters/token-signer.js";
import { stsTarget } from "../../src/core/sts-endpoint.js";
import { tempDir } from "../helpers.js";
import { CLUSTER, REGION, startAuthnRig, type Identity, type Rig } from "./authn-rig.js";
import type { StsFault } from "./sts-fault-gate.js";

const STS_TIMEOUT = "1s";
let rig: Rig;
let cleanup: () => void;

before(async () => {
  const t = tempDir("eks-access-faults-");
  cleanup = t.cleanup;
  rig = await startAuthnRig({ dir: t.path, apiservers: "serve", holdableLink: true, serveArgs: ["--sts-timeout", STS_TIMEOUT] });
  const loaded = await poll(async () => (await postTokenReview(rig.peer.webhook, await token(rig.ids["bob"]!))).status.user?.username, (u) => u === "bob", 150, 200);
  assert.ok(loaded.held, "the peer loaded aws-auth");
});

after(async () => {
  await rig?.stop();
  cleanup?.();
});

let lastSecond = 0;
/**
 * A token no earlier one equals, so that none is answered from serve's cache: each is signed at a
 * later second than the one before (now, or a few seconds ahead: both accept dates up to 15 min off).
 */
const token = (id: Identity): Promise<string> => {
  lastSecond = Math.max(Math.floor(Date.now() / 1000), lastSecond + 1);
  return presignToken({ credentials: id.creds, target: stsTarget(REGION), clusterIdHeader: CLUSTER, now: new Date(lastSecond * 1000) });
};
const signatureOf = (t: string): string => /X-Amz-Signature=([0-9a-f]+)/.exec(Buffer.from(t.slice("k8s-aws-v1.".length), "base64url").toString("latin1"))?.[1] ?? "";
const who = (r: TokenReviewResult): string => (r.status.authenticated ? `200 ${r.status.user?.username}` : `${r.httpStatus}`);
const metrics = async (): Promise<string> => (await requestText(`https://127.0.0.1:${rig.serve.port}/metrics`, { ca: rig.ca.certPem })).body;

describe("STS faults", () => {
  /**
   * Each fault: what serve answers (status and the reason in its Status body) and what v0.6.13 answers
   * (recorded: 403, as for a bad token, to every one — STS's throttling included — but "slow", which it
   * waits out: it sets no timeout on the STS call).
   */
  const CASES: ReadonlyArray<{ name: string; fault: StsFault; serve: { code: number; reason: RegExp }; peer: string }> = [
    { name: `slow: STS answers after 2.5 s, past serve's --sts-timeout ${STS_TIMEOUT}`, fault: { kind: "slow", ms: 2500 }, serve: { code: 500, reason: /^STS did not answer within 1 s; the apiserver retries$/ }, peer: "200 alice" },
    { name: "failing: STS answers 500 InternalFailure", fault: { kind: "fail", status: 500 }, serve: { code: 500, reason: /STS failed \(HTTP 500 InternalFailure\); the apiserver retries/ }, peer: "403" },
    { name: "failing: STS answers 503 ServiceUnavailable", fault: { kind: "fail", status: 503 }, serve: { code: 500, reason: /STS failed \(HTTP 503 ServiceUnavailable\)/ }, peer: "403" },
    { name: "throttling: STS answers 400 Throttling (Rate exceeded)", fault: { kind: "throttle" }, serve: { code: 429, reason: /STS throttled the GetCallerIdentity call \(HTTP 400 Throttling\); the apiserver retries/ }, peer: "403" },
    { name: "down: nothing listens where STS is", fault: { kind: "down" }, serve: { code: 500, reason: /STS|reach|connect/i }, peer: "403" },
  ];

  for (const c of CASES) {
    it(`${c.name}: serve ${c.serve.code} with the reason, v0.6.13 ${c.peer}; both recover with STS, the failure not cached`, async () => {
      const alice = rig.ids["alice"]!;
      const stranger = rig.ids["stranger"]!;
      const [t, s] = [await token(alice), await token(stranger)];
      await rig.gate.set(c.fault);
      try {
        const [peer, ours, oursStranger] = await Promise.all([postTokenReview(rig.peer.webhook, t), postTokenReview(rig.serve.webhook, t), postTokenReview(rig.serve.webhook, s)]);
        assert.equal(ours.httpStatus, c.serve.code, JSON.stringify(ours));
        assert.notEqual(ours.status.authenticated, true);
        assert.match(ours.refusal?.message ?? "", c.serve.reason);
        assert.notEqual(oursStranger.status.authenticated, true, "no wrong answer: the stranger is not let in either");
        assert.ok([500, 429].includes(oursStranger.httpStatus), `the stranger's review is a retryable failure too (${oursStranger.httpStatus})`);
        assert.equal(who(peer), c.peer, "what aws-iam-authenticator v0.6.13 answers");
      } finally {
        await rig.gate.set({ kind: "pass" });
      }
      // the same token, now that STS answers: nothing of the failure was kept
      const again = await postTokenReview(rig.serve.webhook, t);
      assert.equal(who(again), "200 alice");
      assert.equal(who(await postTokenReview(rig.serve.webhook, s)), "403");
    });
  }

  /** kubectl auth whoami as alice through kube-apiserver (serve its token webhook) while STS has `fault`; how often STS was asked about the token */
  async function whoamiWhile(fault: StsFault, name: string): Promise<{ result: Awaited<ReturnType<typeof kubectl>>; kubeconfig: string; asked: number }> {
    const t = await token(rig.ids["alice"]!);
    const kubeconfig = await writeTokenKubeconfig(join(rig.dir, `${name}.kubeconfig`), { server: rig.kube.server, caData: rig.kube.caData, token: t });
    const count = (): number => rig.gate.seen.filter((sig) => sig === signatureOf(t)).length;
    const before = count();
    await rig.gate.set(fault);
    try {
      const result = await kubectl(kubeconfig, ["auth", "whoami", "-o", "json"]);
      return { result, kubeconfig, asked: count() - before };
    } finally {
      await rig.gate.set({ kind: "pass" });
    }
  }

  it("through kube-apiserver: STS failing → the apiserver retries serve's 500s, kubectl gets Unauthorized and the apiserver logs serve's reason; STS back → kubectl works", async () => {
    const { result: failed, kubeconfig, asked } = await whoamiWhile({ kind: "fail", status: 500 }, "alice-failing");
    assert.notEqual(failed.code, 0);
    assert.match(failed.stderr, /Unauthorized|must be logged in/);
    assert.ok(asked >= 2, `the apiserver asked again after serve's 500 (STS asked ${asked} times for the token)`);
    const log = readFileSync(join(rig.kube.dir, "kube-apiserver.log"), "utf8");
    assert.match(log, /STS failed \(HTTP 500 InternalFailure\); the apiserver retries/);
    const ok = await kubectl(kubeconfig, ["auth", "whoami", "-o", "json"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).status.userInfo.username, "alice");
  });

  it("through kube-apiserver: STS slower than --sts-timeout → kubectl gets an error, never a wrong answer; serve counts the failed STS calls", async () => {
    const failures = (m: string): number => Number(/^aws_iam_authenticator_sts_connection_failures_total (\d+)$/m.exec(m)?.[1] ?? NaN);
    const errorsBefore = failures(await metrics());
    const { result } = await whoamiWhile({ kind: "slow", ms: 2500 }, "alice-slow");
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /Unauthorized|must be logged in/);
    const m = await metrics();
    const errorsAfter = failures(m);
    assert.ok(errorsAfter >= errorsBefore + 2, `STS calls that timed out: ${errorsBefore} → ${errorsAfter}\n${m.split("\n").filter((l) => l.includes("sts")).join("\n")}`);
  });
});

describe("a restart of serve under load", () => {
  it("three restarts while 6 clients send reviews, aws-auth held back from each new serve: every answer is right, or a transport error or 5xx; never a wrong identity, 200 or 403", async () => {
    const ids = rig.ids;
    // each token with the one right answer: a user from the config file, one from aws-auth (a watch: loaded
    // after start), a role session from the dynamic file, an unmapped user, a malformed token
    const work: Array<{ token: string; want: string }> = [
      { token: await token(ids["alice"]!), want: "200 alice" },
      { token: await token(ids["bob"]!), want: "200 bob" },
      { token: await token(ids["Entry"]!), want: "200 entry:e1" },
      { token: await token(ids["Dev"]!), want: "200 dev:alice-example.com" },
      { token: await token(ids["stranger"]!), want: "403" },
      { token: "k8s-aws-v1.not-a-token", want: "403" },
    ];
    const tally = { right: 0, transport: 0, fiveHundred: 0, wrong: [] as string[] };
    let phase = 0;
    const rightIn = [0, 0, 0, 0];
    /** 5xx answers to bob (mapped in aws-auth) per phase: the new serve had not loaded aws-auth yet */
    const bobWaitedIn = [0, 0, 0, 0];
    let running = true;
    const agent = new Agent({ keepAlive: true, maxSockets: 6 });
    const post = (t: string): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        const body = JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token: t } });
        const req = request(rig.serve.url, { method: "POST", agent, ca: rig.ca.certPem, timeout: 15_000, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
          let text = "";
          res.setEncoding("utf8").on("data", (d: string) => (text += d));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
          res.on("error", reject);
        });
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", reject);
        req.end(body);
      });
    const client = async (n: number): Promise<void> => {
      for (let i = n; running; i++) {
        const w = work[i % work.length]!;
        let got: string;
        try {
          const r = await post(w.token);
          if (r.status >= 500) {
            tally.fiveHundred++;
            if (w.want === "200 bob") bobWaitedIn[phase]!++;
            continue;
          }
          const doc = JSON.parse(r.body) as { status?: { authenticated?: boolean; user?: { username?: string } } };
          got = r.status === 200 && doc.status?.authenticated === true ? `200 ${doc.status.user?.username}` : String(r.status);
        } catch {
          tally.transport++;
          await new Promise((res) => setTimeout(res, 20));
          continue;
        }
        if (got === w.want) {
          tally.right++;
          rightIn[phase]!++;
        } else tally.wrong.push(`phase ${phase}: expected ${w.want}, got ${got}`);
      }
    };
    const clients = [0, 1, 2, 3, 4, 5].map((n) => client(n));
    try {
      const settled = (p: number): Promise<boolean> => poll(() => rightIn[p]!, (v) => v >= 60, 300, 50).then((r) => r.held);
      assert.ok(await settled(0), "answers before the first restart");
      const link = rig.link!;
      for (let p = 1; p <= 3; p++) {
        phase = p;
        link.hold();
        const restarted = rig.restartServe();
        // the new serve answers from the config file and the dynamic file, but has no aws-auth yet
        const waited = await poll(() => bobWaitedIn[p]!, (n) => n >= 3, 600, 50);
        link.release();
        await restarted;
        assert.ok(waited.held, `restart ${p}: bob's reviews were answered 5xx while aws-auth was held back`);
        assert.ok(await settled(p), `right answers after restart ${p}`);
      }
    } finally {
      running = false;
      await Promise.all(clients);
      agent.destroy();
    }
    console.log(`restart under load: ${tally.right} right answers, ${tally.transport} transport errors, ${tally.fiveHundred} 5xx (bob while aws-auth was held back: ${bobWaitedIn.join(", ")}), ${tally.wrong.length} wrong`);
    assert.deepEqual(tally.wrong.slice(0, 20), [], `${tally.wrong.length} wrong answers`);
    assert.ok(rightIn.every((n) => n >= 60), `right answers in each phase: ${rightIn.join(", ")}`);
  });
});

describe("for comparison: aws-iam-authenticator v0.6.13 restarted", () => {
  it("with aws-auth held back it answers an identity mapped there 403 at once (a refusal the apiserver does not retry); mapped again once it lists aws-auth", async () => {
    const bob = rig.ids["bob"]!;
    rig.link!.hold();
    let early: TokenReviewResult;
    try {
      await rig.restartPeer(); // ready: its /healthz answers
      early = await postTokenReview(rig.peer.webhook, await token(bob));
    } finally {
      rig.link!.release();
    }
    assert.equal(who(early), "403", "v0.6.13 answers from the backends it has");
    const later = await poll(async () => who(await postTokenReview(rig.peer.webhook, await token(bob))), (w) => w === "200 bob", 150, 200);
    assert.ok(later.held, `the peer maps bob once aws-auth is listed (last: ${later.held ? "" : later.last})`);
  });
});
