/**
 * Assembles `serve`'s TokenReview side from its parts: the config file (hot), the mapping backends
 * in their order (and the backend-mode file that may change it), the verifier, the IAM and EC2
 * look-ups, metrics and log — and hands server.ts an Authenticator. Tests assemble it with a
 * hand-written TokenVerifier; the CLI with the STS one.
 */
import { performance } from "node:perf_hooks";
import type { AuthenticatorConfigFile } from "../adapters/authn-files.js";
import { dynamicFileSource, watchBackendModeFile } from "../adapters/authn-files.js";
import { awsAuthWatch } from "../adapters/kube-aws-auth-watch.js";
import { refusal } from "../core/authn/review.js";
import { EksAccessError } from "../core/errors.js";
import type { BackendName } from "../core/mapping/resolve.js";
import type { AccessEntrySource } from "../ports/access-entries.js";
import type { AuthnLog, AuthnMetrics, BackendSource, Ec2Directory, IamCallerDirectory } from "../ports/authn.js";
import type { TokenVerifier } from "../ports/token-review.js";
import { accessEntriesBackendSource, AuthnBackends } from "../usecases/authn-backends.js";
import { CachedIamDirectory } from "../usecases/iam-caller-cache.js";
import { run, type BeyondThePeer } from "../usecases/token-review.js";
import type { Authenticator } from "./server.js";

export interface AuthnParts {
  config: AuthenticatorConfigFile;
  verifier: TokenVerifier;
  beyond: BeyondThePeer;
  /** required when any of `beyond` is on (cached here) */
  iam?: IamCallerDirectory | undefined;
  ec2?: Ec2Directory | undefined;
  /** the EKSAccessEntries backend's source (--access-entries-from eks) */
  accessEntries?: AccessEntrySource | undefined;
  metrics: AuthnMetrics;
  log: AuthnLog;
  /** milliseconds (default performance.now) */
  now?: () => number;
}

export interface AuthnStack {
  authenticator: Authenticator;
  backends: AuthnBackends;
  close(): void;
}

export async function startAuthn(p: AuthnParts): Promise<AuthnStack> {
  const now = p.now ?? (() => performance.now());
  const cfg = p.config.current();
  const fileDeps = { log: p.log, metrics: p.metrics };
  const make = async (name: BackendName): Promise<BackendSource> => {
    const c = p.config.current();
    switch (name) {
      case "MountedFile":
        return p.config.mountedFileSource();
      case "DynamicFile":
        if (!c.dynamicFilePath) throw new EksAccessError("config", "backend DynamicFile needs server.dynamicfilepath", { hint: "set it in the config file" });
        return dynamicFileSource(c.dynamicFilePath, c.dynamicFileUserIdStrict, c.reservedPrefixes.DynamicFile, fileDeps);
      case "EKSConfigMap":
        return awsAuthWatch({ kubeconfig: c.kubeconfig, master: c.master, log: p.log, metrics: p.metrics });
      case "EKSAccessEntries":
        if (!p.accessEntries) throw new EksAccessError("config", "backend EKSAccessEntries needs the access entries of an EKS cluster", { hint: "give --access-entries-from eks --cluster-name NAME" });
        return accessEntriesBackendSource(p.accessEntries);
    }
  };
  const backends = new AuthnBackends(cfg.backendMode, make, p.log);
  await backends.start();
  const modeFile = cfg.dynamicBackendModePath
    ? watchBackendModeFile(cfg.dynamicBackendModePath, (order) => void backends.setOrder(order).catch((err: unknown) => p.log.error("backend-mode file names a backend that cannot start; keeping the current order", { error: (err as Error).message })), p.log)
    : undefined;
  if (!p.config.path) p.log.info("no config file: mappings come from the backends only");
  else p.config.watch();

  let scrubbed = { from: cfg.scrubbedAccounts, set: new Set(cfg.scrubbedAccounts) };
  const iam = p.iam && (p.beyond.rolePaths || p.beyond.iamGroups || p.beyond.ssoPermissionSets) ? new CachedIamDirectory(p.iam, { now: Date.now, metrics: p.metrics }) : undefined;
  const deps = {
    verifier: p.verifier,
    backends: () => backends.current(),
    pending: () => backends.pending(),
    scrubbedAccounts: () => {
      const list = p.config.current().scrubbedAccounts;
      if (list !== scrubbed.from) scrubbed = { from: list, set: new Set(list) };
      return scrubbed.set;
    },
    beyond: p.beyond,
    iam,
    ec2: p.ec2,
    metrics: p.metrics,
    log: p.log,
    now,
  };
  const authenticator: Authenticator = {
    review: (body, client, started) => run(deps, { body, client, started }),
    malformed: (status, reason, started) => {
      p.metrics.review("malformed_request", "malformed", (now() - started) / 1000);
      p.log.error(reason, { path: "/authenticate" });
      return refusal(status, reason);
    },
    notReady: () => backends.notReady(),
    now,
  };
  return {
    authenticator,
    backends,
    close: () => {
      modeFile?.close();
      backends.close();
      p.config.close();
    },
  };
}
