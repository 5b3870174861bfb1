/**
 * The TokenReview server's file-based inputs, each re-read when it changes (watched-file.ts):
 *  - the aws-iam-authenticator config file: its mappings (the MountedFile backend), reserved
 *    prefixes and scrubbed accounts apply at once; a change to anything else is reported as
 *    needing a restart; an unreadable or invalid new version keeps the last good one, said once;
 *  - the DynamicFile backend's file (server.dynamicfilepath): an invalid new version keeps the last
 *    good mappings (as the peer does); a deleted file empties them (as the peer does);
 *  - the backend-mode file (server.dynamicBackendModePath).
 * The peer's v0.6.13 reads its config file once; it does not reload it.
 */
import { readFileSync } from "node:fs";
import { EksAccessError } from "../core/errors.js";
import { hotPart, parseAuthenticatorConfigFile, parseBackendModeFile, resolveAuthenticatorConfig, restartNeeded, type AuthenticatorConfig, type AuthenticatorFlags } from "../core/authn/config.js";
import { readAuthenticatorDynamicFile } from "../core/dynamic-file.js";
import { dynamicFileBackend, mountedFileBackend, type BackendName, type MappingBackend } from "../core/mapping/resolve.js";
import type { AuthnLog, AuthnMetrics, BackendSource } from "../ports/authn.js";
import { WatchedFile } from "./watched-file.js";

type Deps = { log: AuthnLog; metrics: Pick<AuthnMetrics, "backendLoadFailure" | "backendStale" | "dynamicFileFailure"> };

/** Says a problem once, and once when it is over. */
function reporter(log: AuthnLog): { problem(line: string, fields?: Record<string, unknown>): boolean; fine(line: string): void } {
  let last = "";
  return {
    problem(line, fields) {
      if (line === last) return false;
      last = line;
      log.error(line, fields);
      return true;
    },
    fine(line) {
      if (last === "") return;
      last = "";
      log.info(line);
    },
  };
}

export class AuthenticatorConfigFile {
  private config: AuthenticatorConfig;
  private file: WatchedFile | undefined;
  private readonly said: ReturnType<typeof reporter>;
  private restartSaid = "";
  private mounted: { from: AuthenticatorConfig; backend: MappingBackend } | undefined;

  /** Reads the file (path undefined: flags only); throws a one-line EksAccessError when it is unusable. */
  constructor(
    readonly path: string | undefined,
    private readonly flags: AuthenticatorFlags,
    private readonly env: Readonly<Record<string, string | undefined>>,
    private readonly deps: Deps,
  ) {
    let text = "";
    if (path !== undefined) {
      try {
        text = readFileSync(path, "utf8");
      } catch (err) {
        throw new EksAccessError("config", `Can't read configuration file "${path}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { hint: "give --config the aws-iam-authenticator config file" });
      }
    }
    this.config = this.parse(text);
    this.said = reporter(deps.log);
  }

  private parse(text: string): AuthenticatorConfig {
    return resolveAuthenticatorConfig(this.path === undefined ? {} : parseAuthenticatorConfigFile(text, this.path), this.flags, this.env);
  }

  current(): AuthenticatorConfig {
    return this.config;
  }

  /** Watches the file from now on (a no-op without one). */
  watch(): void {
    if (this.path === undefined || this.file) return;
    const path = this.path;
    this.file = new WatchedFile(path, {
      onChange: (text) => {
        if (text === undefined) {
          this.refused(`config file ${path} is gone; keeping the last good configuration`);
          return;
        }
        let next: AuthenticatorConfig;
        try {
          next = this.parse(text);
        } catch (err) {
          this.refused(`config file ${path} is not usable (${EksAccessError.is(err) ? err.line : (err as Error).message}); keeping the last good configuration`);
          return;
        }
        const restart = restartNeeded(this.config, next);
        const hot = hotPart(next);
        const changed = JSON.stringify(hot) !== JSON.stringify(hotPart(this.config));
        this.config = { ...this.config, ...hot };
        this.deps.metrics.backendStale("MountedFile", false);
        this.said.fine(`config file ${path} is usable again`);
        if (restart.length > 0 && restart.join() !== this.restartSaid) this.deps.log.warn(`config file ${path}: a change to ${restart.join(", ")} takes effect only after a restart`);
        this.restartSaid = restart.join();
        if (changed) this.deps.log.info(`config file ${path} reloaded`, { mapRoles: next.mapRoles.length, mapUsers: next.mapUsers.length, mapAccounts: next.mapAccounts.length });
      },
      onError: (problem) => this.refused(`config file ${path} cannot be read (${problem}); keeping the last good configuration`),
    });
    this.file.start();
  }

  /** Looks at the file now (a change is applied before this returns). */
  check(): void {
    this.file?.check();
  }

  private refused(line: string): void {
    if (this.said.problem(line)) this.deps.metrics.backendLoadFailure("config");
    this.deps.metrics.backendStale("MountedFile", true);
  }

  /** The MountedFile backend: the file's server.mapRoles, mapUsers and mapAccounts, as they are now. */
  mountedFileSource(): BackendSource {
    return {
      name: "MountedFile",
      description: this.path === undefined ? "no config file (no mappings)" : `config file ${this.path}`,
      current: () => {
        const c = this.config;
        if (this.mounted?.from !== c) this.mounted = { from: c, backend: mountedFileBackend({ ...c, reservedPrefixes: c.reservedPrefixes.MountedFile }) };
        return this.mounted.backend;
      },
      start: () => Promise.resolve(this.watch()),
      close: () => this.close(),
    };
  }

  close(): void {
    this.file?.close();
  }
}

/** The DynamicFile backend (server.dynamicfilepath, matched by unique id with dynamicfileUserIDStrict). */
export function dynamicFileSource(path: string, userIdStrict: boolean, reservedPrefixes: readonly string[] | undefined, deps: Deps): BackendSource {
  let backend: MappingBackend | undefined;
  const said = reporter(deps.log);
  const file = new WatchedFile(path, {
    onChange: (text) => {
      if (text === undefined) {
        if (backend !== undefined) deps.log.warn(`dynamic file ${path} was deleted: no mappings from it until it is back (as aws-iam-authenticator)`);
        backend = backend === undefined ? undefined : dynamicFileBackend({ mapRoles: [], mapUsers: [], mapAccounts: [] }, { userIdStrict, reservedPrefixes });
        return;
      }
      const parsed = readAuthenticatorDynamicFile(text, userIdStrict);
      if (typeof parsed === "string") {
        if (said.problem(`dynamic file ${path} is not usable (${parsed}); keeping the last good mappings`)) deps.metrics.backendLoadFailure("DynamicFile");
        deps.metrics.backendStale("DynamicFile", true);
        return;
      }
      backend = dynamicFileBackend(parsed, { userIdStrict, reservedPrefixes });
      deps.metrics.backendStale("DynamicFile", false);
      said.fine(`dynamic file ${path} is usable again`);
    },
    onError: (problem) => {
      if (said.problem(`dynamic file ${path} cannot be read (${problem}); keeping the last good mappings`)) deps.metrics.dynamicFileFailure();
    },
  });
  return {
    name: "DynamicFile",
    description: `dynamic file ${path}${userIdStrict ? " (by unique id)" : " (by ARN)"}`,
    current: () => backend,
    start: () => Promise.resolve(file.start()),
    close: () => file.close(),
  };
}

/** The backend-mode file: calls `set` with its order, or undefined while the file is absent; an invalid one is reported and ignored. */
export function watchBackendModeFile(path: string, set: (order: BackendName[] | undefined) => void, log: AuthnLog): { close(): void } {
  const said = reporter(log);
  const file = new WatchedFile(path, {
    onChange: (text) => {
      if (text === undefined) return set(undefined);
      const order = parseBackendModeFile(text);
      if (typeof order === "string") {
        said.problem(`backend-mode file ${path} is not usable (${order}); keeping the current backend order`);
        return;
      }
      said.fine(`backend-mode file ${path} is usable again`);
      set(order);
    },
    onError: (problem) => said.problem(`backend-mode file ${path} cannot be read (${problem}); keeping the current backend order`),
  });
  file.start();
  return { close: () => file.close() };
}
