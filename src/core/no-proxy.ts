/**
 * NO_PROXY matching as curl, Go and botocore understand it (pure): comma-separated host names,
 * domain suffixes (".example.com" or "example.com" matches sub-domains), IPs, optional ":port",
 * and "*" for everything.
 */
export function bypassesProxy(host: string, port: number, noProxy: string | undefined): boolean {
  if (!noProxy) return false;
  const h = host.toLowerCase().replace(/^\[|\]$/g, "");
  for (const raw of noProxy.split(",")) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === "*") return true;
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(entry);
    if (!m) continue;
    const name = m[1]!.replace(/^\[|\]$/g, "");
    if (m[2] !== undefined && Number(m[2]) !== port) continue;
    const bare = name.startsWith(".") ? name.slice(1) : name;
    if (h === bare || h.endsWith(`.${bare}`)) return true;
  }
  return false;
}

/** The proxy URL for an https request, from HTTPS_PROXY / https_proxy (then HTTP_PROXY as curl does not, so no). */
export function httpsProxyFromEnv(env: Readonly<Record<string, string | undefined>>): string | undefined {
  return env["HTTPS_PROXY"] || env["https_proxy"] || undefined;
}

export function noProxyFromEnv(env: Readonly<Record<string, string | undefined>>): string | undefined {
  return env["NO_PROXY"] || env["no_proxy"] || undefined;
}
