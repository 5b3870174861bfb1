/** Username/group templates as aws-iam-authenticator v0.6.13 renders them, and what access entries accept. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ACCESS_ENTRY_TEMPLATES, accessEntryGroupProblem, accessEntryUsernameProblem, placeholdersIn, renderTemplate, templateProblem, TEMPLATE_PLACEHOLDERS } from "../../src/core/mapping/templates.js";

const alice = { accountId: "111122223333", sessionName: "alice@example.com", accessKeyId: "ASIAEXAMPLE" };

test("render: each placeholder, replaced everywhere, SessionName with @ → -", () => {
  const table: Array<[string, string]> = [
    ["admin:{{SessionName}}", "admin:alice-example.com"],
    ["admin:{{SessionNameRaw}}", "admin:alice@example.com"],
    ["{{AccountID}}:{{AccessKeyID}}", "111122223333:ASIAEXAMPLE"],
    ["{{SessionName}}/{{SessionName}}", "alice-example.com/alice-example.com"],
    ["plain", "plain"],
    ["{{sessionname}} {{ SessionName }} {SessionName}", "{{sessionname}} {{ SessionName }} {SessionName}"],
  ];
  for (const [t, want] of table) assert.deepEqual(renderTemplate(t, alice), { ok: true, value: want }, t);
  assert.deepEqual(renderTemplate("u:{{SessionName}}", { ...alice, sessionName: "" }), { ok: true, value: "u:" });
});

test("render: {{EC2PrivateDNSName}} needs an instance-id session (^i-(\\w{8}|\\w{17})$) and the DescribeInstances answer", () => {
  const node = { ...alice, sessionName: "i-0123456789abcdef0", ec2PrivateDnsName: "ip-10-0-0-1.ec2.internal" };
  assert.deepEqual(renderTemplate("system:node:{{EC2PrivateDNSName}}", node), { ok: true, value: "system:node:ip-10-0-0-1.ec2.internal" });
  assert.deepEqual(renderTemplate("system:node:{{EC2PrivateDNSName}}", { ...node, sessionName: "i-01234567" }), { ok: true, value: "system:node:ip-10-0-0-1.ec2.internal" });
  assert.deepEqual(renderTemplate("system:node:{{EC2PrivateDNSName}}", alice), { ok: false, error: "SessionName did not contain an instance id" });
  assert.deepEqual(renderTemplate("system:node:{{EC2PrivateDNSName}}", { ...node, sessionName: "i-0123" }), { ok: false, error: "SessionName did not contain an instance id" });
  const offline = renderTemplate("system:node:{{EC2PrivateDNSName}}", { ...node, ec2PrivateDnsName: undefined });
  assert.equal(offline.ok, false);
});

test("validate: unknown or near-miss placeholders are refused in one line naming the allowed ones", () => {
  for (const ok of ["admin", "a:{{SessionName}}", "{{AccountID}}-{{AccessKeyID}}-{{SessionNameRaw}}", "system:node:{{EC2PrivateDNSName}}"]) assert.equal(templateProblem(ok), undefined, ok);
  assert.equal(
    templateProblem("a:{{Session}}"),
    'unknown template {{Session}} in "a:{{Session}}": the authenticator replaces only {{EC2PrivateDNSName}}, {{AccountID}}, {{SessionName}}, {{SessionNameRaw}}, {{AccessKeyID}}, exactly as written (case-sensitive, no spaces), and leaves anything else as typed',
  );
  assert.match(templateProblem("a:{{sessionName}}")!, /^unknown template \{\{sessionName\}\} in "a:\{\{sessionName\}\}" \(\{\{sessionName\}\} → \{\{SessionName\}\}\)/);
  assert.match(templateProblem("a:{AccountID}")!, /unknown template \{AccountID\}.*→ \{\{AccountID\}\}/);
  assert.match(templateProblem("a:{{ AccessKeyID }}")!, /→ \{\{AccessKeyID\}\}/);
  for (const bad of ["{{x}}", "{{SessionName}}{{Foo}}"]) assert.doesNotMatch(templateProblem(bad)!, /\n/);
  assert.deepEqual(placeholdersIn("{{a}}b{{SessionName}}"), ["{{a}}", "{{SessionName}}"]);
  assert.equal(TEMPLATE_PLACEHOLDERS.length, 5);
});

test("access entries: {{SessionName}}/{{SessionNameRaw}} after a colon only, no reserved prefixes, no group templates", () => {
  assert.deepEqual(ACCESS_ENTRY_TEMPLATES.usernamePlaceholders, ["{{SessionName}}", "{{SessionNameRaw}}"]);
  for (const ok of ["dev:{{SessionName}}", "arn:aws:sts::1:assumed-role/R/{{SessionName}}", "jo:hn{{SessionNameRaw}}", "alice"]) assert.equal(accessEntryUsernameProblem(ok), undefined, ok);
  assert.match(accessEntryUsernameProblem("john{{SessionName}}")!, /needs a colon before \{\{SessionName\}\}/);
  assert.match(accessEntryUsernameProblem("system:node:{{EC2PrivateDNSName}}")!, /starts with system:/);
  assert.match(accessEntryUsernameProblem("a:{{AccountID}}")!, /uses \{\{AccountID\}\}: access entries accept only \{\{SessionName\}\} and \{\{SessionNameRaw\}\}/);
  assert.match(accessEntryUsernameProblem("amazon:x")!, /can't start with system:, eks:, aws:, amazon:, iam:/);
  assert.match(accessEntryGroupProblem("system:masters")!, /starts with system:/);
  assert.match(accessEntryGroupProblem("team-{{AccountID}}")!, /take no templates/);
  assert.equal(accessEntryGroupProblem("devs"), undefined);
});
