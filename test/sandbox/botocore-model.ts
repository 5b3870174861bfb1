/** botocore's service models (installed with the AWS CLI) as the oracle for answer shapes. */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";

export interface Shape {
  type: string;
  required?: string[];
  enum?: string[];
  members?: Record<string, { shape: string }>;
  member?: { shape: string };
  value?: { shape: string };
}

function botocoreDataDir(): string {
  const pkg = execFileSync("python3", ["-c", "import botocore, os; print(os.path.dirname(botocore.__file__))"], { encoding: "utf8" }).trim();
  return join(pkg, "data");
}

export function loadModel(service: string, version: string): { shapes: Record<string, Shape>; operations: Record<string, { input?: { shape: string }; output?: { shape: string }; http: { method: string; requestUri: string } }> } {
  const base = join(botocoreDataDir(), service, version, "service-2.json");
  const text = existsSync(base) ? readFileSync(base, "utf8") : gunzipSync(readFileSync(`${base}.gz`)).toString("utf8");
  return JSON.parse(text);
}

/** Type errors of `value` against the model shape (unknown members are not errors: moto adds none we rely on). */
export function shapeErrors(shapes: Record<string, Shape>, shapeName: string, value: unknown, path: string, strict = false): string[] {
  const shape = shapes[shapeName];
  if (shape === undefined) return [`${path}: model has no shape ${shapeName}`];
  const isObj = typeof value === "object" && value !== null && !Array.isArray(value);
  switch (shape.type) {
    case "structure": {
      if (!isObj) return [`${path}: ${shapeName} should be an object`];
      const missing = strict ? (shape.required ?? []).filter((r) => (value as Record<string, unknown>)[r] === undefined).map((r) => `${path}.${r}: required by ${shapeName}`) : [];
      return [
        ...missing,
        ...Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => {
          const m = shape.members?.[k];
          if (m === undefined) return strict ? [`${path}.${k}: not a member of ${shapeName}`] : [];
          return v === null ? [] : shapeErrors(shapes, m.shape, v, `${path}.${k}`, strict);
        }),
      ];
    }
    case "list":
      if (!Array.isArray(value)) return [`${path}: ${shapeName} should be a list`];
      return value.flatMap((v, i) => shapeErrors(shapes, shape.member!.shape, v, `${path}[${i}]`, strict));
    case "map":
      if (!isObj) return [`${path}: ${shapeName} should be a map`];
      return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => shapeErrors(shapes, shape.value!.shape, v, `${path}.${k}`, strict));
    case "string":
      if (typeof value !== "string") return [`${path}: ${shapeName} should be a string`];
      return shape.enum && !shape.enum.includes(value) ? [`${path}: ${JSON.stringify(value)} is not one of ${shapeName}'s values`] : [];
    case "boolean":
      return typeof value === "boolean" ? [] : [`${path}: ${shapeName} should be a boolean`];
    case "integer":
    case "long":
      return Number.isInteger(value) ? [] : [`${path}: ${shapeName} should be an integer`];
    case "timestamp": // rest-json: epoch seconds
      if (strict) return typeof value === "number" ? [] : [`${path}: ${shapeName} should be epoch seconds`];
      return typeof value === "number" || typeof value === "string" ? [] : [`${path}: ${shapeName} should be a timestamp`];
    default:
      return [];
  }
}

