/**
 * Cross-process token cache on the filesystem. Only node:fs/path/crypto: this module is on the
 * cache-hit fast path, which must load no AWS SDK and no YAML library.
 *
 * Safety: directory 0700 and owned by the current user (else the cache is not used); a file is
 * trusted only if it is a regular file (not a symlink), owned by the current user and not readable
 * or writable by group/others; writes go to a unique temp file (0600, O_EXCL) then rename(2), so a
 * concurrent reader sees the old file or the new one, never half of one. Anything else is a miss.
 */
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, chmodSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { createHash, randomBytes } from "node:crypto";
import { CACHE_FORMAT_VERSION, parseCachedToken, type CachedToken } from "../core/token-cache-key.js";

export function cacheFileName(canonicalKey: string): string {
  return `${createHash("sha256").update(canonicalKey).digest("hex")}.json`;
}

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

  read(fileName: string): CachedToken | undefined {
    if (!this.ensureDir(false)) return undefined;
    let fd: number;
    try {
      fd = openSync(join(this.dir, fileName), constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch {
      return undefined;
    }
    try {
      const st = fstatSync(fd);
      const me = uid();
      if (!st.isFile() || (me !== undefined && st.uid !== me) || (st.mode & 0o077) !== 0 || st.size > 64 * 1024) return undefined;
      return parseCachedToken(JSON.parse(readFileSync(fd, "utf8")));
    } catch {
      return undefined;
    } finally {
      closeSync(fd);
    }
  }

  write(fileName: string, entry: CachedToken): void {
    if (!this.ensureDir(true)) return;
    const target = join(this.dir, fileName);
    const tmp = join(this.dir, `.${fileName}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
    try {
      const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      try {
        writeSync(fd, JSON.stringify({ v: CACHE_FORMAT_VERSION, ...entry }));
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, target);
    } catch (err) {
      try {
        unlinkSync(tmp);
      } catch {
        /* already gone */
      }
      this.warn(`could not write the token cache in ${this.dir} (${(err as Error).message}); continuing without it`);
    }
  }
}
