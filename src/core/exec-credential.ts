/** client-go exec credential protocol (pure): KUBERNETES_EXEC_INFO in, ExecCredential out. */
export const V1 = "client.authentication.k8s.io/v1";
export const V1BETA1 = "client.authentication.k8s.io/v1beta1";
export const V1ALPHA1 = "client.authentication.k8s.io/v1alpha1";

export interface ExecInfoResult {
  apiVersion: string;
  /** the AWS CLI's stderr warning for this input, if any */
  warning?: string;
}

/** Same decisions and the same warnings as `aws eks get-token`. */
export function discoverApiVersion(raw: string | undefined): ExecInfoResult {
  if (!raw) return { apiVersion: V1BETA1 };
  let info: unknown;
  try {
    info = JSON.parse(raw);
  } catch {
    return {
      apiVersion: V1BETA1,
      warning: `Error parsing KUBERNETES_EXEC_INFO, defaulting to ${V1BETA1}. This is likely a bug in your Kubernetes client. Please update your Kubernetes client.`,
    };
  }
  const obj = (info !== null && typeof info === "object" ? info : {}) as { apiVersion?: unknown };
  if (obj.apiVersion === V1 || obj.apiVersion === V1BETA1) return { apiVersion: obj.apiVersion };
  if (obj.apiVersion === V1ALPHA1) {
    return {
      apiVersion: V1ALPHA1,
      warning: `Kubeconfig user entry is using deprecated API version ${V1ALPHA1}. Run 'aws eks update-kubeconfig' to update.`,
    };
  }
  return {
    apiVersion: V1BETA1,
    warning: `Unrecognized API version in KUBERNETES_EXEC_INFO, defaulting to ${V1BETA1}. This is likely due to an outdated AWS CLI. Please update your AWS CLI.`,
  };
}

/** The ExecCredential exactly as the AWS CLI prints it: key order kind, apiVersion, spec, status; 4-space JSON. */
export function renderExecCredential(apiVersion: string, token: string, expirationTimestamp: string): string {
  const obj = { kind: "ExecCredential", apiVersion, spec: {}, status: { expirationTimestamp, token } };
  // The CLI formatter ends the JSON with a newline and get-token prints one more.
  return `${JSON.stringify(obj, null, 4)}\n\n`;
}
