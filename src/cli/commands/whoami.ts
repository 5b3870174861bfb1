import { endpointOverride } from "../../core/aws-env.js";
import { awsContext } from "../../compose.js";
import { getCallerIdentity } from "../../adapters/sts.js";
import { describeIdentity, renderWhoami } from "../../usecases/whoami.js";

export async function runWhoami(a: { region?: string | undefined; profile?: string | undefined; output?: "text" | "json" }, env = process.env): Promise<string> {
  endpointOverride("sts", env); // the SDK reads it too: a bad one fails here, naming the variable
  const ctx = await awsContext({ profile: a.profile, region: a.region, env });
  const info = describeIdentity(await getCallerIdentity({ region: ctx.region, credentials: ctx.credentials, env }));
  return a.output === "json" ? `${JSON.stringify(info, null, 2)}\n` : renderWhoami(info);
}
