/**
 * One concurrent aws-auth writer for test/sandbox/kube-aws-auth.test.ts, run as its own process:
 *   node --import tsx test/sandbox/aws-auth-writer.ts KUBECONFIG ROLE_ARN BACKUP_DIR
 * It upserts one mapping through the real adapter. After its first read it prints "read" and waits
 * for a line on stdin, so the test can make every writer read the same resourceVersion before any
 * of them writes (conflicts are then certain, not a matter of timing). Prints the AwsAuthWrite's
 * conflict count as JSON. 20 writers released at once on a loaded machine can need more than the
 * default 10 attempts, so the bound here is 40: the test is about nothing being lost or duplicated
 * (test/unit/kube-aws-auth.test.ts tests the bound itself).
 */
import { createInterface } from "node:readline";
import { homedir } from "node:os";
import { kubeAwsAuthStore } from "../../src/adapters/kube-aws-auth.js";
import { upsertMapping } from "../../src/core/mapping/aws-auth.js";

const [kubeconfig, arn, backupDir] = process.argv.slice(2) as [string, string, string];
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
let attempts = 0;
const store = await kubeAwsAuthStore(
  { kubeconfig, env: {}, home: homedir(), cwd: process.cwd() },
  {
    backupDir,
    maxAttempts: 40,
    onRead: async (attempt) => {
      attempts = attempt;
      if (attempt !== 1) return;
      process.stdout.write("read\n");
      await lines.next();
    },
  },
);
const w = await store.update((current) => {
  const r = upsertMapping(current?.data, { arn, username: `${arn.split("/").pop()}:{{SessionName}}`, groups: ["writers"] });
  if (!r.ok) throw new Error(r.message);
  return r.data;
});
process.stdout.write(`${JSON.stringify({ conflicts: w.conflicts, attempts, backup: w.backupPath ?? null })}\n`);
process.exit(0);
