/**
 * Cross-process token cache on the filesystem. Only node:fs/path: this module is on the cache-hit
 * fast path, which must load no AWS SDK, no YAML library and not even node:crypto.
 *
 * Safety: directory 0700 and owned by the current user (else the cache is not used); a file is
 * trusted only if it is a regular file (not a symlink), owned by the current user and not readable
 * or writable by group/others; writes go to a unique temp file (0600, O_EXCL) then rename(2), so a
 * concurrent reader sees the old file or the new one, never half of one. Anything else is a miss.
 */
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, chmodSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { CACHE_FORMAT_VERSION, cacheFileName, parseCachedToken, type CachedToken } from "../core/token-cache-key.js";

let tmpCounter = 0;

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
