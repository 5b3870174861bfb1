/** Runs the authorizer server for a benchmark in its own process: argv cert key entries-file; prints its URL. */
import { startServer } from "../src/server/server.js";
import { AccessEntriesFile } from "../src/adapters/access-entries-file.js";

const [certFile, keyFile, accessEntriesFile] = process.argv.slice(2) as [string, string, string];
const s = await startServer({ port: 0, tls: { certFile, keyFile }, accessEntries: new AccessEntriesFile(accessEntriesFile) });
process.stdout.write(`${s.url}\n`);
process.on("SIGTERM", () => void s.stop().then(() => process.exit(0)));
