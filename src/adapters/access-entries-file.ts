/**
 * The access entries `serve` authorizes with, from a file in the dynamic-file format (what the
 * sandbox's EKS front writes, and what aws-iam-authenticator's DynamicFile backend reads). The file
 * is re-read when its inode, size or mtime changes (one stat per look-up, so a rename-into-place
 * shows at once); an unreadable or invalid new version keeps the last good one and is reported once.
 */
import { readFileSync } from "node:fs";
import { parseDynamicFile, type DynamicFileRow } from "../core/dynamic-file.js";
import { indexByPrincipalId } from "../core/subject-access.js";
import type { AccessEntrySource } from "../ports/access-entries.js";
import { fileVersion } from "./watched-file.js";

export class AccessEntriesFile implements AccessEntrySource {
  private version = "";
  private index: ReadonlyMap<string, DynamicFileRow> = new Map();
  private reported = "";

  constructor(
    readonly path: string,
    private readonly warn: (line: string) => void = () => {},
  ) {}

  get description(): string {
    return `file ${this.path}`;
  }

  /** Nothing runs in the background: each look-up checks the file. */
  close(): void {}

  /** The current rows by unique id (empty until the file exists). */
  current(): ReadonlyMap<string, DynamicFileRow> {
    const version = fileVersion(this.path);
    if (version === this.version) return this.index;
    if (version === "missing") {
      this.version = version;
      this.index = new Map();
      return this.index;
    }
    let problem: string;
    try {
      const parsed = parseDynamicFile(readFileSync(this.path, "utf8"));
      if (typeof parsed !== "string") {
        this.version = version;
        this.index = indexByPrincipalId(parsed);
        this.reported = "";
        return this.index;
      }
      problem = parsed;
    } catch (err) {
      problem = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    }
    if (problem !== this.reported) this.warn(`access entries file ${this.path} is unusable (${problem}); keeping the last good version`);
    this.reported = problem;
    return this.index;
  }
}
