/**
 * Whether an access entry still matches its principal (pure). EKS binds an entry to the IAM unique
 * id its principal had when the entry was made, and never shows that id; IAM shows today's
 * principal of the same name. So an entry matches no one when that principal is gone, when IAM's
 * principal of that name is another one (another path), or when it was re-created after the entry
 * was made (IAM CreateDate later than the entry's createdAt: a new unique id). EKS user guide,
 * "Create access entries": "If you don't delete the access entry and ever recreate the IAM
 * principal, even if it has the same ARN, the access entry won't work."
 * Used by `serve` (which leaves such entries out) and by `access list/check` and `migrate`.
 */
import { parsePrincipal } from "./arn.js";

/** An IAM role or user as IAM has it now (the PrincipalDirectory port's IamPrincipal has this shape). */
export interface IamRecord {
  type: "role" | "user";
  /** path included */
  arn: string;
  account: string;
  name: string;
  path: string;
  /** AROA… / AIDA… */
  uniqueId: string;
  /** ISO 8601 */
  createDate: string;
}

export type UnboundCode = "not-a-principal" | "principal-deleted" | "principal-replaced" | "principal-recreated";

export type EntryBinding = { bound: true; principalId: string } | { bound: false; code: UnboundCode; why: string };

/**
 * The unique id an entry matches, from IAM's answer for its principal ARN (`now`: undefined when
 * IAM has no such principal), or why it matches no one.
 */
export function entryBinding(entry: { principalArn: string; createdAt?: string | Date | undefined }, now: IamRecord | undefined): EntryBinding {
  const p = parsePrincipal(entry.principalArn);
  if (p?.type !== "role" && p?.type !== "user") return { bound: false, code: "not-a-principal", why: "not an IAM role or user ARN" };
  if (now === undefined) return { bound: false, code: "principal-deleted", why: `the ${p.type} no longer exists in IAM` };
  if (now.arn !== entry.principalArn) return { bound: false, code: "principal-replaced", why: `IAM's ${p.type} of that name is now ${now.arn}, another principal` };
  const made = entry.createdAt === undefined ? NaN : new Date(entry.createdAt).getTime();
  if (Date.parse(now.createDate) > made) {
    return {
      bound: false,
      code: "principal-recreated",
      why: `the ${p.type} was re-created (IAM CreateDate ${now.createDate}) after the entry was made (${new Date(made).toISOString()}), and EKS keeps the old unique id; re-create the entry`,
    };
  }
  return { bound: true, principalId: now.uniqueId };
}
