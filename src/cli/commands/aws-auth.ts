/** `eks-access aws-auth check --file F`: every problem of an aws-auth manifest, offline (usable in CI). */
import { readFileSync } from "node:fs";
import { EksAccessError } from "../../core/errors.js";
import { parseAwsAuth, parseAwsAuthManifest } from "../../core/mapping/aws-auth.js";
import { checkAwsAuth, failsCheck } from "../../core/mapping/check.js";

export interface AwsAuthCheckArgs {
  file: string;
  cluster?: string | undefined;
  region?: string | undefined;
  output?: "text" | "json" | undefined;
}

/** The report, and the exit code: 1 when an error or warning was found. */
export function runAwsAuthCheck(a: AwsAuthCheckArgs, readStdin: () => string = () => readFileSync(0, "utf8")): { text: string; code: number } {
  let text: string;
  try {
    text = a.file === "-" ? readStdin() : readFileSync(a.file, "utf8");
  } catch (err) {
    throw new EksAccessError("not-found", `cannot read ${a.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      hint: "save it first: kubectl -n kube-system get configmap aws-auth -o yaml > aws-auth.yaml (or pass --file=- and pipe it in)",
    });
  }
  const name = a.file === "-" ? "stdin" : a.file;
  const manifest = parseAwsAuthManifest(text);
  if ("error" in manifest) {
    throw new EksAccessError("usage", `${name}${manifest.line ? `:${manifest.line}` : ""}: ${manifest.error}`, { hint: "give the ConfigMap as kubectl -n kube-system get configmap aws-auth -o yaml prints it" });
  }
  const problems = checkAwsAuth(parseAwsAuth(manifest.data), { cluster: a.cluster ?? "CLUSTER", region: a.region });
  const at = (key: string, line: number): string => {
    const offset = manifest.lineOffsets[key];
    return offset === undefined ? `${name} ${key} line ${line}` : `${name}:${offset + line - 1}`;
  };
  const code = failsCheck(problems) ? 1 : 0;
  if (a.output === "json") {
    const report = problems.map((p) => ({ ...p, location: at(p.key, p.line) }));
    return { text: `${JSON.stringify({ file: name, problems: report }, null, 2)}\n`, code };
  }
  if (problems.length === 0) return { text: `${name}: no problems found\n`, code };
  const count = (s: string): number => problems.filter((p) => p.severity === s).length;
  const lines = problems.flatMap((p) => [`${at(p.key, p.line)}: ${p.severity} ${p.code}: ${p.message}`, `  fix: ${p.fix}`]);
  lines.push(`${problems.length} problem${problems.length === 1 ? "" : "s"}: ${count("error")} error(s), ${count("warning")} warning(s), ${count("info")} info`);
  return { text: `${lines.join("\n")}\n`, code };
}
