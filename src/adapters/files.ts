/** Filesystem edge: read text (missing → undefined) and atomic 0600 writes that follow symlinks. */
import { mkdirSync, readFileSync, realpathSync, renameSync, writeFileSync, unlinkSync, chmodSync, linkSync } from "node:fs";
import { dirname, basename, join, resolve, sep } from "node:path";
import { randomBytes } from "node:crypto";
import { EksAccessError } from "../core/errors.js";

import type { TextFiles } from "../ports/files.js";

export type { TextFiles };

export const nodeFiles: TextFiles = {
  read(path) {
    try {
      return readFileSync(path, "utf8");
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === "ENOENT") return undefined;
      if (e.code === "EISDIR") throw new EksAccessError("kubeconfig", `${path} is a directory, not a file`, { hint: "point --kubeconfig at a file" });
      throw new EksAccessError("kubeconfig", `cannot read ${path}: ${e.code ?? e.message}`, { hint: "check the file's permissions" });
    }
  },
  writeAtomic(path, text, mode = 0o600) {
    let target = path;
    try {
      target = realpathSync(path); // keep a symlinked kubeconfig a symlink
    } catch {
      /* new file */
    }
    const dir = dirname(target);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new EksAccessError("kubeconfig", `cannot create directory ${dir}: ${(err as NodeJS.ErrnoException).code}`, { hint: "check permissions or use --kubeconfig" });
    }
    const tmp = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
    try {
      writeFileSync(tmp, text, { mode, flag: "wx" });
      chmodSync(tmp, mode);
      renameSync(tmp, target);
    } catch (err) {
      try {
        unlinkSync(tmp);
      } catch {
        /* nothing to clean */
      }
      throw new EksAccessError("kubeconfig", `cannot write ${target}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
        hint: "check the directory's permissions (the file was left as it was)",
      });
    }
  },
};

/**
 * A path as the user wrote it (--kubeconfig, a KUBECONFIG element) made absolute, as the AWS CLI's
 * os.path.expanduser + abspath: a leading `~` is `home`, relative paths are from `cwd`.
 */
export function userPath(path: string, home: string, cwd: string): string {
  const expanded = path === "~" ? home : path.startsWith(`~/`) || path.startsWith(`~${sep}`) ? join(home, path.slice(2)) : path;
  return resolve(cwd, expanded);
}

/**
 * Writes a file that must not exist yet, atomically (temp file + hard link: readers never see it
 * half-written, and an existing file is never replaced); its directory is made 0700 when new.
 * Answers false when `path` already exists.
 */
export function writeNewFile(path: string, text: string, mode = 0o600): boolean {
  const dir = dirname(path);
  const fail = (err: unknown): EksAccessError =>
    new EksAccessError("config", `cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { hint: `check the permissions of ${dir}` });
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw fail(err);
  }
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    writeFileSync(tmp, text, { mode, flag: "wx" });
    chmodSync(tmp, mode);
    linkSync(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw fail(err);
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      /* not made */
    }
  }
}
