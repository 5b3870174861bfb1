/**
 * Cross-process locks on lock files (node:fs only; loaded on a cache miss, never on a hit). A lock
 * is a file created with O_EXCL holding "<pid> <nonce>"; the holder deletes it when done. A waiter
 * polls while the holder's process is alive — the holder may be a person typing an MFA code —
 * up to a bound (5 minutes by default), then fails with a one-line error naming the lock file.
 * A lock whose process is gone (crashed, killed) is taken over: it is renamed away first and
 * checked to be the very file seen stale, so two waiters breaking it at once cannot both win.
 */
import { closeSync, constants, linkSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { EksAccessError } from "../core/errors.js";
import { cacheFileName } from "../core/token-cache-key.js";

export interface LockOptions {
  /** how long to wait for a live holder (default 5 minutes) */
  timeoutMs?: number;
  /** called once when this process starts waiting */
  onWait?: (file: string, holderPid: number) => void;
  /** whether a pid is alive (tests inject one); default: signal 0 */
  isAlive?: (pid: number) => boolean;
}

let counter = 0;

export const lockFileFor = (dir: string, name: string): string => join(dir, cacheFileName(name).replace(/\.json$/, ".lock"));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readLock(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    return readFileSync(fd, "utf8");
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** Removes the stale lock `seen` (exactly that content); a fresh lock moved by mistake is put back. */
function breakStale(path: string, seen: string): void {
  const moved = `${path}.${process.pid}.${(counter++).toString(36)}.stale`;
  try {
    renameSync(path, moved);
  } catch {
    return; // someone else broke it already
  }
  if (readLock(moved) !== seen) {
    try {
      linkSync(moved, path); // only if no lock exists again meanwhile
    } catch {
      /* a new holder exists: it wins */
    }
  }
  try {
    unlinkSync(moved);
  } catch {
    /* gone */
  }
}

/** Takes the lock `name` in `dir`; resolves with the release function. */
export async function acquireLock(dir: string, name: string, opts: LockOptions = {}): Promise<() => void> {
  const path = lockFileFor(dir, name);
  const me = `${process.pid} ${Date.now().toString(36)}.${(counter++).toString(36)}\n`;
  const alive = opts.isAlive ?? processAlive;
  const timeoutMs = opts.timeoutMs ?? 5 * 60 * 1000;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch {
    return () => {}; // no usable directory: run unlocked (the caches are then off too)
  }
  const start = Date.now();
  let waited = false;
  let delay = 5;
  for (;;) {
    try {
      const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      try {
        writeSync(fd, me);
      } finally {
        closeSync(fd);
      }
      return () => {
        if (readLock(path) === me) {
          try {
            unlinkSync(path);
          } catch {
            /* gone */
          }
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") return () => {}; // cannot lock here: run unlocked
    }
    const seen = readLock(path);
    if (seen === undefined) continue; // released just now
    const pid = Number(seen.split(" ")[0]);
    if (!Number.isInteger(pid) || pid <= 0) {
      // being written (open → write), or garbage: stale once it is old
      if (seen !== "" || ageMs(path) > 10_000) breakStale(path, seen);
    } else if (!alive(pid)) {
      breakStale(path, seen);
      continue;
    } else {
      if (!waited) opts.onWait?.(path, pid);
      waited = true;
      if (Date.now() - start >= timeoutMs) {
        throw new EksAccessError("credentials", `another eks-access process (pid ${pid}) has held ${path} for ${Math.round((Date.now() - start) / 1000)} s`, {
          hint: `if it is stuck, end it (kill ${pid}) or delete the lock file, then retry`,
        });
      }
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 100);
  }
}

function ageMs(path: string): number {
  try {
    return Date.now() - lstatSync(path).mtimeMs;
  } catch {
    return 0;
  }
}
