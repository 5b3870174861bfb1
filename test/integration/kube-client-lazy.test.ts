/**
 * @kubernetes/client-node (about 1 MB bundled) is in its own chunk, reached only by dynamic import
 * (when an aws-auth store connects): the `token` paths (main.cjs, sign.cjs) never hold it, and no
 * part imports it at start-up. Reads the build's dist/meta.json.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../helpers.js";

type Output = { imports?: Array<{ path: string; kind: string; external?: boolean }>; inputs: Record<string, { bytesInOutput: number }> };
type Meta = { outputs: Record<string, Output> };

test("client-node is only in a lazily imported chunk, never in main.cjs or sign.cjs", () => {
  const meta = JSON.parse(readFileSync(join(repoRoot, "dist", "meta.json"), "utf8")) as Record<"main" | "sign" | "esm", Meta>;
  const holds = (o: Output): boolean => Object.entries(o.inputs).some(([i, v]) => i.includes("node_modules/@kubernetes/client-node/") && v.bytesInOutput > 0);
  for (const part of ["main", "sign"] as const) assert.ok(!Object.values(meta[part].outputs).some(holds), `${part} holds client-node`);
  const chunks = Object.entries(meta.esm.outputs).filter(([, o]) => holds(o)).map(([f]) => f);
  assert.equal(chunks.length, 1, chunks.join(", "));
  // what cli.js and aws.js load at start-up: their static imports, transitively
  const staticReach = new Set<string>();
  const walk = (file: string): void => {
    if (staticReach.has(file)) return;
    staticReach.add(file);
    for (const i of meta.esm.outputs[file]?.imports ?? []) if (i.kind === "import-statement" && !i.external) walk(i.path);
  };
  walk("dist/cli.js");
  walk("dist/aws.js");
  assert.ok(!staticReach.has(chunks[0]!), `${chunks[0]} is imported at start-up`);
  const dynamic = Object.values(meta.esm.outputs).some((o) => (o.imports ?? []).some((i) => i.path === chunks[0] && i.kind === "dynamic-import"));
  assert.ok(dynamic, "control: it is reached by a dynamic import");
});
