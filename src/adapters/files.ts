/** Filesystem edge: read text (missing → undefined) and atomic 0600 writes that follow symlinks. */
import { mkdirSync, readFileSync, realpathSync, renameSync, writeFileSync, unlinkSync, chmodSync } from "node:fs";
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
