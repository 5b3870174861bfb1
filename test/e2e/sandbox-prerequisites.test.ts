/** `sandbox up` without moto_server: fails at once (before any build), naming what to install. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { runCli, tempDir } from "../helpers.js";

test("sandbox up with no moto_server on PATH: one clear error, no daemon left", () => {
  const t = tempDir();
  try {
    const bin = join(t.path, "bin");
    mkdirSync(bin);
    for (const tool of ["node", "openssl"]) symlinkSync(execFileSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).trim(), join(bin, tool));
    const dir = join(t.path, "sandbox");
    const r = runCli(["sandbox", "up", "--dir", dir], { env: { HOME: process.env["HOME"], PATH: `${bin}:/usr/bin:/bin` } });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /eks-access: error: sandbox did not start: the sandbox needs moto_server, which is not on PATH; pip install 'moto\[server\]==5\.2\.1' \(or \.\/scripts\/setup\); full log: /);
    const down = runCli(["sandbox", "down", "--dir", dir], { env: { HOME: process.env["HOME"], PATH: process.env["PATH"] } });
    assert.equal(down.stdout, `no sandbox running in ${dir}\n`);
  } finally {
    t.cleanup();
  }
});
