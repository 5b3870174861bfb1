/**
 * Dead code: every exported function, class or constant of src/ is used somewhere (in src/, a
 * test, the bench or a build script; its own module counts). The TypeScript checker resolves each identifier and
 * destructured property (`const { runCli } = await loadPart("cli")`) to the export it names.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import { repoRoot } from "../helpers.js";

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : /\.(ts|mjs)$/.test(f) && !f.endsWith(".d.ts") ? [p] : [];
  });
}

test("no exported value in src/ is unused", () => {
  const files = ["src", "test", "bench", "scripts"].flatMap((d) => walk(join(repoRoot, d)));
  const program = ts.createProgram(files, { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, allowJs: true, strict: true, noEmit: true, types: ["node"], skipLibCheck: true });
  const checker = program.getTypeChecker();
  const original = (s: ts.Symbol): ts.Symbol => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);
  const used = new Set<ts.Symbol>();
  const use = (s: ts.Symbol | undefined): void => {
    if (s) used.add(original(s));
  };
  /** the name being declared (not a use of it) */
  const isDeclarationName = (id: ts.Identifier): boolean => {
    const p = id.parent;
    return (ts.isFunctionDeclaration(p) || ts.isClassDeclaration(p) || ts.isVariableDeclaration(p)) && p.name === id;
  };
  for (const file of files) {
    const source = program.getSourceFile(file)!;
    const visit = (node: ts.Node): void => {
      if (ts.isIdentifier(node) && !isDeclarationName(node)) use(checker.getSymbolAtLocation(node));
      // `{ name }` uses the value `name` (getSymbolAtLocation answers the property)
      if (ts.isShorthandPropertyAssignment(node)) use(checker.getShorthandAssignmentValueSymbol(node));
      if (ts.isBindingElement(node) && ts.isObjectBindingPattern(node.parent)) {
        const name = (node.propertyName ?? node.name) as ts.Identifier;
        use(checker.getTypeAtLocation(node.parent).getProperty(name.text));
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  const unused: string[] = [];
  let checked = 0;
  for (const file of files.filter((f) => f.startsWith(join(repoRoot, "src") + "/"))) {
    const source = program.getSourceFile(file)!;
    const moduleSymbol = checker.getSymbolAtLocation(source);
    if (!moduleSymbol) continue;
    for (const symbol of checker.getExportsOfModule(moduleSymbol)) {
      if (!(symbol.flags & (ts.SymbolFlags.Function | ts.SymbolFlags.Class | ts.SymbolFlags.Variable))) continue; // values; types may be exported for their signatures
      if (!symbol.declarations?.some((d) => d.getSourceFile() === source)) continue; // re-exports answer in their own module
      checked++;
      if (!used.has(symbol)) unused.push(`${relative(repoRoot, file)}: ${symbol.getName()}`);
    }
  }
  assert.ok(checked > 60, `control: ${checked} exported values were checked`);
  assert.deepEqual(unused, []);
});
