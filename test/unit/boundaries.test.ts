/** The layering rules (DESIGN.md): core is pure, use cases see only core and ports. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../helpers.js";

function importsOf(dir: string): Array<[file: string, spec: string]> {
  const out: Array<[string, string]> = [];
  for (const f of readdirSync(join(repoRoot, "src", dir)).filter((x) => x.endsWith(".ts"))) {
    const text = readFileSync(join(repoRoot, "src", dir, f), "utf8");
    for (const m of text.matchAll(/^\s*(?:import|export)[^"']*from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/gm)) out.push([`${dir}/${f}`, (m[1] ?? m[2])!]);
  }
  return out;
}

test("src/core imports only core (and the pure yaml library): no node:*, no SDK, no I/O", () => {
  const bad = importsOf("core").filter(([, s]) => !s.startsWith("./") && s !== "yaml");
  assert.deepEqual(bad, []);
});

test("src/usecases import only core, ports and other use cases", () => {
  const bad = importsOf("usecases").filter(([, s]) => !/^\.\.\/(core|ports)\/|^\.\//.test(s));
  assert.deepEqual(bad, []);
});

test("src/ports holds interfaces only", () => {
  for (const f of readdirSync(join(repoRoot, "src", "ports"))) {
    const text = readFileSync(join(repoRoot, "src", "ports", f), "utf8");
    assert.doesNotMatch(text, /^\s*export (?:async )?(?:function|const|class|let)\b/m, f);
  }
});
