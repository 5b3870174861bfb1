/**
 * The EKS access-entry operations on the wire (rest-json, as botocore's EKS model defines them),
 * served by the EKS front from the emulator's state (access-entries.ts): routing by method and
 * path, request members from the path, query and JSON body, answers in the model's shapes
 * (timestamps as epoch seconds), errors as EKS sends them (status, `x-amzn-ErrorType`,
 * `{"message": …}`).
 */
import { AccessEntries, EksApiError, type AccessEntryState, type AssociationState, type UpdateState } from "./access-entries.js";

export type AccessApiOp =
  | { op: "CreateAccessEntry"; cluster: string }
  | { op: "ListAccessEntries"; cluster: string }
  | { op: "DescribeAccessEntry"; cluster: string; principalArn: string }
  | { op: "UpdateAccessEntry"; cluster: string; principalArn: string }
  | { op: "DeleteAccessEntry"; cluster: string; principalArn: string }
  | { op: "AssociateAccessPolicy"; cluster: string; principalArn: string }
  | { op: "ListAssociatedAccessPolicies"; cluster: string; principalArn: string }
  | { op: "DisassociateAccessPolicy"; cluster: string; principalArn: string; policyArn: string }
  | { op: "ListAccessPolicies" }
  | { op: "UpdateClusterConfig"; cluster: string }
  | { op: "DescribeUpdate"; cluster: string; updateId: string };

/** Path segments, percent-decoded (ARNs in a URI label arrive with `:` and `/` encoded); undefined if malformed. */
function segments(path: string): string[] | undefined {
  try {
    return path.replace(/\/+$/, "").split("/").slice(1).map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
}

/** Which access operation a request is (by method and path), or undefined for everything else. */
export function accessApiRoute(method: string, pathname: string): AccessApiOp | undefined {
  const s = segments(pathname);
  if (!s) return undefined;
  if (s.length === 1 && s[0] === "access-policies" && method === "GET") return { op: "ListAccessPolicies" };
  if (s[0] !== "clusters" || s[1] === undefined || s[1] === "") return undefined;
  const cluster = s[1];
  if (s.length === 3 && s[2] === "update-config" && method === "POST") return { op: "UpdateClusterConfig", cluster };
  if (s.length === 4 && s[2] === "updates" && method === "GET") return { op: "DescribeUpdate", cluster, updateId: s[3]! };
  if (s[2] !== "access-entries") return undefined;
  if (s.length === 3) return method === "POST" ? { op: "CreateAccessEntry", cluster } : method === "GET" ? { op: "ListAccessEntries", cluster } : undefined;
  const principalArn = s[3]!;
  if (s.length === 4) {
    if (method === "GET") return { op: "DescribeAccessEntry", cluster, principalArn };
    if (method === "POST") return { op: "UpdateAccessEntry", cluster, principalArn };
    if (method === "DELETE") return { op: "DeleteAccessEntry", cluster, principalArn };
    return undefined;
  }
  if (s[4] !== "access-policies") return undefined;
  if (s.length === 5) return method === "POST" ? { op: "AssociateAccessPolicy", cluster, principalArn } : method === "GET" ? { op: "ListAssociatedAccessPolicies", cluster, principalArn } : undefined;
  if (s.length === 6 && method === "DELETE") return { op: "DisassociateAccessPolicy", cluster, principalArn, policyArn: s[5]! };
  return undefined;
}

export interface ApiAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** whether the state changed (the front then persists it) */
  changed: boolean;
}

const epoch = (iso: string): number => Date.parse(iso) / 1000;

export const wireEntry = (e: AccessEntryState) => ({
  clusterName: e.clusterName,
  principalArn: e.principalArn,
  kubernetesGroups: e.kubernetesGroups,
  accessEntryArn: e.accessEntryArn,
  createdAt: epoch(e.createdAt),
  modifiedAt: epoch(e.modifiedAt),
  tags: e.tags,
  username: e.username,
  type: e.type,
});

const wireAssociation = (a: AssociationState) => ({ policyArn: a.policyArn, accessScope: a.accessScope, associatedAt: epoch(a.associatedAt), modifiedAt: epoch(a.modifiedAt) });

const wireUpdate = (u: UpdateState) => ({ id: u.id, status: u.status, type: u.type, params: u.params, createdAt: epoch(u.createdAt), errors: u.errors });

export function errorAnswer(err: EksApiError): ApiAnswer {
  return { status: err.status, headers: { "x-amzn-errortype": err.code }, body: JSON.stringify({ message: err.message }), changed: false };
}

const ok = (doc: unknown, changed: boolean): ApiAnswer => ({ status: 200, headers: {}, body: JSON.stringify(doc), changed });

/** A JSON request body's object, or an InvalidParameterException naming what is wrong. */
export function parseBody(text: string): Record<string, unknown> {
  if (text.trim() === "") return {};
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new EksApiError("InvalidParameterException", "The request body is not valid JSON.");
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new EksApiError("InvalidParameterException", "The request body must be a JSON object.");
  return doc as Record<string, unknown>;
}

const str = (v: unknown, member: string): string | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw new EksApiError("InvalidParameterException", `${member} must be a string.`);
  return v;
};

const strList = (v: unknown, member: string): string[] | undefined => {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw new EksApiError("InvalidParameterException", `${member} must be a list of strings.`);
  return v as string[];
};

const intParam = (q: URLSearchParams, name: string): number | undefined => {
  const v = q.get(name);
  if (v === null) return undefined;
  if (!/^-?\d+$/.test(v)) throw new EksApiError("InvalidParameterException", `${name} must be an integer.`);
  return Number(v);
};

function required(value: string | undefined, member: string): string {
  if (value === undefined || value === "") throw new EksApiError("InvalidParameterException", `${member} is required.`);
  return value;
}

/** Runs one access operation against the store; EKS errors become their wire answers. */
export function serveAccessApi(store: AccessEntries, route: AccessApiOp, query: URLSearchParams, bodyText: string): ApiAnswer {
  try {
    return dispatch(store, route, query, bodyText);
  } catch (err) {
    if (err instanceof EksApiError) return errorAnswer(err);
    throw err;
  }
}

function dispatch(store: AccessEntries, route: AccessApiOp, query: URLSearchParams, bodyText: string): ApiAnswer {
  const page = { maxResults: intParam(query, "maxResults"), nextToken: query.get("nextToken") ?? undefined };
  switch (route.op) {
    case "ListAccessPolicies": {
      const p = store.listAccessPolicies(page);
      return ok({ accessPolicies: p.items, ...(p.nextToken ? { nextToken: p.nextToken } : {}) }, false);
    }
    case "CreateAccessEntry": {
      const b = parseBody(bodyText);
      const tags = b["tags"];
      if (tags !== undefined && (typeof tags !== "object" || tags === null || Array.isArray(tags) || Object.values(tags).some((v) => typeof v !== "string"))) {
        throw new EksApiError("InvalidParameterException", "tags must be a map of strings.");
      }
      const entry = store.createAccessEntry(route.cluster, {
        principalArn: required(str(b["principalArn"], "principalArn"), "principalArn"),
        kubernetesGroups: strList(b["kubernetesGroups"], "kubernetesGroups"),
        tags: tags as Record<string, string> | undefined,
        username: str(b["username"], "username"),
        type: str(b["type"], "type"),
      });
      return ok({ accessEntry: wireEntry(entry) }, true);
    }
    case "ListAccessEntries": {
      const p = store.listAccessEntries(route.cluster, { ...page, associatedPolicyArn: query.get("associatedPolicyArn") ?? undefined });
      return ok({ accessEntries: p.items, ...(p.nextToken ? { nextToken: p.nextToken } : {}) }, false);
    }
    case "DescribeAccessEntry":
      return ok({ accessEntry: wireEntry(store.describeAccessEntry(route.cluster, route.principalArn)) }, false);
    case "UpdateAccessEntry": {
      const b = parseBody(bodyText);
      const entry = store.updateAccessEntry(route.cluster, route.principalArn, { kubernetesGroups: strList(b["kubernetesGroups"], "kubernetesGroups"), username: str(b["username"], "username") });
      return ok({ accessEntry: wireEntry(entry) }, true);
    }
    case "DeleteAccessEntry":
      store.deleteAccessEntry(route.cluster, route.principalArn);
      return ok({}, true);
    case "AssociateAccessPolicy": {
      const b = parseBody(bodyText);
      const scope = b["accessScope"];
      if (typeof scope !== "object" || scope === null || Array.isArray(scope)) throw new EksApiError("InvalidParameterException", "accessScope is required.");
      const s = scope as Record<string, unknown>;
      const a = store.associateAccessPolicy(route.cluster, route.principalArn, required(str(b["policyArn"], "policyArn"), "policyArn"), {
        type: str(s["type"], "accessScope.type"),
        namespaces: strList(s["namespaces"], "accessScope.namespaces"),
      });
      return ok({ clusterName: route.cluster, principalArn: route.principalArn, associatedAccessPolicy: wireAssociation(a) }, true);
    }
    case "ListAssociatedAccessPolicies": {
      const p = store.listAssociatedAccessPolicies(route.cluster, route.principalArn, page);
      return ok({ clusterName: route.cluster, principalArn: route.principalArn, associatedAccessPolicies: p.items.map(wireAssociation), ...(p.nextToken ? { nextToken: p.nextToken } : {}) }, false);
    }
    case "DisassociateAccessPolicy":
      store.disassociateAccessPolicy(route.cluster, route.principalArn, route.policyArn);
      return ok({}, true);
    case "UpdateClusterConfig": {
      const b = parseBody(bodyText);
      const access = b["accessConfig"] as Record<string, unknown> | undefined;
      const mode = required(str(access?.["authenticationMode"], "accessConfig.authenticationMode"), "accessConfig.authenticationMode");
      return ok({ update: wireUpdate(store.updateAuthenticationMode(route.cluster, mode)) }, true);
    }
    case "DescribeUpdate":
      return ok({ update: wireUpdate(store.describeUpdate(route.cluster, route.updateId)) }, false);
  }
}
