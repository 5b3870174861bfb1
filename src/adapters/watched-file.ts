/**
 * A file read again whenever it changes: its directory is watched (so a new file renamed into
 * place, as atomic writers and Kubernetes' projected volumes do, shows at once) and its inode, size
 * and mtime are also checked every `intervalMs` (file systems where watching misses events).
 * `onChange` gets the new text, or undefined when the file is gone; it is called only on a change.
 */
import { readFileSync, statSync, watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";

/** The file's identity for change detection (inode, size, mtime), or "missing". */
export function fileVersion(path: string): string {
  try {
    const st = statSync(path);
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return "missing";
  }
}

export interface WatchedFileOptions {
  /** the new content, or undefined: the file does not exist (any more) */
  onChange(text: string | undefined): void;
  /** the file exists but could not be read (one line) */
  onError(problem: string): void;
  /** default 2000 */
  intervalMs?: number;
}

export class WatchedFile {
  private version: string | undefined;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly path: string,
    private readonly opts: WatchedFileOptions,
  ) {}

  /** Reads the file now (onChange runs before this returns), then watches it. */
  start(): void {
    this.check();
    try {
      const name = basename(this.path);
      this.watcher = watch(dirname(this.path), { persistent: false }, (_event, file) => {
        if (file === null || file === name || String(file) === name) this.check();
      });
      this.watcher.on("error", () => this.watcher?.close());
    } catch {
      /* no such directory yet, or watching unsupported: the interval check covers it */
    }
    this.timer = setInterval(() => this.check(), this.opts.intervalMs ?? 2000);
    this.timer.unref();
  }

  /** Looks at the file now and reports a change. */
  check(): void {
    const version = fileVersion(this.path);
    if (version === this.version) return;
    if (version === "missing") {
      this.version = version;
      this.opts.onChange(undefined);
      return;
    }
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch (err) {
      this.opts.onError((err as NodeJS.ErrnoException).code ?? (err as Error).message);
      return; // not remembered: tried again on the next event or interval
    }
    this.version = version;
    this.opts.onChange(text);
  }

  close(): void {
    this.watcher?.close();
    if (this.timer) clearInterval(this.timer);
  }
}
