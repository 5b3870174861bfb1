/**
 * aws-iam-authenticator's config file and server flags as `serve` reads them (viper's rules:
 * case-insensitive keys, flag > environment > file > default) and the peer's start-up checks.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkBackendModes, parseAuthenticatorConfigFile, parseBackendModeFile, resolveAuthenticatorConfig, restartNeeded } from "../../src/core/authn/config.js";
import { EksAccessError } from "../../src/core/errors.js";

const FILE = `
clusterid: from-file
server:
  Port: 21399
  stateDir: /state
  BACKENDMODE: [MountedFile, EKSConfigMap]
  scrubbedAccounts: ["999988887777"]
  mapRoles:
  - roleARN: arn:aws:iam::111122223333:role/Admin
    UserName: admin
    groups: [system:masters]
  - rolearn: arn:aws:sts::111122223333:assumed-role/Dev/s
    username: dev
    groups: "a,b"
  mapUsers:
  - userarn: arn:aws:iam::111122223333:user/alice
    username: alice
  mapAccounts:
  - 444455556666
  - "012345678901"
  reservedPrefixConfig:
  - backendMode: MountedFile
    usernamePrefixReserveList: ["system:", "eks:"]
`;

const read = (text: string, flags = {}, env: Record<string, string> = {}) => resolveAuthenticatorConfig(parseAuthenticatorConfigFile(text, "config.yaml"), flags, env);
const message = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    assert.ok(EksAccessError.is(err), String(err));
    return err.line;
  }
  return "no error";
};

test("the file's keys are case-insensitive; rows decode like mapstructure; defaults are the peer's", () => {
  const c = read(FILE);
  assert.equal(c.clusterId, "from-file");
  assert.equal(c.port, 21399);
  assert.equal(c.stateDir, "/state");
  assert.equal(c.address, "127.0.0.1");
  assert.equal(c.partition, "aws");
  assert.equal(c.generateKubeconfig, "/etc/kubernetes/aws-iam-authenticator/kubeconfig.yaml");
  assert.deepEqual(c.backendMode, ["MountedFile", "EKSConfigMap"]);
  assert.deepEqual(c.mapRoles, [
    { arn: "arn:aws:iam::111122223333:role/Admin", username: "admin", groups: ["system:masters"] },
    { arn: "arn:aws:sts::111122223333:assumed-role/Dev/s", username: "dev", groups: ["a", "b"] },
  ]);
  assert.deepEqual(c.mapUsers, [{ arn: "arn:aws:iam::111122223333:user/alice", username: "alice", groups: [] }]);
  assert.deepEqual(c.mapAccounts, ["444455556666", "012345678901"]);
  assert.deepEqual(c.scrubbedAccounts, ["999988887777"]);
  assert.deepEqual(c.reservedPrefixes, { MountedFile: ["system:", "eks:"] });
  assert.equal(read("clusterID: c").port, 21362, "the peer's default port");
});

test("a flag given wins over the environment, which wins over the file (cluster id); --backend-mode is comma-separated", () => {
  assert.equal(read(FILE, {}, { KUBERNETES_AWS_AUTHENTICATOR_CLUSTER_ID: "from-env" }).clusterId, "from-env");
  assert.equal(read(FILE, { clusterId: "from-flag" }, { KUBERNETES_AWS_AUTHENTICATOR_CLUSTER_ID: "from-env" }).clusterId, "from-flag");
  assert.equal(read(FILE, { port: 0 }).port, 0);
  assert.deepEqual(read(FILE, { backendMode: ["EKSConfigMap,MountedFile"] }).backendMode, ["EKSConfigMap", "MountedFile"]);
  assert.deepEqual(read(FILE, { backendMode: ["File", "ConfigMap"] }).backendMode, ["MountedFile", "EKSConfigMap"], "the deprecated names");
});

test("refused as the peer refuses at start, each in one line", () => {
  assert.match(message(() => read("server: {}")), /^cluster ID cannot be empty; give --cluster-id/);
  assert.match(message(() => read(FILE, { partition: "aws-mars" })), /^Invalid partition aws-mars; use one of aws, aws-cn/);
  assert.match(message(() => read(FILE, { backendMode: ["MountedFile,Bogus"] })), /^backend-mode "Bogus" is not a valid mode/);
  assert.match(message(() => read(FILE, { backendMode: ["MountedFile,File"] })), /has duplicates/);
  assert.match(message(() => read(FILE, { backendMode: ["CRD"] })), /^backend-mode "CRD" is not served by eks-access/);
  assert.match(message(() => read("clusterID: c\nserver:\n  backendMode: [DynamicFile]\n")), /^dynamicfile is set in backend-mode but dynamicfilepath is not set/);
  assert.match(message(() => read("clusterID: c\nserver:\n  dynamicfilepath: /x.json\n")), /^dynamicfile is not set in backend-mode but dynamicfilepath is set/);
  assert.match(message(() => read("clusterID: c\nserver:\n  mapRoles:\n  - rolearn: arn:aws:s3:::bucket\n    username: u\n")), /^server\.mapRoles\[0\]\.rolearn is not usable: error canonicalizing ARN: service s3 in arn .* is not a valid service for identities/);
  assert.match(message(() => read("clusterID: c\nserver:\n  mapRoles: {}\n")), /^server\.mapRoles is not a list of mappings/);
  assert.match(message(() => read("clusterID: c\nserver:\n  mapRoles:\n  - sso: {permissionSetName: A, accountID: '111122223333'}\n    username: u\n")), /uses `sso:`, which aws-iam-authenticator v0\.6\.13 does not know/);
  assert.match(message(() => parseAuthenticatorConfigFile("a: [", "bad.yaml")), /^Can't read configuration file bad\.yaml: /);
  assert.match(message(() => read(FILE, { port: 70000 })), /^port 70000 is not a port number/);
  assert.match(message(() => checkBackendModes([])), /at least one backend-mode/);
});

test("what a changed file can change at once, and what needs a restart", () => {
  const before = read(FILE);
  const after = read(FILE.replace("username: alice", "username: alice2").replace("21399", "21400").replace("/state", "/other"));
  assert.deepEqual(restartNeeded(before, after), ["port", "stateDir"]);
  assert.deepEqual(restartNeeded(before, read(FILE.replace("username: alice", "username: alice2"))), []);
});

test("the backend-mode file: a space-separated order, or a one-line reason", () => {
  assert.deepEqual(parseBackendModeFile('{"backendMode": "DynamicFile EKSConfigMap"}'), ["DynamicFile", "EKSConfigMap"]);
  assert.deepEqual(parseBackendModeFile('{"backendMode": "DynamicFile", "lastUpdatedDateTime": "1", "version": "2"}'), ["DynamicFile"]);
  assert.match(parseBackendModeFile("{") as string, /^not JSON/);
  assert.match(parseBackendModeFile('{"mode": "x"}') as string, /no "backendMode" string/);
  assert.match(parseBackendModeFile('{"backendMode": "Nope"}') as string, /not a valid mode/);
});
