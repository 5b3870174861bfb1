/**
 * The kubeconfig-format file kube-apiserver reads for a webhook
 * (--authentication-token-webhook-config-file, --authorization-webhook-config-file): one cluster
 * whose server is the webhook's URL and whose certificate-authority-data is the PEM it trusts, a
 * user named apiserver, one context (as aws-iam-authenticator's generated kubeconfig). Pure.
 */
import { stringify } from "yaml";

export function webhookKubeconfig(o: { name: string; url: string; caPem: string }): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: o.name, cluster: { "certificate-authority-data": btoa(o.caPem), server: o.url } }],
    users: [{ name: "apiserver", user: {} }],
    contexts: [{ name: "webhook", context: { cluster: o.name, user: "apiserver" } }],
    "current-context": "webhook",
  });
}

/** `https://host:port/path`, with an IPv6 literal in brackets. */
export function webhookUrl(host: string, port: number, path: string): string {
  return `https://${host.includes(":") ? `[${host}]` : host}:${port}${path}`;
}
