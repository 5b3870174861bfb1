/**
 * The AWS CLI's credential cache folder on disk (~/.aws/cli/cache), as botocore's JSONFileCache
 * keeps it: `<sha1 hex of the key JSON>.json`. Reads trust only a regular file (no symlink) owned
 * by the current user and not writable by group/others; anything else, or unparseable, is a
 * miss. Writes: folder created 0700 (an existing one of ours is tightened to 0700), a unique
 * 0600 temp file (O_EXCL) renamed over the entry, so readers — eks-access or the AWS CLI —
 * never see half a file.
 */
import { createHash } from "node:crypto";
import { chmodSync, closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { isEksAccessEntry, parseCacheEntry, type CachedRoleCredentials } from "../core/aws-cli-cache.js";
import type { AwsCliCachePort } from "../ports/aws.js";

let tmpCounter = 0;
const uid = (): number | undefined => (typeof process.getuid === "function" ? process.getuid() : undefined);

export const awsCliCacheKey = (keyJson: string): string => createHash("sha1").update(keyJson, "utf8").digest("hex");

export class FileAwsCliCache implements AwsCliCachePort {
  constructor(
    readonly dir: string,
    private readonly now: () => number = Date.now,
    private readonly warn: (line: string) => void = () => {},
  ) {}

  fileFor(keyJson: string): string {
    return join(this.dir, `${awsCliCacheKey(keyJson)}.json`);
  }

  read(keyJson: string): CachedRoleCredentials | undefined {
    const raw = readTrusted(this.fileFor(keyJson));
    return raw === undefined ? undefined : parseCacheEntry(raw, this.now());
  }

  write(keyJson: string, entry: Record<string, unknown>): boolean {
    const target = this.fileFor(keyJson);
    const tmp = join(this.dir, `.eks-access.${process.pid}.${Date.now().toString(36)}.${(tmpCounter++).toString(36)}.tmp`);
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const st = lstatSync(this.dir);
      const me = uid();
      if (!st.isDirectory() || (me !== undefined && st.uid !== me)) throw new Error("not a directory owned by you");
      if ((st.mode & 0o077) !== 0) chmodSync(this.dir, 0o700);
      const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      try {
        writeSync(fd, JSON.stringify(entry));
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, target);
      return true;
    } catch (err) {
      try {
        unlinkSync(tmp);
      } catch {
        /* not created */
      }
      this.warn(`could not write the AWS CLI credential cache in ${this.dir} (${(err as Error).message}); continuing without it`);
      return false;
    }
  }

  /** Deletes the entries eks-access wrote (marked), leaving the AWS CLI's own; returns how many. */
  clearOwn(): number {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return 0;
    }
    let removed = 0;
    for (const name of names) {
      if (!/^[0-9a-f]{40}\.json$/.test(name)) continue;
      const file = join(this.dir, name);
      const raw = readTrusted(file);
      if (raw !== undefined && isEksAccessEntry(raw)) {
        try {
          unlinkSync(file);
          removed++;
        } catch {
          /* gone */
        }
      }
    }
    return removed;
  }
}

/** The parsed JSON of a file we may trust, else undefined. */
function readTrusted(file: string): unknown {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    const me = uid();
    if (!st.isFile() || (me !== undefined && st.uid !== me) || (st.mode & 0o022) !== 0 || st.size > 256 * 1024) return undefined;
    return JSON.parse(readFileSync(fd, "utf8")) as unknown;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
