/**
 * kube-system/aws-auth: its data strings (mapRoles, mapUsers, mapAccounts) read as
 * aws-iam-authenticator v0.6.13 reads them, and edited so that only the rows an edit touches change.
 * Pure (the `yaml` package's Document API, no I/O).
 *
 * Reading follows pkg/mapper/configmap/configmap.go `ParseMap`:
 *  - the three keys are case-sensitive (`maproles` is ignored); a value that is blank, ``, "" or ''
 *    is skipped (`isSkippable`);
 *  - mapRoles/mapUsers go YAML → JSON (sigs.k8s.io/yaml over yaml.v2, so YAML 1.1 scalars: `yes` is a
 *    boolean, `0123` an octal number) → encoding/json into []RoleMapping / []UserMapping: field names
 *    match case-insensitively (`roleARN` is `rolearn`), unknown fields are ignored, a value of the
 *    wrong type is dropped (the rest of the row still loads), a key that fails to parse as YAML, or
 *    is not a list, loads nothing; with two spellings of one field the one sorting last wins (the
 *    JSON object's keys are sorted), with the same spelling twice the last one;
 *  - mapAccounts is yaml.v2 into []string: each item's text as written.
 * The authenticator keeps every row, even duplicates: its lookup maps are keyed by the lower-cased
 * ARN and filled in order, so the last row for an ARN wins (`MapStore.saveMap`).
 *
 * Editing splices text: untouched rows, comments, blank lines, quoting and the other keys stay
 * byte-identical. An updated row keeps its own layout; only the values that change are rewritten
 * (a rewritten group list loses comments that were inside it). New rows copy the style of the last
 * row (indentation, key order and spelling, quoting, block or flow groups); a new key is written as
 * EKS and eksctl write it (block list, keys sorted: groups, rolearn/userarn, username).
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, stringify, type Document, type Pair, type Scalar, type YAMLMap, type YAMLSeq } from "yaml";

export type AwsAuthKey = "mapRoles" | "mapUsers" | "mapAccounts";
export type MappingKind = "mapRoles" | "mapUsers";
export const AWS_AUTH_KEYS: readonly AwsAuthKey[] = ["mapRoles", "mapUsers", "mapAccounts"];

/** One row as the authenticator reads it. */
export interface AwsAuthRow {
  kind: AwsAuthKey;
  /** position in its key's list, from 0 */
  index: number;
  /** mapRoles: rolearn, mapUsers: userarn (undefined when the authenticator reads none) */
  arn?: string | undefined;
  /** mapAccounts: the account id as written */
  account?: string | undefined;
  username?: string | undefined;
  groups: string[];
  /** mapRoles/mapUsers: userid (the ConfigMap backend ignores it) */
  userid?: string | undefined;
  /** 1-based line, within that key's string, where the row starts (its `-`) */
  line: number;
  /** the row's keys as written, in order */
  keys: string[];
}

export type AwsAuthIssueCode =
  | "yaml-syntax"
  | "not-a-list"
  | "row-not-a-map"
  | "field-type"
  | "duplicate-field"
  | "unknown-field"
  | "arn-key-mismatch"
  | "top-key-case";

/** Something in the data the authenticator ignores or reads differently than it looks. */
export interface AwsAuthIssue {
  code: AwsAuthIssueCode;
  key: string;
  line: number;
  /** the row's index, for row-level issues */
  index?: number | undefined;
  message: string;
}

export interface ParsedAwsAuth {
  /** mapRoles rows, then mapUsers rows, then mapAccounts, each in order */
  rows: AwsAuthRow[];
  issues: AwsAuthIssue[];
}

/** A mapping to write: the ARN as aws-auth must hold it (role ARNs without their path). */
export interface Mapping {
  arn: string;
  username: string;
  groups: readonly string[];
  /** default: mapUsers for an IAM user ARN, else mapRoles */
  kind?: MappingKind | undefined;
}

export type EditRefused = { ok: false; key: AwsAuthKey; line: number; message: string };

export type UpsertResult =
  | {
      ok: true;
      data: Record<string, string>;
      kind: MappingKind;
      action: "added" | "updated" | "unchanged";
      /** earlier rows for the same ARN (they never counted: the last row wins), removed so one row remains */
      removedDuplicates: AwsAuthRow[];
    }
  | EditRefused;

export type RemoveResult = { ok: true; data: Record<string, string>; removed: AwsAuthRow[] } | EditRefused;

// ─── reading ────────────────────────────────────────────────────────────────────────────────────

const FIELDS: Record<MappingKind, readonly string[]> = {
  mapRoles: ["rolearn", "username", "groups", "userid"],
  mapUsers: ["userarn", "username", "groups", "userid"],
};
const arnField = (kind: MappingKind): string => (kind === "mapRoles" ? "rolearn" : "userarn");
const otherArnField = (kind: MappingKind): string => (kind === "mapRoles" ? "userarn" : "rolearn");

/** configmap.go isSkippable */
export function isSkippable(text: string): boolean {
  const t = text.trim();
  return t === "" || t === "``" || t === '""' || t === "''";
}

interface Loaded {
  text: string;
  doc: Document.Parsed;
  lc: LineCounter;
  eol: string;
}

function load(text: string): Loaded {
  const lc = new LineCounter();
  const doc = parseDocument(text, { version: "1.1", uniqueKeys: false, lineCounter: lc, prettyErrors: true });
  return { text, doc, lc, eol: text.includes("\r\n") ? "\r\n" : "\n" };
}

const lineOf = (l: Loaded, offset: number): number => l.lc.linePos(Math.max(0, Math.min(offset, l.text.length))).line;
const colOf = (l: Loaded, offset: number): number => l.lc.linePos(offset).col - 1;

/** The first error of a document, as {line, message} (one line). */
function firstError(l: Loaded): { line: number; message: string } | undefined {
  const e = l.doc.errors[0];
  if (!e) return undefined;
  const line = e.linePos?.[0]?.line ?? lineOf(l, e.pos[0]);
  return { line, message: e.message.split(/ at line \d+|:\n/)[0]!.trim() };
}

/** A scalar as yaml.v2 hands it to encoding/json: a string, or why it is not one. */
function scalarString(node: unknown): { value: string | undefined; type?: string } {
  if (!isScalar(node)) return { value: undefined, type: isSeq(node) ? "a list" : isMap(node) ? "a map" : "not a scalar" };
  const v = node.value;
  if (v === null || v === undefined) return { value: undefined }; // JSON null: the field stays empty, no error
  if (typeof v === "string") return { value: v };
  // yaml.v2 keeps timestamps as strings for interface{} targets, and has no sexagesimal numbers
  if (v instanceof Date || (typeof v === "number" && typeof node.source === "string" && node.source.includes(":"))) return { value: node.source ?? String(v) };
  return { value: undefined, type: typeof v === "boolean" ? `the boolean ${node.source ?? String(v)}` : `the number ${node.source ?? String(v)}` };
}

interface RowFields {
  /** chosen pair per lower-cased field name (the one the authenticator ends up with) */
  chosen: Map<string, Pair>;
  /** all pairs per lower-cased field name */
  all: Map<string, Pair[]>;
  keys: string[];
}

function rowFields(map: YAMLMap): RowFields {
  const all = new Map<string, Pair[]>();
  const keys: string[] = [];
  for (const pair of map.items) {
    const k = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    keys.push(k);
    const f = k.toLowerCase();
    all.set(f, [...(all.get(f) ?? []), pair]);
  }
  const chosen = new Map<string, Pair>();
  for (const [f, pairs] of all) {
    // the same spelling twice: the last (yaml.v2 map); different spellings: the one sorting last (json.Marshal sorts keys)
    let best = pairs[0]!;
    for (const p of pairs.slice(1)) {
      const a = keyText(best);
      const b = keyText(p);
      if (b === a || b > a) best = p;
    }
    chosen.set(f, best);
  }
  return { chosen, all, keys };
}

const keyText = (p: Pair): string => (isScalar(p.key) ? String(p.key.value) : String(p.key));

function itemStart(item: unknown, seq: YAMLSeq): number {
  const r = (item as { range?: [number, number, number] } | null)?.range;
  return r ? r[0] : (seq.range?.[0] ?? 0);
}

/** The `-` of a block sequence item (the item's node starts after it). */
function dashOf(l: Loaded, item: unknown, seq: YAMLSeq): number {
  let i = itemStart(item, seq) - 1;
  while (i >= 0 && /\s/.test(l.text[i]!)) i--;
  return i >= 0 && l.text[i] === "-" ? i : itemStart(item, seq);
}

function parseMappingKey(kind: MappingKind, text: string, rows: AwsAuthRow[], issues: AwsAuthIssue[]): void {
  if (isSkippable(text)) return;
  const l = load(text);
  const err = firstError(l);
  if (err) {
    issues.push({ code: "yaml-syntax", key: kind, line: err.line, message: `${kind} line ${err.line}: ${err.message} — the authenticator ignores all of ${kind}` });
    return;
  }
  const seq = l.doc.contents;
  if (seq === null) return; // only comments: JSON null, nothing loaded
  if (!isSeq(seq)) {
    issues.push({ code: "not-a-list", key: kind, line: lineOf(l, (seq as { range?: number[] }).range?.[0] ?? 0), message: `${kind} is not a list — the authenticator ignores all of ${kind}` });
    return;
  }
  seq.items.forEach((item, index) => {
    const line = lineOf(l, seq.flow ? itemStart(item, seq) : dashOf(l, item, seq));
    if (!isMap(item)) {
      issues.push({ code: "row-not-a-map", key: kind, line, index, message: `${kind} line ${line}: the row is not a map of ${FIELDS[kind].slice(0, 3).join("/")} — it maps nothing` });
      rows.push({ kind, index, groups: [], line, keys: [] });
      return;
    }
    const f = rowFields(item);
    const row: AwsAuthRow = { kind, index, groups: [], line, keys: f.keys };
    for (const [field, pairs] of f.all) {
      const at = lineOf(l, itemStart(pairs[0]!.key, seq));
      if (!FIELDS[kind].includes(field)) {
        if (field === otherArnField(kind)) continue; // reported below, with what it means
        issues.push({ code: "unknown-field", key: kind, line: at, index, message: `${kind} line ${at}: unknown field "${keyText(pairs[0]!)}" is ignored (fields: ${FIELDS[kind].slice(0, 3).join(", ")})` });
        continue;
      }
      if (pairs.length > 1) {
        const used = f.chosen.get(field)!;
        const usedLine = lineOf(l, itemStart(used.key, seq));
        issues.push({ code: "duplicate-field", key: kind, line: at, index, message: `${kind} line ${at}: ${field} is given ${pairs.length} times in one row; the authenticator uses the one on line ${usedLine}` });
      }
    }
    for (const field of FIELDS[kind]) {
      const pair = f.chosen.get(field);
      if (!pair) continue;
      const at = lineOf(l, itemStart(pair.key, seq));
      if (field === "groups") {
        const v = pair.value;
        if (v === null || (isScalar(v) && (v.value === null || v.value === undefined))) continue;
        if (!isSeq(v)) {
          issues.push({ code: "field-type", key: kind, line: at, index, message: `${kind} line ${at}: groups must be a list, not ${scalarString(v).type ?? `the string "${String((v as Scalar).value)}"`} — the row gets no groups` });
          continue;
        }
        for (const g of v.items) {
          const s = scalarString(g);
          if (s.type) {
            const gl = lineOf(l, itemStart(g, seq));
            issues.push({ code: "field-type", key: kind, line: gl, index, message: `${kind} line ${gl}: a group must be a string, not ${s.type} — that group is empty` });
          }
          row.groups.push(s.value ?? "");
        }
        continue;
      }
      const s = scalarString(pair.value);
      if (s.type) {
        issues.push({ code: "field-type", key: kind, line: at, index, message: `${kind} line ${at}: ${field} must be a string, not ${s.type} — the authenticator drops it${s.type.startsWith("the ") ? " (quote it)" : ""}` });
        continue;
      }
      if (field === arnField(kind)) row.arn = s.value;
      else if (field === "username") row.username = s.value;
      else if (field === "userid") row.userid = s.value;
    }
    if (row.arn === undefined && f.chosen.has(otherArnField(kind))) {
      issues.push({
        code: "arn-key-mismatch",
        key: kind,
        line,
        index,
        message: `${kind} line ${line}: ${kind} rows take ${arnField(kind)}, not ${otherArnField(kind)} — the authenticator reads no ARN, so the row matches nobody`,
      });
    }
    rows.push(row);
  });
}

function parseAccounts(text: string, rows: AwsAuthRow[], issues: AwsAuthIssue[]): void {
  if (isSkippable(text)) return;
  const l = load(text);
  const err = firstError(l);
  if (err) {
    issues.push({ code: "yaml-syntax", key: "mapAccounts", line: err.line, message: `mapAccounts line ${err.line}: ${err.message} — the authenticator ignores all of mapAccounts` });
    return;
  }
  const seq = l.doc.contents;
  if (seq === null) return;
  if (!isSeq(seq)) {
    issues.push({ code: "not-a-list", key: "mapAccounts", line: 1, message: "mapAccounts is not a list of account ids — the authenticator ignores it" });
    return;
  }
  seq.items.forEach((item, index) => {
    const line = lineOf(l, seq.flow ? itemStart(item, seq) : dashOf(l, item, seq));
    if (!isScalar(item)) {
      issues.push({ code: "field-type", key: "mapAccounts", line, index, message: `mapAccounts line ${line}: an account must be a 12-digit id, not a ${isMap(item) ? "map" : "list"}` });
      return;
    }
    // yaml.v2 into a string: the scalar's text as written (so 012345678901 keeps its zero)
    const account = item.type === "PLAIN" ? (item.source ?? String(item.value ?? "")) : String(item.value ?? "");
    rows.push({ kind: "mapAccounts", index, account, groups: [], line, keys: [] });
  });
}

/** Reads the ConfigMap's data as the authenticator does; never throws (problems are in `issues`). */
export function parseAwsAuth(data: Readonly<Record<string, string>> | undefined): ParsedAwsAuth {
  const rows: AwsAuthRow[] = [];
  const issues: AwsAuthIssue[] = [];
  const d = data ?? {};
  for (const key of Object.keys(d)) {
    const exact = AWS_AUTH_KEYS.find((k) => k.toLowerCase() === key.toLowerCase());
    if (exact && exact !== key) issues.push({ code: "top-key-case", key, line: 1, message: `data key "${key}" is ignored: the authenticator reads only "${exact}" (case-sensitive)` });
  }
  if (typeof d["mapRoles"] === "string") parseMappingKey("mapRoles", d["mapRoles"], rows, issues);
  if (typeof d["mapUsers"] === "string") parseMappingKey("mapUsers", d["mapUsers"], rows, issues);
  if (typeof d["mapAccounts"] === "string") parseAccounts(d["mapAccounts"], rows, issues);
  return { rows, issues };
}

/** The rows' compare key: the ARN lower-cased, as `MapStore.saveMap` and `ConfigMapMapper.Map` use it. */
export const arnKey = (arn: string): string => arn.toLowerCase();

export const kindFor = (arn: string): MappingKind => (/^arn:[^:]+:iam::[^:]*:user\//.test(arn) ? "mapUsers" : "mapRoles");

/** A node role mapping (removing one stops those nodes from joining). */
export const isNodeRow = (row: Pick<AwsAuthRow, "username" | "groups">): boolean =>
  row.username === "system:node:{{EC2PrivateDNSName}}" || row.username === "system:node:{{SessionName}}" || row.groups.includes("system:nodes");

// ─── the ConfigMap manifest (a backup, `kubectl get -o yaml`, an aws-auth.yaml) ──────────────────────

export interface AwsAuthManifest {
  data: Record<string, string>;
  /** for a key written as a block scalar (`mapRoles: |`), the file line of the string's line 1 */
  lineOffsets: Record<string, number>;
  name?: string | undefined;
  namespace?: string | undefined;
  resourceVersion?: string | undefined;
}

/** Reads a ConfigMap manifest (YAML or JSON); a one-line reason when it is not one. */
export function parseAwsAuthManifest(text: string): AwsAuthManifest | { error: string; line?: number | undefined } {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: true, uniqueKeys: false });
  const e = doc.errors[0];
  if (e) return { error: `not YAML: ${e.message.split(/ at line \d+|:\n/)[0]!.trim()}`, line: e.linePos?.[0]?.line };
  const root = doc.contents;
  if (!isMap(root)) return { error: "not a Kubernetes object (expected a ConfigMap with kind, metadata and data)" };
  const get = (m: YAMLMap, k: string): unknown => m.items.find((p) => isScalar(p.key) && p.key.value === k)?.value;
  const kind = get(root, "kind");
  if (isScalar(kind) && kind.value !== "ConfigMap") return { error: `a ${String(kind.value)}, not a ConfigMap` };
  const meta = get(root, "metadata");
  const metaValue = (k: string): string | undefined => {
    const v = isMap(meta) ? get(meta, k) : undefined;
    return isScalar(v) && v.value !== null ? String(v.value) : undefined;
  };
  const data: Record<string, string> = {};
  const lineOffsets: Record<string, number> = {};
  const d = get(root, "data");
  if (d !== undefined && d !== null && !(isScalar(d) && d.value === null)) {
    if (!isMap(d)) return { error: "data is not a map of strings" };
    for (const p of d.items) {
      const k = isScalar(p.key) ? String(p.key.value) : String(p.key);
      const v = p.value;
      if (!isScalar(v) || (typeof v.value !== "string" && v.value !== null)) {
        const line = lc.linePos((p.key as Scalar).range?.[0] ?? 0).line;
        return { error: `data.${k} (line ${line}) is not a string${isSeq(v) ? ": a list needs `|` after the key (mapRoles: |)" : ""} — kubectl and the apiserver refuse it`, line };
      }
      data[k] = typeof v.value === "string" ? v.value : "";
      if ((v.type === "BLOCK_LITERAL" || v.type === "BLOCK_FOLDED") && v.range) lineOffsets[k] = lc.linePos(v.range[0]).line + 1;
    }
  }
  return { data, lineOffsets, name: metaValue("name"), namespace: metaValue("namespace"), resourceVersion: metaValue("resourceVersion") };
}

// ─── editing ────────────────────────────────────────────────────────────────────────────────────

interface Splice {
  start: number;
  end: number;
  text: string;
}

/** Applies splices from the end backwards; insertions at one offset keep their given order. */
function applySplices(text: string, splices: Splice[]): string {
  let out = text;
  const order = splices.map((s, i) => ({ s, i })).sort((a, b) => b.s.start - a.s.start || b.i - a.i);
  for (const { s } of order) out = out.slice(0, s.start) + s.text + out.slice(s.end);
  return out;
}

type ScalarStyle = "PLAIN" | "QUOTE_SINGLE" | "QUOTE_DOUBLE";

/** A string as YAML text in the given style (plain only where it reads back as that string). */
function scalarText(value: string, style: ScalarStyle, flow: boolean): string {
  if (style === "QUOTE_DOUBLE" || /[\n\r]/.test(value)) return JSON.stringify(value);
  if (style === "QUOTE_SINGLE") return `'${value.replace(/'/g, "''")}'`;
  const plain = stringify(value, { version: "1.1", lineWidth: 0 }).replace(/\n$/, "");
  if (plain !== value || (flow && /[,[\]{}]/.test(value))) return `'${value.replace(/'/g, "''")}'`;
  return value;
}

const styleOf = (node: unknown): ScalarStyle => {
  const t = isScalar(node) ? node.type : undefined;
  return t === "QUOTE_SINGLE" || t === "QUOTE_DOUBLE" ? t : "PLAIN";
};

/** How the rows of a key are written, copied from its last row (else EKS/eksctl's style). */
interface RowStyle {
  dashCol: number;
  /** spaces between `-` and the first key */
  afterDash: number;
  /** fields in order, each with its spelling */
  order: Array<{ field: string; spelling: string; style: ScalarStyle }>;
  /** block groups: columns of the `-` of a group past the `groups` key; flow: [a, b] */
  groups: { flow: boolean; offset: number; style: ScalarStyle };
  /** a flow row (`{rolearn: …}`) and whether its keys are JSON-quoted */
  flowRow: boolean;
  json: boolean;
}

function defaultStyle(kind: MappingKind): RowStyle {
  return {
    dashCol: 0,
    afterDash: 1,
    order: ["groups", arnField(kind), "username"].map((field) => ({ field, spelling: field, style: "PLAIN" as ScalarStyle })),
    groups: { flow: false, offset: 0, style: "PLAIN" },
    flowRow: false,
    json: false,
  };
}

function styleFrom(l: Loaded, seq: YAMLSeq, kind: MappingKind): RowStyle {
  const style = defaultStyle(kind);
  const last = [...seq.items].reverse().find((i) => isMap(i)) as YAMLMap | undefined;
  if (seq.flow) {
    style.flowRow = true;
    const firstKey = last?.items[0]?.key;
    style.json = isScalar(firstKey) && firstKey.type === "QUOTE_DOUBLE";
  }
  if (!last) return style;
  if (!seq.flow) {
    const dash = dashOf(l, last, seq);
    style.dashCol = colOf(l, dash);
    const firstKey = last.items[0]?.key as Scalar | undefined;
    if (firstKey?.range && lineOf(l, firstKey.range[0]) === lineOf(l, dash)) style.afterDash = Math.max(1, colOf(l, firstKey.range[0]) - style.dashCol - 1);
  }
  const f = rowFields(last);
  const seen: RowStyle["order"] = [];
  for (const pair of last.items) {
    const field = keyText(pair).toLowerCase();
    if (!FIELDS[kind].slice(0, 3).includes(field) || seen.some((s) => s.field === field)) continue;
    seen.push({ field, spelling: keyText(pair), style: field === "groups" ? "PLAIN" : styleOf(pair.value) });
  }
  for (const d of style.order) if (!seen.some((s) => s.field === d.field)) seen.push(d);
  style.order = seen;
  const groups = f.chosen.get("groups")?.value;
  if (isSeq(groups)) {
    style.groups.flow = !!groups.flow;
    style.groups.style = styleOf(groups.items[0]);
    if (!groups.flow && groups.items.length > 0) {
      const keyCol = colOf(l, (f.chosen.get("groups")!.key as Scalar).range![0]);
      style.groups.offset = Math.max(0, colOf(l, dashOf(l, groups.items[0], groups)) - keyCol);
    }
  }
  return style;
}

function fieldValue(m: Mapping, field: string): string | readonly string[] {
  return field === "groups" ? m.groups : field === "username" ? m.username : m.arn;
}

function flowGroups(groups: readonly string[], style: ScalarStyle, json: boolean): string {
  return `[${groups.map((g) => (json ? JSON.stringify(g) : scalarText(g, style, true))).join(", ")}]`;
}

/** A new row as text: block lines (no trailing newline) at the style's indentation, or a flow map. */
function renderRow(m: Mapping, style: RowStyle, eol: string): string {
  if (style.flowRow) {
    const parts = style.order.map(({ field, spelling, style: s }) => {
      const v = fieldValue(m, field);
      const k = style.json ? JSON.stringify(spelling) : spelling;
      const value = typeof v === "string" ? (style.json ? JSON.stringify(v) : scalarText(v, s, true)) : flowGroups(v, style.groups.style, style.json);
      return `${k}: ${value}`;
    });
    return `{${parts.join(", ")}}`;
  }
  const pad = " ".repeat(style.dashCol);
  const keyPad = " ".repeat(style.dashCol + 1 + style.afterDash);
  const lines: string[] = [];
  for (const { field, spelling, style: s } of style.order) {
    const v = fieldValue(m, field);
    if (typeof v === "string") lines.push(`${spelling}: ${scalarText(v, s, false)}`);
    else if (style.groups.flow || v.length === 0) lines.push(`${spelling}: ${flowGroups(v, style.groups.style, false)}`);
    else {
      lines.push(`${spelling}:`);
      for (const g of v) lines.push(`${" ".repeat(style.groups.offset)}- ${scalarText(g, style.groups.style, false)}`);
    }
  }
  return lines.map((line, i) => (i === 0 ? `${pad}-${" ".repeat(style.afterDash)}${line}` : `${keyPad}${line}`)).join(eol);
}

const lineStart = (text: string, offset: number): number => text.lastIndexOf("\n", offset - 1) + 1;
function lineEnd(text: string, offset: number): number {
  const i = text.indexOf("\n", offset);
  return i === -1 ? text.length : i;
}
/** The end of a node's own content: its range's end less trailing blanks and line breaks. */
function contentEnd(text: string, end: number, floor: number): number {
  let e = end;
  while (e > floor && /\s/.test(text[e - 1]!)) e--;
  return e;
}

/** Removes block-sequence items (whole lines, from each `-` to the item's last line). */
function removeBlockItems(l: Loaded, seq: YAMLSeq, indexes: readonly number[]): Splice[] {
  return indexes.map((i) => {
    const item = seq.items[i];
    const dash = dashOf(l, item, seq);
    const start = lineStart(l.text, dash);
    const r = (item as { range?: number[] } | null)?.range;
    const end = lineEnd(l.text, contentEnd(l.text, r?.[1] ?? dash + 1, dash + 1));
    return { start, end: Math.min(l.text.length, end + 1), text: "" };
  });
}

/** Removes flow-sequence items with their commas. */
function removeFlowItems(seq: YAMLSeq, indexes: readonly number[]): Splice[] {
  const gone = new Set(indexes);
  const items = seq.items as Array<{ range: [number, number, number] }>;
  if (items.every((_, i) => gone.has(i))) return [{ start: seq.range![0], end: seq.range![1], text: "[]" }];
  const splices: Splice[] = [];
  for (let i = 0; i < items.length; i++) {
    if (!gone.has(i)) continue;
    let j = i;
    while (j + 1 < items.length && gone.has(j + 1)) j++;
    if (j + 1 < items.length) splices.push({ start: items[i]!.range[0], end: items[j + 1]!.range[0], text: "" });
    else splices.push({ start: items[i - 1]!.range[1], end: items[j]!.range[1], text: "" });
    i = j;
  }
  return splices;
}

/** Rewrites one field of a row (or adds it) to `value`; nothing when it already holds it. */
function setField(l: Loaded, seq: YAMLSeq, map: YAMLMap, field: string, value: string | readonly string[], style: RowStyle): Splice[] {
  const f = rowFields(map);
  const pair = f.chosen.get(field);
  if (typeof value === "string") {
    if (pair) {
      const s = scalarString(pair.value);
      if (s.value === value && !s.type) return [];
      const node = pair.value as { range?: [number, number, number] } | null;
      const text = scalarText(value, styleOf(pair.value), !!map.flow);
      if (node?.range && !(isScalar(node) && node.value === null)) return [{ start: node.range[0], end: node.range[1], text }];
      const colon = l.text.indexOf(":", (pair.key as Scalar).range![1]);
      return [{ start: colon + 1, end: node?.range ? node.range[1] : colon + 1, text: ` ${text}` }];
    }
    return [insertField(l, seq, map, field, scalarText(value, (style.order.find((o) => o.field === field)?.style ?? "PLAIN"), !!map.flow), undefined, style)];
  }
  // groups
  const current = pair?.value;
  if (isSeq(current)) {
    const now = current.items.map((g) => scalarString(g));
    if (now.length === value.length && now.every((g, i) => g.value === value[i] && !g.type)) return [];
  } else if (pair && value.length === 0 && (current === null || (isScalar(current) && current.value === null))) return [];
  // a group already there keeps its text; new ones take the list's quoting
  const listStyle = isSeq(current) && current.items.length > 0 ? styleOf(current.items[0]) : style.groups.style;
  const itemText = (g: string): string => {
    const old = isSeq(current) ? current.items.find((i) => isScalar(i) && i.value === g) : undefined;
    return old && isScalar(old) && old.range ? l.text.slice(old.range[0], old.range[1]) : scalarText(g, listStyle, !!map.flow || !!(isSeq(current) && current.flow));
  };
  if (pair && isSeq(current) && current.range) {
    if (current.flow || map.flow) return [{ start: current.range[0], end: current.range[1], text: `[${value.map(itemText).join(", ")}]` }];
    if (value.length === 0) {
      const colon = l.text.indexOf(":", (pair.key as Scalar).range![1]);
      return [{ start: colon + 1, end: lineEnd(l.text, contentEnd(l.text, current.range[1], current.range[0])), text: " []" }];
    }
    const dash = current.range[0];
    const pad = " ".repeat(colOf(l, dash));
    const end = lineEnd(l.text, contentEnd(l.text, current.range[1], dash));
    return [{ start: dash, end, text: value.map((g, i) => `${i === 0 ? "" : pad}- ${itemText(g)}`).join(l.eol) }];
  }
  // no list there (absent, empty, or not a list)
  const keyCol = pair ? colOf(l, (pair.key as Scalar).range![0]) : undefined;
  const block = (col: number): string =>
    value.length === 0 || map.flow || style.groups.flow
      ? ` ${flowGroups(value, style.groups.style, style.json)}`
      : value.map((g) => `${l.eol}${" ".repeat(col + style.groups.offset)}- ${scalarText(g, style.groups.style, false)}`).join("");
  if (pair) {
    const colon = l.text.indexOf(":", (pair.key as Scalar).range![1]);
    const node = current as { range?: [number, number, number] } | null;
    const end = node?.range && !(isScalar(node) && node.value === null) ? node.range[1] : colon + 1;
    return [{ start: colon + 1, end, text: block(keyCol!) }];
  }
  return [insertField(l, seq, map, "groups", undefined, value, style)];
}

/** Adds a field at the end of a row, in the row's layout. */
function insertField(l: Loaded, seq: YAMLSeq, map: YAMLMap, field: string, scalar: string | undefined, groups: readonly string[] | undefined, style: RowStyle): Splice {
  const spelling = style.order.find((o) => o.field === field)?.spelling ?? field;
  const lastPair = map.items[map.items.length - 1];
  const lastEnd = (lastPair?.value as { range?: number[] } | null)?.range?.[1] ?? (lastPair?.key as Scalar | undefined)?.range?.[1] ?? map.range![0];
  if (map.flow) {
    const v = scalar ?? flowGroups(groups ?? [], style.groups.style, style.json);
    const end = contentEnd(l.text, lastEnd, map.range![0]);
    return { start: end, end, text: `${map.items.length > 0 ? ", " : ""}${spelling}: ${v}` };
  }
  const firstKey = map.items[0]?.key as Scalar | undefined;
  const keyCol = firstKey?.range ? colOf(l, firstKey.range[0]) : colOf(l, dashOf(l, map, seq)) + 2;
  const pad = " ".repeat(keyCol);
  const value =
    scalar !== undefined
      ? ` ${scalar}`
      : (groups ?? []).length === 0 || style.groups.flow
        ? ` ${flowGroups(groups ?? [], style.groups.style, false)}`
        : (groups ?? []).map((g) => `${l.eol}${" ".repeat(keyCol + style.groups.offset)}- ${scalarText(g, style.groups.style, false)}`).join("");
  const at = lineEnd(l.text, contentEnd(l.text, lastEnd, map.range![0]));
  return { start: at, end: at, text: `${l.eol}${pad}${spelling}:${value}` };
}

function refuse(key: AwsAuthKey, l: Loaded): EditRefused | undefined {
  const err = firstError(l);
  if (err) return { ok: false, key, line: err.line, message: `${key} line ${err.line} does not parse (${err.message}); fix it first (kubectl -n kube-system edit configmap aws-auth) or restore a backup` };
  const c = l.doc.contents;
  if (c !== null && !isSeq(c)) return { ok: false, key, line: 1, message: `${key} is not a list; fix it first (kubectl -n kube-system edit configmap aws-auth) or restore a backup` };
  return undefined;
}

/**
 * Adds or updates the mapping for `m.arn` (compared case-insensitively, as the authenticator does)
 * in its key. When the ARN already has rows there, the last one (the one the authenticator uses)
 * is updated in place and the earlier ones are removed, so exactly one row remains and the effect
 * is exactly `m`. Other keys, and every other row, are left byte-identical. Refused (not thrown)
 * when that key does not parse.
 */
export function upsertMapping(data: Readonly<Record<string, string>> | undefined, m: Mapping): UpsertResult {
  const kind = m.kind ?? kindFor(m.arn);
  const out: Record<string, string> = { ...(data ?? {}) };
  const text = out[kind];
  if (text === undefined || isSkippable(text)) {
    out[kind] = `${renderRow(m, defaultStyle(kind), "\n")}\n`;
    return { ok: true, data: out, kind, action: "added", removedDuplicates: [] };
  }
  const l = load(text);
  const refused = refuse(kind, l);
  if (refused) return refused;
  const seq = l.doc.contents as YAMLSeq | null;
  if (seq === null) {
    out[kind] = `${text}${text.endsWith("\n") ? "" : l.eol}${renderRow(m, defaultStyle(kind), l.eol)}${l.eol}`;
    return { ok: true, data: out, kind, action: "added", removedDuplicates: [] };
  }
  const style = styleFrom(l, seq, kind);
  const rows = parseAwsAuth({ [kind]: text }).rows;
  const matches = rows.filter((r) => r.arn !== undefined && arnKey(r.arn) === arnKey(m.arn));
  if (matches.length === 0) {
    if (seq.flow && seq.items.length === 0) {
      const block = { ...defaultStyle(kind), dashCol: colOf(l, seq.range![0]) };
      out[kind] = applySplices(text, [{ start: seq.range![0], end: seq.range![1], text: renderRow(m, block, l.eol).trimStart() }]);
      if (!out[kind].endsWith("\n")) out[kind] += l.eol;
    } else if (seq.flow) {
      const lastEnd = (seq.items[seq.items.length - 1] as { range: number[] }).range[1]!;
      out[kind] = applySplices(text, [{ start: lastEnd, end: lastEnd, text: `, ${renderRow(m, style, l.eol)}` }]);
    } else {
      const last = seq.items[seq.items.length - 1] as { range?: number[] } | null;
      const dash = dashOf(l, last, seq);
      const at = lineEnd(text, contentEnd(text, last?.range?.[1] ?? dash + 1, dash + 1));
      out[kind] = applySplices(text, [{ start: at, end: at, text: `${l.eol}${renderRow(m, style, l.eol)}` }]);
      if (at === text.length) out[kind] += l.eol;
    }
    return { ok: true, data: out, kind, action: "added", removedDuplicates: [] };
  }
  const target = matches[matches.length - 1]!;
  const earlier = matches.slice(0, -1);
  const map = seq.items[target.index] as YAMLMap;
  const splices = [
    ...setField(l, seq, map, "username", m.username, style),
    ...setField(l, seq, map, "groups", m.groups, style),
    ...(seq.flow ? removeFlowItems(seq, earlier.map((r) => r.index)) : removeBlockItems(l, seq, earlier.map((r) => r.index))),
  ];
  if (splices.length === 0) return { ok: true, data: out, kind, action: "unchanged", removedDuplicates: [] };
  out[kind] = applySplices(text, splices);
  return { ok: true, data: out, kind, action: "updated", removedDuplicates: earlier };
}

/**
 * Removes the mapRoles/mapUsers rows `which` selects (e.g. every row of one ARN: `removeMappings`),
 * leaving everything else byte-identical. A key left with no rows becomes `[]` (as eksctl writes
 * it) unless comments remain. Refused when a key with a selected row does not parse.
 */
export function removeRows(data: Readonly<Record<string, string>> | undefined, which: (row: AwsAuthRow) => boolean): RemoveResult {
  const r = spliceRows(data, which, (l, seq, rows) => (seq.flow ? removeFlowItems(seq, rows.map((x) => x.index)) : removeBlockItems(l, seq, rows.map((x) => x.index))));
  return r.ok ? { ok: true, data: r.data, removed: r.rows } : r;
}

/**
 * Splices the mapRoles/mapUsers keys that hold rows `which` selects (`splices` says how, per key);
 * every other byte stays. A key left with no rows becomes `[]`. Refused when a key does not parse
 * (its rows cannot be known).
 */
function spliceRows(
  data: Readonly<Record<string, string>> | undefined,
  which: (row: AwsAuthRow) => boolean,
  splices: (l: Loaded, seq: YAMLSeq, rows: AwsAuthRow[], kind: MappingKind) => Splice[],
): { ok: true; data: Record<string, string>; rows: AwsAuthRow[] } | EditRefused {
  const out: Record<string, string> = { ...(data ?? {}) };
  const hit: AwsAuthRow[] = [];
  for (const kind of ["mapRoles", "mapUsers"] as const) {
    const text = out[kind];
    if (text === undefined || isSkippable(text)) continue;
    const l = load(text);
    const refused = refuse(kind, l);
    if (refused) return refused;
    const seq = l.doc.contents as YAMLSeq | null;
    if (seq === null) continue;
    const rows = parseAwsAuth({ [kind]: text }).rows.filter(which);
    if (rows.length === 0) continue;
    hit.push(...rows);
    const next = applySplices(text, splices(l, seq, rows, kind));
    out[kind] = isSkippable(next) ? "[]\n" : next;
  }
  return { ok: true, data: out, rows: hit };
}

/** Removes every mapRoles/mapUsers row for `arn` (compared case-insensitively). */
export function removeMappings(data: Readonly<Record<string, string>> | undefined, arn: string): RemoveResult {
  return removeRows(data, (r) => r.arn !== undefined && arnKey(r.arn) === arnKey(arn));
}

export type RenameResult = { ok: true; data: Record<string, string>; renamed: AwsAuthRow[] } | EditRefused;

/**
 * Points every mapRoles/mapUsers row of `from` (compared case-insensitively) at `to` instead: the
 * ARN value is rewritten in place, in its own quoting; `username`, when given, maps a row's
 * username to the one it gets (undefined: kept). Groups, comments, order, other rows and other
 * keys stay byte-identical. Refused when a key holding such a row does not parse.
 */
export function renameMapping(data: Readonly<Record<string, string>> | undefined, from: string, to: string, username?: (current: string | undefined) => string | undefined): RenameResult {
  const r = spliceRows(
    data,
    (row) => row.arn !== undefined && arnKey(row.arn) === arnKey(from),
    (l, seq, rows, kind) => {
      const style = styleFrom(l, seq, kind);
      return rows.flatMap((row) => {
        const map = seq.items[row.index] as YAMLMap;
        const name = username?.(row.username);
        return [...setField(l, seq, map, arnField(kind), to, style), ...(name !== undefined ? setField(l, seq, map, "username", name, style) : [])];
      });
    },
  );
  return r.ok ? { ok: true, data: r.data, renamed: r.rows } : r;
}
