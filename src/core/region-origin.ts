/** Which setting chose the region (pure), for --debug: the flag, an environment variable, or none yet. */
import type { Env } from "./aws-env.js";

export function envRegionWithOrigin(flag: string | undefined, env: Env): { region: string; origin: string } | undefined {
  if (flag) return { region: flag, origin: "--region" };
  if (env["AWS_REGION"]) return { region: env["AWS_REGION"], origin: "AWS_REGION" };
  if (env["AWS_DEFAULT_REGION"]) return { region: env["AWS_DEFAULT_REGION"], origin: "AWS_DEFAULT_REGION" };
  return undefined;
}
