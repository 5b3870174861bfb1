/** Text files as the use cases see them (adapters/files.ts implements this on node:fs). */
export interface TextFiles {
  /** the file's text, or undefined when it does not exist */
  read(path: string): string | undefined;
  /** replaces the file atomically (temp file + rename), with `mode` */
  writeAtomic(path: string, text: string, mode?: number): void;
}
