/** The caller identity STS GetCallerIdentity answers. */
export interface CallerIdentity {
  arn: string;
  account: string;
  userId: string;
}
