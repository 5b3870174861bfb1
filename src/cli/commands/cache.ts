/** `eks-access cache clear [--aws]`: delete the token cache (and eks-access's AWS CLI cache entries). */
import { homedir } from "node:os";
import { awsCliCacheDir, tokenCacheDir } from "../../core/cache-dirs.js";
import { FileTokenCache } from "../../adapters/token-cache.js";
import { FileAwsCliCache } from "../../adapters/aws-cli-cache.js";

export function runCacheClear(a: { aws?: boolean | undefined }, env: Readonly<Record<string, string | undefined>> = process.env): string {
  const home = homedir();
  const dir = tokenCacheDir(env, home);
  const tokens = new FileTokenCache(dir).clear();
  let text = `Removed ${tokens} cached token${tokens === 1 ? "" : "s"} from ${dir}\n`;
  if (a.aws) {
    const awsDir = awsCliCacheDir(env, home);
    if (awsDir === undefined) {
      text += "The AWS CLI cache is off (EKS_ACCESS_AWS_CLI_CACHE_DIR=off): nothing to remove there\n";
    } else {
      const own = new FileAwsCliCache(awsDir).clearOwn();
      text += `Removed ${own} eks-access entr${own === 1 ? "y" : "ies"} from ${awsDir} (the AWS CLI's own entries were left)\n`;
    }
  }
  return text;
}
