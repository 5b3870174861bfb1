/**
 * The layering rules (README "Architecture"), checked by dependency-cruiser in `npm test`
 * (`npm run lint:layers`) on every import form: static, side-effect (`import "x"`), `export … from`,
 * `require()`, dynamic `import()`, type-only imports (tsPreCompilationDeps), in every subfolder, with
 * paths resolved (so `../core/../adapters/x` is an import of adapters). test/unit/layering.test.ts
 * runs these rules on purpose-made violations to prove each one reports them.
 *
 *   core      → core, and the pure `yaml` and `diff` libraries; no node:* builtin, no SDK, no I/O
 *   ports     → core and ports, type-only (interfaces)
 *   usecases  → core, ports, use cases
 *   adapters  → core, ports, adapters, packages, builtins; use cases' types only; never a shell
 *   shells (cli, sandbox, server, compose.ts, parts.ts, aws-part.ts, sign-part.ts) may use everything in src/
 *   src never imports test/; no cycles; every module is reached from a command's entry point.
 */
/** main.cjs, the parts it loads by computed specifier (src/parts.ts: cli.js, aws.js, sign.cjs) */
const ENTRY_POINTS = "^src/(cli/main|cli/app|aws-part|sign-part)\\.ts$";

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "core-is-pure",
      comment: "src/core imports only src/core and the yaml and diff libraries (no node:* builtins, no SDK, no I/O)",
      severity: "error",
      from: { path: "^src/core/" },
      to: { pathNot: ["^src/core/", "(^|/)node_modules/(yaml|diff)/"] },
    },
    {
      name: "ports-are-interfaces",
      comment: "src/ports holds interfaces: type-only imports of src/core and src/ports",
      severity: "error",
      from: { path: "^src/ports/" },
      to: { pathNot: ["^src/(core|ports)/"] },
    },
    {
      name: "ports-import-types-only",
      severity: "error",
      from: { path: "^src/ports/" },
      to: { dependencyTypesNot: ["type-only", "type-import"] },
    },
    {
      name: "usecases-see-core-and-ports",
      comment: "a use case imports only core, ports and other use cases: everything else is injected",
      severity: "error",
      from: { path: "^src/usecases/" },
      to: { pathNot: ["^src/(core|ports|usecases)/"] },
    },
    {
      name: "adapters-are-edges",
      comment: "adapters never import a shell (cli, sandbox, the composition modules)",
      severity: "error",
      from: { path: "^src/adapters/" },
      to: { path: ["^src/(cli|sandbox|server)/", "^src/(compose|parts|aws-part|sign-part)\\.ts$"] },
    },
    {
      name: "adapters-use-usecase-types-only",
      comment: "an adapter implements a use case's dependency interface: it may import its types, not its code",
      severity: "error",
      from: { path: "^src/adapters/" },
      to: { path: ["^src/usecases/", "^src/aws-part\\.ts$"], dependencyTypesNot: ["type-only", "type-import"] },
    },
    {
      name: "src-never-imports-tests",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^test/" },
    },
    {
      name: "no-circular",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "reached-by-a-command",
      comment:
        "every module in src/ is reached from an entry point (main.cjs, the cli.js and aws.js parts, sign.cjs): what no user command reaches belongs under test/",
      severity: "error",
      from: { path: ENTRY_POINTS },
      // deferred-crypto.ts replaces node:crypto in sign.cjs through a build alias (scripts/build.mjs)
      to: { path: "^src/", pathNot: [ENTRY_POINTS, "^src/adapters/deferred-crypto\\.ts$"], reachable: false },
    },
    {
      name: "not-to-unresolvable",
      severity: "error",
      from: { path: "^src/" },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    detectJSDocImports: true,
    moduleSystems: ["es6", "cjs"],
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".js", ".mjs", ".cjs", ".json"],
      mainFields: ["module", "main", "types"],
    },
    tsConfig: { fileName: "tsconfig.json" },
  },
};
