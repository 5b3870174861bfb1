/**
 * The TokenReview use case with hand-written fakes (verifier, IAM, EC2, metrics, log): the answer
 * shapes and statuses of aws-iam-authenticator v0.6.13, uid and extra exactly as it sets them, the
 * scrubbed accounts, and the matches beyond the peer — asked only when the peer would refuse.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { AuthnError } from "../../src/core/authn-error.js";
import { parseAwsAuth } from "../../src/core/mapping/aws-auth.js";
import { awsAuthBackend, mountedFileBackend, type MappingBackend } from "../../src/core/mapping/resolve.js";
import type { AuthnLog, AuthnMetrics, Ec2Directory, IamCallerDirectory, IamEntity, ReviewResult } from "../../src/ports/authn.js";
import type { StsIdentity, TokenVerifier } from "../../src/ports/token-review.js";
import { CachedIamDirectory } from "../../src/usecases/iam-caller-cache.js";
import { run, type BeyondThePeer, type TokenReviewDeps } from "../../src/usecases/token-review.js";

const ACCT = "111122223333";

class FakeVerifier implements TokenVerifier {
  calls: string[] = [];
  constructor(private readonly answers: Record<string, StsIdentity | AuthnError | Error>) {}
  async verify(token: string): Promise<StsIdentity> {
    this.calls.push(token);
    const a = this.answers[token] ?? new AuthnError("format", "token refused: it does not start with k8s-aws-v1.");
    if (a instanceof Error) throw a;
    return a;
  }
}

class Recorder implements AuthnMetrics, AuthnLog {
  reviews: Array<[ReviewResult, string]> = [];
  improved: string[] = [];
  iam: string[] = [];
  lines: string[] = [];
  review(result: ReviewResult, outcome: string, seconds: number): void {
    assert.ok(seconds >= 0);
    this.reviews.push([result, outcome]);
  }
  improvedMatch(kind: string): void {
    this.improved.push(kind);
  }
  backendStale(): void {}
  backendLoadFailure(): void {}
  configMapWatchFailure(): void {}
  dynamicFileFailure(): void {}
  ec2DescribeInstancesCall(): void {}
  iamLookup(kind: string, result: string): void {
    this.iam.push(`${kind}:${result}`);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.lines.push(JSON.stringify({ level: "info", msg, ...fields }));
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.lines.push(JSON.stringify({ level: "warn", msg, ...fields }));
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.lines.push(JSON.stringify({ level: "error", msg, ...fields }));
  }
}

class FakeIam implements IamCallerDirectory {
  calls: string[] = [];
  constructor(
    private readonly roles: Record<string, IamEntity> = {},
    private readonly groups: Record<string, IamEntity[]> = {},
    private readonly fail = false,
  ) {}
  async role(name: string, uniqueId: string): Promise<IamEntity | undefined> {
    this.calls.push(`role ${name}`);
    if (this.fail) throw new Error("iam:GetRole failed (AccessDenied)");
    const r = this.roles[name];
    return r?.id === uniqueId ? r : undefined;
  }
  async groupsOfUser(name: string): Promise<IamEntity[] | undefined> {
    this.calls.push(`groups ${name}`);
    return this.groups[name];
  }
}

const session = (roleName: string, name: string, id: string, account = ACCT): StsIdentity => ({ arn: `arn:aws:sts::${account}:assumed-role/${roleName}/${name}`, account, userId: `${id}:${name}`, accessKeyId: "ASIAEXAMPLEKEY" });
const iamUser = (name: string, id: string): StsIdentity => ({ arn: `arn:aws:iam::${ACCT}:user/${name}`, account: ACCT, userId: id, accessKeyId: "AKIAEXAMPLEKEY" });

const awsAuth = awsAuthBackend(
  parseAwsAuth({
    mapRoles: `- rolearn: arn:aws:iam::${ACCT}:role/Dev
  username: dev:{{SessionName}}
  groups: [devs]
- rolearn: arn:aws:iam::${ACCT}:role/team/Pathed
  username: pathed
  groups: [pathed]
- rolearn: arn:aws:iam::${ACCT}:role/Node
  username: system:node:{{EC2PrivateDNSName}}
  groups: [system:nodes]
`,
    mapUsers: `- userarn: arn:aws:iam::${ACCT}:group/Readers
  username: reader
`,
  }).rows,
);

function deps(over: Omit<Partial<TokenReviewDeps>, "backends" | "beyond"> & { verifier: TokenVerifier; rec: Recorder; backends?: MappingBackend[]; beyond?: Partial<BeyondThePeer> }): TokenReviewDeps {
  let t = 0;
  const { backends, beyond, rec, ...rest } = over;
  return {
    backends: () => backends ?? [awsAuth],
    scrubbedAccounts: () => new Set(),
    metrics: rec,
    log: rec,
    now: () => (t += 5),
    ...rest,
    beyond: { rolePaths: false, iamGroups: false, ssoPermissionSets: false, ...beyond },
  };
}

const body = (token: string, apiVersion = "authentication.k8s.io/v1beta1"): string => JSON.stringify({ apiVersion, kind: "TokenReview", spec: { token } });

test("an authenticated review: the peer's user (username, uid, groups, extra) in the request's apiVersion", async () => {
  const rec = new Recorder();
  const verifier = new FakeVerifier({ t1: session("Dev", "alice@example.com", "AROADEV") });
  for (const apiVersion of ["authentication.k8s.io/v1", "authentication.k8s.io/v1beta1"]) {
    const out = await run(deps({ verifier, rec }), { body: body("t1", apiVersion), client: "127.0.0.1" });
    assert.equal(out.status, 200);
    assert.deepEqual(JSON.parse(out.body), {
      apiVersion,
      kind: "TokenReview",
      metadata: { creationTimestamp: null },
      spec: {},
      status: {
        authenticated: true,
        user: {
          username: "dev:alice-example.com",
          uid: `aws-iam-authenticator:${ACCT}:AROADEV`,
          groups: ["devs"],
          extra: {
            accessKeyId: ["ASIAEXAMPLEKEY"],
            arn: [`arn:aws:sts::${ACCT}:assumed-role/Dev/alice@example.com`],
            canonicalArn: [`arn:aws:iam::${ACCT}:role/Dev`],
            principalId: ["AROADEV"],
            sessionName: ["alice@example.com"],
          },
        },
      },
    });
  }
  assert.deepEqual(rec.reviews, [["success", "authenticated"], ["success", "authenticated"]]);
  // an IAM user keeps its whole UserId and has an empty session name; no groups → no groups member
  const users = mountedFileBackend({ mapRoles: [], mapUsers: [{ arn: `arn:aws:iam::${ACCT}:user/bob`, username: "bob", groups: [] }], mapAccounts: [] });
  const u = JSON.parse((await run(deps({ verifier: new FakeVerifier({ t: iamUser("bob", "AIDABOB") }), rec, backends: [users] }), { body: body("t") })).body);
  assert.deepEqual(u.status.user, { username: "bob", uid: `aws-iam-authenticator:${ACCT}:AIDABOB`, extra: { accessKeyId: ["AKIAEXAMPLEKEY"], arn: [`arn:aws:iam::${ACCT}:user/bob`], canonicalArn: [`arn:aws:iam::${ACCT}:user/bob`], principalId: ["AIDABOB"], sessionName: [""] } });
});

test("refusals: statuses 400/403/429/500 with a Status the apiserver logs; the peer's latency results", async () => {
  const rec = new Recorder();
  const verifier = new FakeVerifier({
    throttled: new AuthnError("sts-throttled", "STS throttled the GetCallerIdentity call (HTTP 400 Throttling); the apiserver retries"),
    down: new AuthnError("sts-unavailable", "STS did not answer within 10 s; the apiserver retries"),
    rejected: new AuthnError("sts-rejected", "STS refused the token (HTTP 403 SignatureDoesNotMatch)"),
    other: new AuthnError("cluster-id", "token signed for another cluster"),
    unmapped: session("Nobody", "x", "AROANOBODY"),
    badsts: { arn: "arn:aws:sts::111122223333:assumed-role/Dev/x", account: ACCT, userId: "AROANOCOLON", accessKeyId: "ASIA" },
    bug: new TypeError("boom"),
  });
  const d = deps({ verifier, rec });
  const cases: Array<[string, number, string, ReviewResult, string]> = [
    ["{", 400, "expected a request body to be a TokenReview", "malformed_request", "malformed"],
    [JSON.stringify({ spec: { token: 5 } }), 400, "expected a request body to be a TokenReview", "malformed_request", "malformed"],
    [body("k8s-aws-v1.garbage"), 403, "token refused: it does not start with k8s-aws-v1.", "invalid_token", "format"],
    [body("other"), 403, "token signed for another cluster", "invalid_token", "cluster-id"],
    [body("rejected"), 403, "STS refused the token (HTTP 403 SignatureDoesNotMatch)", "sts_error", "sts-rejected"],
    [body("throttled"), 429, "STS throttled the GetCallerIdentity call (HTTP 400 Throttling); the apiserver retries", "sts_throttling", "sts-throttled"],
    [body("down"), 500, "STS did not answer within 10 s; the apiserver retries", "sts_error", "sts-unavailable"],
    [body("unmapped"), 403, `arn:aws:sts::${ACCT}:assumed-role/Nobody/x is not mapped (aws-auth (mapRoles, mapUsers, mapAccounts))`, "uknown_user", "not-mapped"],
    [body("badsts"), 403, 'sts getCallerIdentity failed: malformed UserID "AROANOCOLON"', "sts_error", "sts-rejected"],
    [body("bug"), 500, "internal error while verifying the token", "sts_error", "internal"],
  ];
  for (const [text, status, message, result, outcome] of cases) {
    rec.reviews = [];
    const out = await run(d, { body: text });
    assert.equal(out.status, status, text);
    const doc = JSON.parse(out.body);
    assert.deepEqual([doc.kind, doc.apiVersion, doc.status, doc.code, doc.message], ["Status", "v1", "Failure", status, message], text);
    assert.deepEqual(rec.reviews, [[result, outcome]], text);
  }
  const nulls = await run(d, { body: "null" });
  assert.equal(nulls.status, 403, "JSON null decodes into an empty TokenReview, as in Go: no token");
});

test("scrubbed accounts: the administrative uid, no extra, no ARN in the log", async () => {
  const rec = new Recorder();
  const out = await run(deps({ verifier: new FakeVerifier({ t: session("Dev", "alice", "AROADEV") }), rec, scrubbedAccounts: () => new Set([ACCT]) }), { body: body("t") });
  assert.deepEqual(JSON.parse(out.body).status.user, { username: "dev:alice", uid: "aws-iam-authenticator:administrative:dev:alice", groups: ["devs"] });
  assert.doesNotMatch(rec.lines.join("\n"), /arn:aws|AROADEV|ASIAEXAMPLEKEY/);
});

test("no log line holds the token", async () => {
  const rec = new Recorder();
  const token = "k8s-aws-v1.aHR0cHM6Ly9zdHMuYW1hem9uYXdzLmNvbS8_QWN0aW9uPUdldENhbGxlcklkZW50aXR5JlgtQW16LVNpZ25hdHVyZT1zZWNyZXQ";
  await run(deps({ verifier: new FakeVerifier({ [token]: session("Dev", "a", "AROADEV") }), rec }), { body: body(token) });
  await run(deps({ verifier: new FakeVerifier({}), rec }), { body: body(token) });
  assert.equal(rec.lines.length >= 3, true);
  assert.ok(!rec.lines.join("\n").includes(token.slice(11, 40)));
});

test("beyond the peer: asked only when the peer refuses, and only for what is switched on", async () => {
  const rec = new Recorder();
  const iam = new FakeIam(
    { Pathed: { arn: `arn:aws:iam::${ACCT}:role/team/Pathed`, id: "AROAP" }, Dev: { arn: `arn:aws:iam::${ACCT}:role/Dev`, id: "AROADEV" } },
    { carol: [{ arn: `arn:aws:iam::${ACCT}:group/Readers`, id: "AGPAR" }] },
  );
  const verifier = new FakeVerifier({ dev: session("Dev", "a", "AROADEV"), pathed: session("Pathed", "p", "AROAP"), carol: iamUser("carol", "AIDACAROL"), recreated: session("Pathed", "p", "AROANEWID") });
  const off = deps({ verifier, rec, iam });
  assert.equal((await run(off, { body: body("pathed") })).status, 403, "off: the peer's answer");
  assert.deepEqual(iam.calls, []);
  const on = deps({ verifier, rec, iam, beyond: { rolePaths: true, iamGroups: true } });
  assert.equal(JSON.parse((await run(on, { body: body("dev") })).body).status.user.username, "dev:a");
  assert.deepEqual(iam.calls, [], "the peer maps Dev: IAM is not asked");
  const p = JSON.parse((await run(on, { body: body("pathed") })).body);
  assert.deepEqual([p.status.user.username, p.status.user.groups, p.status.user.uid], ["pathed", ["pathed"], `aws-iam-authenticator:${ACCT}:AROAP`]);
  assert.equal((await run(on, { body: body("recreated") })).status, 403, "another unique id than IAM's role: no match");
  assert.equal(JSON.parse((await run(on, { body: body("carol") })).body).status.user.username, "reader");
  assert.deepEqual(rec.improved, ["role-path", "iam-group"]);
  assert.deepEqual(iam.calls, ["role Pathed", "role Pathed", "groups carol"]);
  assert.match(rec.lines.join("\n"), /"beyondThePeer":"role-path"/);
});

test("beyond the peer: an IAM failure answers as the peer would; the cache asks IAM once per principal and interval, concurrent asks share a call", async () => {
  const rec = new Recorder();
  const failing = deps({ verifier: new FakeVerifier({ pathed: session("Pathed", "p", "AROAP") }), rec, iam: new FakeIam({}, {}, true), beyond: { rolePaths: true } });
  assert.equal((await run(failing, { body: body("pathed") })).status, 403);
  assert.match(rec.lines.join("\n"), /IAM look-up failed: answering as aws-iam-authenticator would.*AccessDenied/);

  let now = 0;
  const inner = new FakeIam({ Pathed: { arn: `arn:aws:iam::${ACCT}:role/team/Pathed`, id: "AROAP" } });
  const cached = new CachedIamDirectory(inner, { now: () => now, roleTtlMs: 1000, metrics: rec });
  const all = await Promise.all([1, 2, 3].map(() => cached.role("Pathed", "AROAP")));
  assert.deepEqual(all.map((r) => r?.arn), Array(3).fill(`arn:aws:iam::${ACCT}:role/team/Pathed`));
  assert.deepEqual(inner.calls, ["role Pathed"]);
  now = 999;
  await cached.role("Pathed", "AROAP");
  assert.equal(inner.calls.length, 1, "still fresh");
  now = 1001;
  await cached.role("Pathed", "AROAP");
  assert.equal(inner.calls.length, 2, "expired: asked again");
  assert.equal(await cached.role("Ghost", "AROAG"), undefined);
  assert.equal(await cached.role("Ghost", "AROAG"), undefined);
  assert.equal(inner.calls.filter((c) => c === "role Ghost").length, 1, "not found is kept too");
  assert.deepEqual(rec.iam, ["role:call", "role:hit", "role:call", "role:call", "role:hit"], "three concurrent asks: one call");
});

test("{{EC2PrivateDNSName}}: EC2 is asked for the instance the session names, only when a matched template needs it", async () => {
  const rec = new Recorder();
  const asked: string[] = [];
  const ec2: Ec2Directory = {
    async privateDnsName(id) {
      asked.push(id);
      if (id === "i-00000000000000000") throw new Error("ec2:DescribeInstances found no private DNS name for i-00000000000000000");
      return "ip-10-1-2-3.ec2.internal";
    },
  };
  const verifier = new FakeVerifier({ node: session("Node", "i-0123456789abcdef0", "AROANODE"), gone: session("Node", "i-00000000000000000", "AROANODE"), dev: session("Dev", "i-0123456789abcdef0", "AROADEV") });
  const d = deps({ verifier, rec, ec2 });
  const out = JSON.parse((await run(d, { body: body("node") })).body);
  assert.deepEqual([out.status.user.username, out.status.user.groups], ["system:node:ip-10-1-2-3.ec2.internal", ["system:nodes"]]);
  const gone = await run(d, { body: body("gone") });
  assert.deepEqual([gone.status, JSON.parse(gone.body).message], [403, "rendering {{EC2PrivateDNSName}} failed: ec2:DescribeInstances found no private DNS name for i-00000000000000000"]);
  await run(d, { body: body("dev") });
  assert.deepEqual(asked, ["i-0123456789abcdef0", "i-00000000000000000"], "Dev's templates need no EC2");
  const without = await run(deps({ verifier, rec }), { body: body("node") });
  assert.equal(without.status, 403, "no EC2 look-up configured: refused as an EC2 failure would be");
});

test("a backend of the order not loaded yet (start-up): a caller the loaded ones map is answered; one they do not map gets 500 (the apiserver retries), not a 403", async () => {
  const rec = new Recorder();
  const verifier = new FakeVerifier({ dev: session("Dev", "s", "AROADEV"), other: session("Other", "s", "AROAOTHER") });
  const starting = deps({ verifier, rec, pending: () => ["EKSConfigMap"] });
  const mapped = await run(starting, { body: body("dev") });
  assert.equal(mapped.status, 200);
  const waiting = await run(starting, { body: body("other") });
  assert.equal(waiting.status, 500);
  assert.deepEqual(JSON.parse(waiting.body), {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: `arn:aws:iam::${ACCT}:role/Other is not mapped by the backends loaded so far; EKSConfigMap not loaded yet: the apiserver retries`,
    reason: "InternalError",
    code: 500,
  });
  assert.deepEqual(rec.reviews.at(-1), ["uknown_user", "not-ready"]);
  // loaded: the same caller is refused as the peer refuses it
  const ready = await run(deps({ verifier, rec, pending: () => [] }), { body: body("other") });
  assert.equal(ready.status, 403);
  // a bad token is refused at once either way (no backend can change that)
  assert.equal((await run(starting, { body: body("junk") })).status, 403);
});
