/** The CLI application (yargs): generated --help, shell completion, and thin command handlers. */
import yargs, { type Argv } from "yargs";
import { EksAccessError, usageError } from "../core/errors.js";
import { requireValues } from "../core/flags.js";
import { TOKEN_FLAGS } from "./token-flags.js";
import { commandPath, valueFlagsOf } from "./value-flags.js";

const VERSION = "0.1.0";

function out(text: string): void {
  process.stdout.write(text);
}

/** What the shell (main.ts) runs for the application. */
export interface CliDeps {
  /** the `token` fast path, given the arguments after the command word */
  token(args: string[]): Promise<number>;
}

function tokenCommand(y: Argv, args: readonly string[], deps: CliDeps): Argv {
  return y.command(
    "token",
    "Print an EKS token as an ExecCredential (drop-in for `aws eks get-token`; kubectl exec plugin)",
    (b) => {
      for (const [name, spec] of Object.entries(TOKEN_FLAGS)) b.option(name, { type: spec.type, describe: spec.describe, ...("short" in spec ? { alias: spec.short } : {}) });
      return b
        .example("$0 token --cluster-name prod --region eu-west-1", "token for cluster prod")
        .example("$0 token --cluster-name prod --role-arn arn:aws:iam::111122223333:role/EKSAdmin", "assume a role first")
        .epilogue(
          "Tokens are cached across kubectl calls in ~/.kube/cache/eks-access (EKS_ACCESS_CACHE_DIR), 0600 files, reused while 5+ minutes of validity remain, and never valid longer than the credentials that signed them.",
        );
    },
    // main.ts runs `token` itself unless it asks for --help/--version; should yargs get here anyway,
    // it runs that same code with the same arguments (never a second copy bundled into this part)
    async () => {
      process.exitCode = await deps.token(args.slice(1));
    },
  );
}

function kubeconfigCommand(y: Argv): Argv {
  return y.command("kubeconfig", "Write kubeconfig entries for EKS clusters", (k) =>
    k
      .command(
        "add",
        "Add or update a cluster's kubeconfig entry (drop-in for `aws eks update-kubeconfig`)",
        (b) =>
          b
            .option("name", { type: "string", demandOption: true, describe: "Name of the EKS cluster" })
            .option("region", { type: "string", describe: "AWS Region of the cluster" })
            .option("profile", { type: "string", describe: "AWS profile used to look the cluster up (also written to the entry)" })
            .option("role-arn", { type: "string", describe: "Role the entry assumes when it gets a token" })
            .option("assume-role-arn", { type: "string", describe: "Role assumed only for the DescribeCluster call (cross-account)" })
            .option("proxy-url", { type: "string", describe: "Proxy URL written to the cluster entry" })
            .option("alias", { type: "string", describe: "Context name (default: the cluster ARN)" })
            .option("user-alias", { type: "string", describe: "User entry name (default: the cluster ARN)" })
            .option("kubeconfig", { type: "string", describe: "File to write (default: first KUBECONFIG path holding the cluster, else the first, else ~/.kube/config)" })
            .option("dry-run", { type: "boolean", default: false, describe: "Print the merged kubeconfig instead of writing it" })
            .option("verbose", { type: "boolean", default: false, describe: "Also print the entries written" })
            .option("exec", { choices: ["eks-access", "aws"] as const, default: "eks-access" as const, describe: "Credential plugin the entry runs (aws = identical to the AWS CLI's entry)" })
            .option("exec-profile", { type: "string", describe: "Profile the entry uses at run time, when it differs from --profile" })
            .option("endpoint-url", { type: "string", describe: "EKS API endpoint override (as the AWS CLI's --endpoint-url)" })
            .example("$0 kubeconfig add --name prod --region eu-west-1", "same entry names as aws eks update-kubeconfig")
            .example("$0 kubeconfig add --name prod --profile admin --exec-profile readonly", "look up as admin, connect as readonly"),
        async (a) => {
          const { runKubeconfigAdd } = await import("./commands/kubeconfig.js");
          out(await runKubeconfigAdd(a));
        },
      )
      .demandCommand(1, "choose a kubeconfig subcommand: add"),
  );
}

function whoamiCommand(y: Argv): Argv {
  return y.command(
    "whoami",
    "Show your AWS identity and the exact ARN to map for EKS (session → role, SSO path stripped)",
    (b) =>
      b
        .option("region", { type: "string", describe: "AWS Region of the STS endpoint (default: AWS_REGION, AWS_DEFAULT_REGION, profile region)" })
        .option("profile", { type: "string", describe: "AWS profile to ask as (default: AWS_PROFILE or the default chain)" })
        .option("output", { alias: "o", choices: ["text", "json"] as const, default: "text" as const, describe: "text for people, json for scripts" })
        .example("$0 whoami --profile sso-admin", "which role to map for an IAM Identity Center user")
        .example("$0 whoami -o json | jq -r .mapArn", "the ARN to put in aws-auth or an access entry"),
    async (a) => {
      const { runWhoami } = await import("./commands/whoami.js");
      out(await runWhoami(a));
    },
  );
}

function cacheCommand(y: Argv): Argv {
  return y.command("cache", "Manage eks-access's caches", (c) =>
    c
      .command(
        "clear",
        "Delete the token cache (~/.kube/cache/eks-access or EKS_ACCESS_CACHE_DIR)",
        (b) => b.option("aws", { type: "boolean", default: false, describe: "Also delete the role/SSO credentials eks-access wrote to the AWS CLI cache (~/.aws/cli/cache)" }),
        async (a) => {
          const { runCacheClear } = await import("./commands/cache.js");
          out(runCacheClear(a));
        },
      )
      .demandCommand(1, "choose a cache subcommand: clear"),
  );
}

/** The options `serve` and `serve init` share (aws-iam-authenticator's server layout), each described for its command. */
const LAYOUT = ["config", "cluster-id", "address", "port", "hostname", "state-dir", "generate-kubeconfig", "tls-cert-file", "tls-private-key-file"] as const;

function layoutOptions(b: Argv, describe: Record<(typeof LAYOUT)[number], string>): Argv {
  for (const name of LAYOUT) b.option(name, { type: name === "port" ? "number" : "string", describe: describe[name], ...(name === "config" ? { alias: "c" } : name === "cluster-id" ? { alias: "i" } : {}) });
  return b;
}

function serveCommand(y: Argv): Argv {
  return y.command(
    "serve",
    "Serve the kube-apiserver's webhooks: TokenReview (a drop-in for aws-iam-authenticator server) and SubjectAccessReview with EKS access policies, beside RBAC",
    (s) =>
      s
        .command(
          "init",
          "Write the serving certificate and key (or use given ones) and the apiserver's webhook kubeconfig(s)",
          (i) =>
            layoutOptions(i, {
                config: "aws-iam-authenticator's config file (server.port, hostname, stateDir, generateKubeconfig are read from it)",
                "cluster-id": "Cluster id (not needed to initialise; accepted as the peer's init does)",
                address: "Address the server will listen on: in the certificate unless 0.0.0.0 (default 127.0.0.1)",
                port: "Port the server will listen on, in the webhook URL (default 21362)",
                hostname: "Host name the apiserver uses to reach the server: the webhook URL's host and in the certificate (default localhost)",
                "state-dir": "Directory for cert.pem and key.pem, made when missing (default /var/aws-iam-authenticator)",
                "generate-kubeconfig": "Where to write the TokenReview webhook kubeconfig (default /etc/kubernetes/aws-iam-authenticator/kubeconfig.yaml)",
                "tls-cert-file": "Use this serving certificate (PEM) instead of the state directory's",
                "tls-private-key-file": "Its private key (PEM)",
              })
              .option("authorize-kubeconfig", { type: "string", describe: "Also write the SubjectAccessReview (access policies) webhook kubeconfig here" })
              .option("ca-file", { type: "string", describe: "CA the webhook kubeconfigs trust (default: the serving certificate itself)" })
              .example("$0 serve init --hostname 127.0.0.1 --state-dir /var/lib/eks-access --generate-kubeconfig /etc/kubernetes/eks-access/authn.yaml", "a self-signed pair and the kubeconfig for --authentication-token-webhook-config-file"),
          async (a) => {
            const { runServeInit } = await import("./commands/serve.js");
            out(await runServeInit(a as import("./commands/serve.js").ServeInitArgs));
          },
        )
        .command(
          "$0",
          "Run the server until SIGTERM/SIGINT",
          (b) =>
            layoutOptions(b, {
                config: "TokenReview: aws-iam-authenticator's config file (clusterID, server.mapRoles/mapUsers/mapAccounts, backendMode, dynamicfilepath, …); mappings reload when it changes",
                "cluster-id": "TokenReview: the cluster id tokens are signed for (x-k8s-aws-id; or clusterID in --config, or KUBERNETES_AWS_AUTHENTICATOR_CLUSTER_ID)",
                address: "Address to listen on (default 127.0.0.1)",
                port: "HTTPS port, 0 for any free one (default 21362 with the authenticator, as aws-iam-authenticator; else 21364)",
                hostname: "TokenReview: host name in the generated kubeconfig and certificate (default: the address)",
                "state-dir": "TokenReview: directory of cert.pem/key.pem, made when missing, unless --tls-cert-file (default /var/aws-iam-authenticator)",
                "generate-kubeconfig": "TokenReview: where the webhook kubeconfig is written at start (default /etc/kubernetes/aws-iam-authenticator/kubeconfig.yaml)",
                "tls-cert-file": "Serving certificate (PEM) the apiserver's webhook kubeconfig trusts",
                "tls-private-key-file": "Its private key (PEM)",
              })
              .option("partition", { type: "string", describe: "TokenReview: AWS partition whose STS hosts tokens may name (default aws)" })
              .option("backend-mode", { type: "string", describe: "TokenReview: mapping backends in order, comma-separated: MountedFile, EKSConfigMap, DynamicFile, EKSAccessEntries (default MountedFile)" })
              .option("kubeconfig", { type: "string", describe: "TokenReview: kubeconfig for the EKSConfigMap backend's watch of kube-system/aws-auth (default: in-cluster)" })
              .option("master", { type: "string", describe: "TokenReview: API server URL overriding the kubeconfig's" })
              .option("kubeconfig-pregenerated", { type: "boolean", describe: "TokenReview: do not write the webhook kubeconfig (serve init wrote it)" })
              .option("access-entries-file", {
                type: "string",
                describe: "Source 1: access entries with their policies in aws-iam-authenticator's dynamic-file format, re-read when it changes — for a cluster whose authenticator reads the same file (the sandbox writes one)",
              })
              .option("access-entries-from", {
                choices: ["eks"] as const,
                describe: "Source 2: eks = the access entries of --cluster-name read from the EKS API (ListAccessEntries, DescribeAccessEntry, ListAssociatedAccessPolicies; IAM GetRole/GetUser for unique ids), refreshed every --refresh-interval — to enforce an EKS cluster's entries on another apiserver, or against an EKS API emulator (--endpoint-url); with the authenticator also the EKSAccessEntries backend",
              })
              .option("cluster-name", { type: "string", describe: "With --access-entries-from eks: the EKS cluster whose access entries to read" })
              .option("region", { type: "string", describe: "AWS Region: of the cluster (--access-entries-from eks); with the authenticator also its own region (that STS host is accepted) and EC2's for {{EC2PrivateDNSName}} (default: AWS_REGION, AWS_DEFAULT_REGION, profile region)" })
              .option("profile", { type: "string", describe: "AWS profile for the EKS, IAM and EC2 calls (default: AWS_PROFILE or the default chain); re-resolved before it expires" })
              .option("endpoint-url", { type: "string", describe: "With --access-entries-from eks: EKS API endpoint override (as the AWS CLI's --endpoint-url; IAM: AWS_ENDPOINT_URL_IAM)" })
              .option("refresh-interval", { type: "string", describe: "With --access-entries-from eks: time between the end of one refresh and the next, e.g. 30s, 2m (default 30s); a failed refresh keeps the last good entries" })
              .option("max-token-bytes", { type: "number", describe: "TokenReview: longest token accepted, up to 16384 (default 4096, as aws-iam-authenticator)" })
              .option("sts-timeout", { type: "string", describe: "TokenReview: time for the whole STS call, e.g. 10s (default 10s); then 500 and the apiserver retries" })
              .option("token-cache-size", { type: "number", describe: "TokenReview: verified tokens kept (least recently used out first; default 10000, 0: no cache)" })
              .option("token-cache-ttl", { type: "string", describe: "TokenReview: longest a verified token is kept, never past its own expiry (default 5m)" })
              .option("sts-limit-per-principal", { type: "string", describe: "TokenReview: STS calls per access key id, RATE[,BURST] per second (default 10,50); over it: 429" })
              .option("sts-limit-global", { type: "string", describe: "TokenReview: STS calls in all, RATE[,BURST] per second (default 100,200); over it: 429" })
              .option("sts-max-concurrent", { type: "number", describe: "TokenReview: STS calls under way at once (default 64); over it: 429" })
              .option("match-role-paths", { type: "boolean", describe: "TokenReview, beyond the peer: a mapping written with the role's path matches (IAM GetRole; aws-iam-authenticator #268)" })
              .option("match-iam-groups", { type: "boolean", describe: "TokenReview, beyond the peer: a mapping for an IAM group ARN matches its users (IAM GetUser, ListGroupsForUser; cached 60s)" })
              .option("match-sso-permission-sets", { type: "boolean", describe: "TokenReview, beyond the peer: a mapping for AWSReservedSSO_<PermissionSet>_<suffix> matches that permission set's role with any suffix (IAM GetRole checks the /aws-reserved/sso.amazonaws.com/ path)" })
              .option("shutdown-grace", { type: "string", describe: "TokenReview: on SIGTERM, how long reviews in flight may take to finish (default 20s)" })
              .option("log-format", { alias: "l", choices: ["json", "text"] as const, describe: "Accepted for aws-iam-authenticator's flag: the log is JSON lines either way" })
              .option("log-level", { choices: ["debug", "info", "warn", "error"] as const, describe: "TokenReview: least severe log lines written (default info)" })
              .example("$0 serve --config /etc/aws-iam-authenticator/config.yaml --state-dir /var/aws-iam-authenticator --kubeconfig-pregenerated", "in place of aws-iam-authenticator server, same config file and state directory")
              .example("$0 serve --cluster-id prod --backend-mode EKSConfigMap --kubeconfig admin.kubeconfig --tls-cert-file serve.crt --tls-private-key-file serve.key --port 0", "mappings from kube-system/aws-auth, watched")
              .example("$0 serve --tls-cert-file serve.crt --tls-private-key-file serve.key --access-entries-file access-entries.json", "only the authorizer: kube-apiserver --authorization-mode=Node,RBAC,Webhook --authorization-webhook-config-file=<kubeconfig with https://127.0.0.1:21364/authorize>")
              .example("$0 serve --tls-cert-file serve.crt --tls-private-key-file serve.key --access-entries-from eks --cluster-name prod --region eu-west-1", "the entries of EKS cluster prod, refreshed every 30s")
              .epilogue(
                "The TokenReview authenticator is on with --config or --cluster-id: POST /authenticate answers as aws-iam-authenticator v0.6.13 would (username, uid, groups, extra; 403 for a bad token or an unmapped identity, 429 when STS throttles, 500 when STS fails, with the reason in a Status the apiserver logs), plus GET /readyz (every backend loaded) and /metrics. The authorizer is on when there are access entries: give at most one source (or, with the authenticator, the config's server.dynamicfilepath is used). Allowed requests answer allowed with the policy as reason; everything else gets no opinion, so RBAC keeps deciding. Impersonated users get nothing from access policies, as on EKS. The EKS source makes at most 4 calls at once, looks each entry's unique id up in IAM once, and leaves out entries whose principal was deleted or re-created after the entry (EKS binds an entry to the unique id it had).",
              ),
          async (a) => {
            const { runServe } = await import("./commands/serve.js");
            const bm = a["backend-mode"] as string | string[] | undefined;
            await runServe({ ...(a as import("./commands/serve.js").ServeArgs), "backend-mode": bm === undefined ? undefined : ([] as string[]).concat(bm) }, (l) => void process.stderr.write(`${l}\n`));
          },
        ),
    () => {},
  );
}

/** Options every access command shares: which cluster, as whom, through which kubeconfig (aws-auth). */
function clusterTarget(b: Argv): Argv {
  return b
    .option("cluster", { type: "string", demandOption: true, describe: "Name of the EKS cluster" })
    .option("region", { type: "string", describe: "AWS Region of the cluster (default: AWS_REGION, AWS_DEFAULT_REGION, profile region)" })
    .option("profile", { type: "string", describe: "AWS profile to act as (default: AWS_PROFILE or the default chain)" })
    .option("endpoint-url", { type: "string", describe: "EKS API endpoint override (as the AWS CLI's --endpoint-url)" })
    .option("kubeconfig", { type: "string", describe: "kubeconfig to reach the cluster for aws-auth (default: KUBECONFIG, ~/.kube/config; none needed: without a context for the cluster it is reached at its endpoint with your AWS credentials)" })
    .option("context", { type: "string", describe: "kubeconfig context for aws-auth; must point at the cluster (default: a context whose server is the cluster's endpoint, the current one first)" });
}

function clusterOptions(b: Argv): Argv {
  return clusterTarget(b).option("output", { alias: "o", choices: ["text", "json"] as const, default: "text" as const, describe: "text for people, json for scripts" });
}

function principalOptions(b: Argv): Argv {
  return b
    .option("principal", { type: "string", describe: "Role or user ARN (with or without path), assumed-role session ARN, or a role/user name" })
    .option("me", { type: "boolean", describe: "The caller (a session becomes its role)" })
    .option("permission-set", { type: "string", describe: "IAM Identity Center permission set (name or ARN): its provisioned AWSReservedSSO_ role in each account" })
    .option("account", { type: "string", array: true, describe: "With --permission-set: account id (repeatable)" })
    .option("all-accounts", { type: "boolean", describe: "With --permission-set: every account it is provisioned in" })
    .option("instance-arn", { type: "string", describe: "With --permission-set: the IAM Identity Center instance, when there are several" })
    .option("lookup-role", { type: "string", describe: "Role assumed to read IAM in other accounts (default OrganizationAccountAccessRole)" })
    .option("backend", { choices: ["auto", "aws-auth", "access-entry"] as const, default: "auto" as const, describe: "auto: aws-auth on CONFIG_MAP clusters, access entries otherwise" })
    .option("group", { type: "string", array: true, describe: "Kubernetes group (repeatable), bound by your RBAC" })
    .option("policy", { type: "string", describe: "EKS access policy: View, Edit, Admin, ClusterAdmin, AdminView or its ARN" })
    .option("dry-run", { type: "boolean", default: false, describe: "Show what would change (aws-auth: a diff; access entries: the AWS CLI commands) and change nothing" });
}

function grantCommands(y: Argv): Argv {
  return y
    .command(
      "grant",
      "Give an IAM or IAM Identity Center identity access to a cluster (aws-auth or access entry, by the cluster's mode)",
      (b) =>
        principalOptions(clusterOptions(b))
          .option("namespace", { type: "string", array: true, describe: "With --policy: scope it to these namespaces (repeatable; default cluster-wide)" })
          .option("username", { type: "string", describe: "Kubernetes username (default: EKS's own for access entries, <role>:{{SessionName}} for aws-auth)" })
          .option("username-template", { choices: ["session", "session-raw", "eks"] as const, describe: "session: <role>:{{SessionName}}; session-raw: <role>:{{SessionNameRaw}} (keeps an e-mail's @); eks: EKS's default" })
          .option("force", { type: "boolean", default: false, describe: "aws-auth: edit the keys that parse although another does not (that one is left as it is), or change a node role's username" })
          .example("$0 grant --cluster prod --principal arn:aws:sts::111122223333:assumed-role/dev/alice --policy View --namespace team-a", "the session's role, View in team-a")
          .example("$0 grant --cluster prod --permission-set EKSAdmin --all-accounts --policy ClusterAdmin", "the SSO role of a permission set, in every account")
          .example("$0 grant --cluster prod --principal dev --group devs --dry-run", "preview (role name looked up in IAM)")
          .epilogue("The principal is written in the form each system needs: aws-auth gets the role ARN without its path, access entries the IAM ARN as is. Grants are idempotent and keep the entry's other groups and policies."),
      async (a) => {
        const { runGrant } = await import("./commands/access.js");
        out(await runGrant(a as never));
      },
    )
    .command(
      "revoke",
      "Take an identity's access away (its access entry and/or aws-auth rows), with lockout guards",
      (b) =>
        principalOptions(clusterOptions(b))
          .option("force", { type: "boolean", default: false, describe: "Allow removing your own access, the last cluster admin or a node role; aws-auth: edit the keys that parse although another does not (that one is left as it is)" })
          .example("$0 revoke --cluster prod --principal arn:aws:iam::111122223333:role/dev", "remove all of dev's access")
          .example("$0 revoke --cluster prod --principal dev --policy View", "only one access policy")
          .epilogue("With --backend auto on an API_AND_CONFIG_MAP cluster, both systems are cleaned: an aws-auth row left behind would keep the identity in."),
      async (a) => {
        const { runRevoke } = await import("./commands/access.js");
        out(await runRevoke(a as never));
      },
    );
}

/** Options of the commands that read both identity systems (access list/check, migrate, auth-mode set). */
function snapshotOptions(b: Argv, outputs: readonly string[] = ["text", "json", "yaml"]): Argv {
  return clusterTarget(b)
    .option("output", { alias: "o", choices: outputs, default: outputs[0], describe: `${outputs[0]} for people, json or yaml for scripts` })
    .option("lookup-role", { type: "string", describe: "Role assumed to read IAM of accounts other than yours, for principals there (default OrganizationAccountAccessRole)" })
    .option("concurrency", { type: "number", describe: "EKS and IAM calls in flight at most while reading (default 4)" });
}

/** What a report command prints, then its exit code, then the error that ends it (one line on stderr). */
async function report(run: Promise<{ text: string; code: number; error?: EksAccessError | undefined }>): Promise<void> {
  const r = await run;
  out(r.text);
  process.exitCode = r.code;
  if (r.error) throw r.error;
}

function accessCommands(y: Argv): Argv {
  const load = () => import("./commands/access-report.js");
  return y.command("access", "Who can reach a cluster through aws-auth and access entries, what is wrong, and re-pointing stale grants", (c) =>
    c
      .command(
        "list",
        "Everyone who can authenticate, from both systems: principal, source, username, groups, policies, whether the authenticator uses it, its problems",
        (b) =>
          snapshotOptions(b, ["table", "json", "yaml"])
            .example("$0 access list --cluster prod --region eu-west-1", "one table of aws-auth rows and access entries")
            .example("$0 access list --cluster prod -o json | jq '.rows[] | select(.used == \"no\")'", "mappings that do nothing")
            .epilogue(
              "USED says whether the authenticator uses the row or entry for its principal: access entries come first (API_AND_CONFIG_MAP), the last aws-auth duplicate wins, nothing from aws-auth counts in API mode, and an entry whose IAM principal was deleted or re-created matches no one (EKS binds entries to the principal's unique id). Reads ListAccessEntries, DescribeAccessEntry, ListAssociatedAccessPolicies, kube-system/aws-auth and IAM GetRole/GetUser; changes nothing.",
            ),
        async (a) => report((await load()).runAccessList(a as never)),
      )
      .command(
        "check",
        "Every problem of aws-auth and the access entries, with its cause and the command that fixes it; exit 1 when any error or warning is found (for CI)",
        (b) =>
          snapshotOptions(b)
            .example("$0 access check --cluster prod --region eu-west-1", "fails the CI job when something is wrong")
            .epilogue("Finds aws-auth's own problems (as eks-access aws-auth check does), access entries that match no one (principal deleted or re-created after the entry), aws-auth rows an access entry shadows with another identity, and rows naming principals IAM does not have. Notes (info) do not fail the check."),
        async (a) => report((await load()).runAccessCheck(a as never)),
      )
      .command(
        "reconcile",
        "Re-point grants that stopped matching: permission-set roles whose suffix changed, access entries of deleted and re-created principals",
        (b) =>
          clusterOptions(b)
            .option("lookup-role", { type: "string", describe: "Role assumed to read IAM in other accounts (default OrganizationAccountAccessRole)" })
            .option("dry-run", { type: "boolean", default: false, describe: "Show what would change (aws-auth: a diff; access entries: the AWS CLI commands) and change nothing" })
            .example("$0 access reconcile --cluster prod --dry-run", "what is stale, and the commands that fix it")
            .epilogue(
              "An IAM Identity Center assignment that is deleted and made again gets a new AWSReservedSSO_<PermissionSet>_<suffix> role: aws-auth rows and access entries naming the old role are pointed at the new one, keeping their groups and policies (a username spelling the old role name follows it). An access entry whose role or user was deleted and re-created matches no one (EKS keeps the old unique id): it is deleted and created again with the same username, groups and policies. aws-auth is written conflict-safe with a backup first; running it again changes nothing.",
            ),
        async (a) => {
          const { runReconcile } = await import("./commands/reconcile.js");
          out(await runReconcile(a as never));
        },
      )
      .demandCommand(1, "choose an access subcommand: list, check, reconcile"),
  );
}

function migrateCommand(y: Argv): Argv {
  const load = () => import("./commands/access-report.js");
  return y.command("migrate", "Move aws-auth's identities to access entries: plan, apply, verify, then auth-mode set API", (c) =>
    c
      .command(
        "plan",
        "What each aws-auth row becomes as an access entry, what is done already, and what cannot be migrated and why; changes nothing",
        (b) =>
          snapshotOptions(b)
            .example("$0 migrate plan --cluster prod --region eu-west-1", "review before apply")
            .epilogue(
              "system:masters becomes AmazonEKSClusterAdminPolicy (cluster-wide); node roles become EC2_LINUX / EC2_WINDOWS (eks:kube-proxy-windows) / FARGATE_LINUX (system:node-proxier) / HYBRID_LINUX entries; other groups stay Kubernetes groups bound by your RBAC. mapAccounts, other system: groups, group templates and usernames access entries can't hold are reported, not changed. The last aws-auth row for an ARN wins; role paths come from IAM.",
            ),
        async (a) => report((await load()).runMigratePlan(a as never)),
      )
      .command(
        "apply",
        "Create the planned access entries (idempotent; after a failure, re-running continues); aws-auth is left as it is",
        (b) =>
          snapshotOptions(b)
            .option("dry-run", { type: "boolean", default: false, describe: "Show the plan and the AWS CLI commands, change nothing" })
            .example("$0 migrate apply --cluster prod --region eu-west-1 --dry-run", "the AWS CLI commands it would run")
            .epilogue("Needs the cluster in API_AND_CONFIG_MAP mode (eks-access auth-mode set API_AND_CONFIG_MAP). Existing entries are never overwritten: one that differs from its aws-auth row is reported and kept."),
        async (a) => report((await load()).runMigrateApply(a as never)),
      )
      .command(
        "verify",
        "Prove each migrated principal gets the same username and groups from its access entry as from aws-auth; exit 1 when not",
        (b) =>
          snapshotOptions(b)
            .example("$0 migrate verify --cluster prod --region eu-west-1 && eks-access auth-mode set API --cluster prod --region eu-west-1", "switch only once proven")
            .epilogue("Resolves a session of each principal the way aws-iam-authenticator does, once from aws-auth alone and once from the live access entries alone (the cluster before and after the switch to API)."),
        async (a) => report((await load()).runMigrateVerify(a as never)),
      )
      .demandCommand(1, "choose a migrate subcommand: plan, apply, verify"),
  );
}

function authModeCommand(y: Argv): Argv {
  return y.command("auth-mode", "Change a cluster's EKS authentication mode (one way: CONFIG_MAP → API_AND_CONFIG_MAP → API)", (c) =>
    c
      .command(
        "set <mode>",
        "Switch to API_AND_CONFIG_MAP or API after explaining the one-way rule; refuses API while aws-auth gives identities no access entry stands in for",
        (b) =>
          snapshotOptions(b.positional("mode", { choices: ["API_AND_CONFIG_MAP", "API"] as const, describe: "API_AND_CONFIG_MAP (access entries, then aws-auth) or API (access entries only)" }))
            .option("force", { type: "boolean", default: false, describe: "Switch to API even though aws-auth identities without an access entry lose access" })
            .option("dry-run", { type: "boolean", default: false, describe: "Explain and list what would be lost, change nothing" })
            .option("wait", { type: "boolean", default: true, describe: "Follow the update (DescribeUpdate) until it is done; --no-wait prints its id" })
            .example("$0 auth-mode set API_AND_CONFIG_MAP --cluster prod --region eu-west-1", "access entries on, aws-auth still read")
            .example("$0 auth-mode set API --cluster prod --region eu-west-1 --dry-run", "who would lose access")
            .epilogue("EKS never changes a cluster back to an earlier mode. Migrate first: eks-access migrate plan|apply|verify."),
        async (a) => report((await import("./commands/access-report.js")).runAuthModeSet(a as never)),
      )
      .demandCommand(1, "choose an auth-mode subcommand: set"),
  );
}

function awsAuthCommand(y: Argv): Argv {
  return y.command("aws-auth", "Work with the kube-system/aws-auth ConfigMap", (c) =>
    c
      .command(
        "check",
        "Report every problem of an aws-auth ConfigMap (offline) with the command that fixes it; exit 1 when any error or warning is found",
        (b) =>
          b
            .option("file", { type: "string", demandOption: true, describe: "The ConfigMap as YAML or JSON (kubectl -n kube-system get configmap aws-auth -o yaml); --file=- reads stdin" })
            .option("cluster", { type: "string", describe: "Cluster name the fix commands use (default: CLUSTER)" })
            .option("region", { type: "string", describe: "Region the fix commands use" })
            .option("output", { alias: "o", choices: ["text", "json"] as const, default: "text" as const, describe: "text for people, json for scripts" })
            .example("kubectl -n kube-system get configmap aws-auth -o yaml | $0 aws-auth check --file=- --cluster prod", "check a live cluster's aws-auth"),
        async (a) => {
          const { runAwsAuthCheck } = await import("./commands/aws-auth.js");
          const r = runAwsAuthCheck(a);
          out(r.text);
          process.exitCode = r.code;
        },
      )
      .command(...awsAuthRestoreCommand())
      .demandCommand(1, "choose an aws-auth subcommand: check, restore"),
  );
}

/** `aws-auth restore`: its own function (the aws-auth parent lists it). */
function awsAuthRestoreCommand(): [string, string, (b: Argv) => Argv, (a: Record<string, unknown>) => Promise<void>] {
  return [
    "restore",
    "Bring kube-system/aws-auth back to a backup eks-access took before a change (default: the newest of this cluster's context)",
    (b) =>
      clusterOptions(b)
        .option("backup", { type: "string", describe: "Backup file to restore (default: the newest one of the cluster's kubeconfig context)" })
        .option("list", { type: "boolean", default: false, describe: "List this context's backups, newest first, and change nothing" })
        .option("dry-run", { type: "boolean", default: false, describe: "Show the unified diff the restore would apply and change nothing" })
        .example("$0 aws-auth restore --cluster prod --dry-run", "what undoing the last change would do")
        .example("$0 aws-auth restore --cluster prod --backup ~/.eks-access/backups/prod/aws-auth-20250102T030405.678Z.yaml", "a given backup")
        .epilogue(
          "Every change eks-access makes to aws-auth first saves the ConfigMap to a 0600 backup and prints its path. A restore is itself such a change: conflict-safe (re-read and re-applied if someone writes in between) and backed up first, so it can be undone the same way. Only the data is restored, byte for byte.",
        ),
    async (a) => {
      const { runAwsAuthRestore } = await import("./commands/aws-auth-restore.js");
      out(await runAwsAuthRestore(a as never));
    },
  ];
}

type SandboxCliArgs = { dir?: string; keep?: boolean; authenticator?: string };

const AUTHENTICATOR_OPTION = {
  choices: ["eks-access", "aws-iam-authenticator"] as const,
  describe: "The cluster's TokenReview webhook: eks-access serve (default) or the real aws-iam-authenticator v0.6.13, started with the same config file, flags and inputs",
};

function sandboxCommand(y: Argv): Argv {
  const load = () => import("./commands/sandbox.js");
  return y.command("sandbox", "A local AWS account + EKS cluster on this machine (no AWS account needed)", (s) =>
    s
      .option("dir", { type: "string", describe: "State directory (default: ~/.cache/eks-access/sandbox, or EKS_ACCESS_SANDBOX_DIR)" })
      .command(
        "up",
        "Start moto, the STS verifier, etcd, kube-apiserver and eks-access serve (or aws-iam-authenticator) in the background",
        (u) =>
          u
            .option("auth-mode", { choices: ["CONFIG_MAP", "API_AND_CONFIG_MAP", "API"] as const, default: "API_AND_CONFIG_MAP" as const, describe: "The cluster's EKS authentication mode: aws-auth only, access entries then aws-auth, or access entries only" })
            .option("authenticator", AUTHENTICATOR_OPTION)
            .example("$0 sandbox up --authenticator aws-iam-authenticator", "the reference peer as the token webhook (eks-access serve still enforces access policies)"),
        async (a) => out(await (await load()).sandboxUp(a as SandboxCliArgs)),
      )
      .command("down", "Stop everything the sandbox started", {}, async (a) => out(await (await load()).sandboxDown(a as SandboxCliArgs)))
      .command("env", 'Print shell exports for aws, eks-access and kubectl: eval "$(eks-access sandbox env)"', (e) => e.option("unset", { type: "boolean", default: false, describe: 'Print the lines that restore the shell as it was: eval "$(eks-access sandbox env --unset)"' }), async (a) => out(await (await load()).sandboxEnv(a)))
      .command(
        "demo",
        "Run seed 001 (IAM user → role → aws-auth → kubeconfig → kubectl) against the sandbox",
        (d) => d.option("keep", { type: "boolean", default: false, describe: "Leave the sandbox running afterwards" }).option("authenticator", { ...AUTHENTICATOR_OPTION, describe: `When the demo starts the sandbox: ${AUTHENTICATOR_OPTION.describe}` }),
        async (a) => out(await (await load()).sandboxDemo(a)),
      )
      .command("daemon", false, (d) => d.option("auth-mode", { type: "string" }).option("authenticator", { type: "string" }), async (a) => out(await (await load()).sandboxDaemon(a as SandboxCliArgs)))
      .demandCommand(1, "choose a sandbox subcommand: up, down, env, demo")
      .example("$0 sandbox demo", "the whole IAM-role walkthrough on a local cluster")
      .example('$0 sandbox up && eval "$($0 sandbox env)" && kubectl auth whoami', "use it yourself"),
  );
}

/** `argv` has the command words first (main.ts: commandFirst). */
export async function runCli(argv: string[], deps: CliDeps): Promise<number> {
  const command = commandPath(argv);
  const seeHelp = `see eks-access ${command.length > 0 ? `${command.join(" ")} ` : ""}--help`;
  requireValues(argv.slice(command.length), valueFlagsOf(command), command.join(" "));
  const app = yargs(argv)
    .scriptName("eks-access")
    .usage("$0 <command> [options]\n\nReach Amazon EKS clusters with AWS IAM and IAM Identity Center identities.")
    .version(VERSION)
    .strict()
    .recommendCommands()
    .demandCommand(1, "choose a command")
    .completion("completion", "Print a bash/zsh completion script: eks-access completion >> ~/.bashrc")
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      // A command's own error passes through unchanged (its kind and exit code); only yargs'
      // validation messages are usage errors. Must throw: a fail handler that returns lets yargs
      // go on to run the command's handler.
      if (err && (EksAccessError.is(err) || err.name !== "YError")) throw err;
      throw usageError((msg ?? err?.message ?? "invalid arguments").replace(/:?\s*\n\s*/g, ": ").trim(), seeHelp);
    })
    .option("debug", { type: "boolean", global: true, describe: "Print what was resolved (profile, region, credential source, cache files, endpoints) and error stack traces on stderr; never a secret (or EKS_ACCESS_DEBUG=1)" })
    .help();
  tokenCommand(app, argv, deps);
  kubeconfigCommand(app);
  whoamiCommand(app);
  cacheCommand(app);
  serveCommand(app);
  grantCommands(app);
  accessCommands(app);
  migrateCommand(app);
  authModeCommand(app);
  awsAuthCommand(app);
  sandboxCommand(app);
  await app.parseAsync(); // errors propagate to main's reportError
  return typeof process.exitCode === "number" ? process.exitCode : 0;
}
