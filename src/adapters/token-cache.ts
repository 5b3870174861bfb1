/**
 * Cross-process token cache on the filesystem. Only node:fs/path: this module is on the cache-hit
 * fast path, which must load no AWS SDK, no YAML library and not even node:crypto.
 *
 * Safety: directory 0700 and owned by the current user (else the cache is not used); a file is
 * trusted only if it is a regular file (not a symlink), owned by the current user and not readable
 * or writable by group/others; writes go to a unique temp file (0600, O_EXCL) then rename(2), so a
 * concurrent reader sees the old file or the new one, never half of one. Anything else is a miss.
 *
 * Housekeeping, on writes only (a hit does no more than open and read its one file): an entry is
 * written right after its token is signed and a token lives at most 14 minutes, so an entry whose
 * mtime is over 15 minutes old holds an expired token and is deleted, found by lstat alone; each
 * write looks at no more than SWEEP_BATCH names, from a rotating offset.
 */
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, chmodSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { CACHE_FORMAT_VERSION, cacheFileName, parseCachedToken, type CachedToken } from "../core/token-cache-key.js";

let tmpCounter = 0;

/** Names eks-access creates in the cache directory (nothing else there is ever deleted). */
const ENTRY = /^[0-9a-f]{32}\.json$/;
const TEMP = /^\.[0-9a-f]{32}\.json\..+\.tmp$/;
const LOCK = /^[0-9a-f]{32}\.lock$/;
/** An entry this old has an expired token (written ≤ 1 s after signing, token life ≤ 14 min). */
export const EXPIRED_AFTER_MS = 15 * 60 * 1000;
/** A lock file this old is abandoned (waiters give up after 5 minutes). */
const ABANDONED_LOCK_MS = 60 * 60 * 1000;
export const SWEEP_BATCH = 32;

const uid = (): number | undefined => (typeof process.getuid === "function" ? process.getuid() : undefined);

export class FileTokenCache {
  private usable: boolean | undefined;

  constructor(
    readonly dir: string,
    private readonly warn: (line: string) => void = () => {},
  ) {}

  /** Creates/checks the directory once; false means "run without a cache". */
  private ensureDir(create: boolean): boolean {
    if (this.usable !== undefined) return this.usable;
    try {
      if (create) mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const st = lstatSync(this.dir);
      const me = uid();
      if (!st.isDirectory() || (me !== undefined && st.uid !== me)) {
        this.warn(`token cache directory ${this.dir} is not a directory owned by you; caching is off (set EKS_ACCESS_CACHE_DIR to fix)`);
        return (this.usable = false);
      }
      if ((st.mode & 0o077) !== 0) chmodSync(this.dir, 0o700);
      return (this.usable = true);
    } catch (err) {
      if (!create && (err as NodeJS.ErrnoException).code === "ENOENT") return false;
      this.warn(`token cache directory ${this.dir} is unusable (${(err as Error).message}); caching is off`);
      return (this.usable = false);
    }
  }

  fileFor(key: string): string {
    return join(this.dir, cacheFileName(key));
  }

  /** The entry for a canonical key, if present, trustworthy and written for exactly this key. */
  read(key: string): CachedToken | undefined {
    if (!this.ensureDir(false)) return undefined;
    let fd: number;
    try {
      fd = openSync(join(this.dir, cacheFileName(key)), constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch {
      return undefined;
    }
    try {
      const st = fstatSync(fd);
      const me = uid();
      if (!st.isFile() || (me !== undefined && st.uid !== me) || (st.mode & 0o077) !== 0 || st.size > 64 * 1024) return undefined;
      return parseCachedToken(JSON.parse(readFileSync(fd, "utf8")), key);
    } catch {
      return undefined;
    } finally {
      closeSync(fd);
    }
  }

  write(entry: CachedToken): void {
    if (!this.ensureDir(true)) return;
    const fileName = cacheFileName(entry.key);
    const target = join(this.dir, fileName);
    // O_EXCL makes the name's uniqueness a guarantee; pid + counter + time make clashes unlikely
    const tmp = join(this.dir, `.${fileName}.${process.pid}.${Date.now().toString(36)}.${(tmpCounter++).toString(36)}.tmp`);
    try {
      const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      try {
        writeSync(fd, JSON.stringify({ v: CACHE_FORMAT_VERSION, ...entry }));
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, target);
      this.sweep(fileName);
    } catch (err) {
      try {
        unlinkSync(tmp);
      } catch {
        /* already gone */
      }
      this.warn(`could not write the token cache in ${this.dir} (${(err as Error).message}); continuing without it`);
    }
  }

  /** Deletes expired entries, crashed writers' temp files and abandoned locks; at most SWEEP_BATCH lstat calls. */
  private sweep(written: string): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return;
    }
    if (names.length <= 1) return;
    const now = Date.now();
    const start = parseInt(written.slice(0, 8), 16) % names.length;
    for (let i = 0; i < Math.min(SWEEP_BATCH, names.length); i++) {
      const name = names[(start + i) % names.length]!;
      if (name === written) continue;
      const maxAge = ENTRY.test(name) || TEMP.test(name) ? EXPIRED_AFTER_MS : LOCK.test(name) ? ABANDONED_LOCK_MS : undefined;
      if (maxAge === undefined) continue;
      try {
        const st = lstatSync(join(this.dir, name));
        if (now - st.mtimeMs > maxAge) unlinkSync(join(this.dir, name));
      } catch {
        /* gone already */
      }
    }
  }

  /** Deletes every entry, temp file and lock file eks-access made here; returns the entries removed. */
  clear(): number {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return 0;
    }
    let removed = 0;
    for (const name of names) {
      if (!ENTRY.test(name) && !TEMP.test(name) && !LOCK.test(name)) continue;
      try {
        unlinkSync(join(this.dir, name));
        if (ENTRY.test(name)) removed++;
      } catch {
        /* gone */
      }
    }
    return removed;
  }
}
