/**
 * The layering rules live in .dependency-cruiser.cjs and run on src/ in `npm test` (lint:layers).
 * Here they run on purpose-made violations — a side-effect import, a require(), a dynamic
 * import(), a `../core/../adapters` path, a subfolder, a cycle, an unreached module — to prove that
 * each rule reports them (and that allowed imports pass).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { repoRoot, tempDir } from "../helpers.js";

const FIXTURE: Record<string, string> = {
  "src/cli/main.ts": [
    'import "../core/ok.js";',
    'import "../core/side-effect.js";',
    'import "../core/sub/deep.js";',
    'import "../core/lazy.js";',
    'import "../usecases/req.js";',
    'import "../usecases/dotdot.js";',
    'import "../usecases/fine.js";',
    'import "../ports/value.js";',
    'import "../ports/fine.js";',
    'import "../adapters/usecase-code.js";',
    'import "../adapters/usecase-types.js";',
    'export { edge } from "../adapters/edge.js";',
    "export const run = 1;",
  ].join("\n"),
  "src/cli/app.ts": 'import "../../test/helper.js";\nexport const app = 1;\n',
  "test/helper.ts": "export const helper = 1;\n",
  "src/core/ok.ts": 'import { parse } from "yaml";\nimport type { Fine } from "./types.js";\nexport const ok = (f: Fine) => parse(f.text);\n',
  "src/core/types.ts": "export interface Fine { text: string }\n",
  "src/core/side-effect.ts": 'import "../adapters/edge.js";\n',
  "src/core/sub/deep.ts": 'import { readFileSync } from "node:fs";\nexport const r = readFileSync;\n',
  "src/core/lazy.ts": 'export const os = () => import("node:os");\n',
  "src/usecases/req.ts": 'const fs = require("node:fs");\nexport default fs;\n',
  "src/usecases/dotdot.ts": 'import { edge } from "../core/../adapters/edge.js";\nexport const e = edge;\n',
  "src/usecases/fine.ts": 'import { ok } from "../core/ok.js";\nimport type { Port } from "../ports/fine.js";\nexport const useCase = (p: Port) => ok({ text: p.read() });\n',
  "src/ports/value.ts": 'import { ok } from "../core/ok.js";\nexport const v = ok;\n',
  "src/ports/fine.ts": 'import type { Fine } from "../core/types.js";\nexport interface Port { read(): Fine["text"] }\n',
  "src/adapters/edge.ts": 'import { run } from "../cli/main.js";\nexport const edge = run;\n',
  "src/adapters/usecase-code.ts": 'import { useCase } from "../usecases/fine.js";\nexport const u = useCase;\n',
  "src/adapters/usecase-types.ts": 'import type { useCase } from "../usecases/fine.js";\nexport type U = typeof useCase;\nexport type P = typeof import("../usecases/fine.js");\n',
  "src/orphan.ts": "export const nobody = 1;\n",
  "tsconfig.json": JSON.stringify({ compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", strict: true }, include: ["src", "test"] }),
};

type Violation = { rule: { name: string }; from: string; to: string };

function cruise(): Violation[] {
  const t = tempDir("eks-access-layering-");
  try {
    for (const [file, text] of Object.entries(FIXTURE)) {
      mkdirSync(dirname(join(t.path, file)), { recursive: true });
      writeFileSync(join(t.path, file), text);
    }
    symlinkSync(join(repoRoot, "node_modules"), join(t.path, "node_modules"));
    const r = spawnSync(process.execPath, [join(repoRoot, "node_modules", "dependency-cruiser", "bin", "dependency-cruise.mjs"), "src", "--config", join(repoRoot, ".dependency-cruiser.cjs"), "--output-type", "json"], {
      cwd: t.path,
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
    assert.ok(r.stdout.startsWith("{"), r.stderr);
    return (JSON.parse(r.stdout) as { summary: { violations: Violation[] } }).summary.violations;
  } finally {
    t.cleanup();
  }
}

test("every layering rule reports its purpose-made violation, and only those", () => {
  const found = cruise().map((v) => `${v.rule.name}: ${v.from} → ${v.to}`);
  const expected = [
    "core-is-pure: src/core/side-effect.ts → src/adapters/edge.ts", // side-effect import
    "core-is-pure: src/core/sub/deep.ts → fs", // subfolder, builtin (node:fs)
    "core-is-pure: src/core/lazy.ts → os", // dynamic import() of node:os
    "usecases-see-core-and-ports: src/usecases/req.ts → fs", // require("node:fs")
    "usecases-see-core-and-ports: src/usecases/dotdot.ts → src/adapters/edge.ts", // ../core/../adapters
    "ports-import-types-only: src/ports/value.ts → src/core/ok.ts",
    "adapters-are-edges: src/adapters/edge.ts → src/cli/main.ts",
    "adapters-use-usecase-types-only: src/adapters/usecase-code.ts → src/usecases/fine.ts",
    "src-never-imports-tests: src/cli/app.ts → test/helper.ts",
    "reached-by-a-command: src/orphan.ts → src/orphan.ts",
  ];
  for (const e of expected) assert.ok(found.includes(e), `not reported: ${e}\nreported:\n${found.join("\n")}`);
  assert.ok(
    found.some((f) => /^no-circular: src\/(adapters\/edge|cli\/main)\.ts → /.test(f)),
    `the main ↔ edge cycle is reported:\n${found.join("\n")}`,
  );
  const allowed = ["src/core/ok.ts", "src/usecases/fine.ts", "src/ports/fine.ts", "src/adapters/usecase-types.ts"];
  assert.deepEqual(
    found.filter((f) => allowed.some((a) => f.includes(`: ${a} →`))),
    [],
    "yaml from core, core/ports from a use case, types from ports and from an adapter are allowed",
  );
});

test("src/ports holds interfaces only: its modules have no run-time exports", async () => {
  for (const port of ["files", "sts"]) {
    const mod = (await import(`../../src/ports/${port}.js`)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(mod), [], port);
  }
});
