// Transpiles one TypeScript file to an ES module with the pinned `typescript` package
// (tests/clients/node_modules), for the seed's fetch examples: node transpile.cjs IN.ts OUT.mjs
// Syntax errors fail the run; types are not checked (the examples are snippets, not a project).
'use strict';
const fs = require('fs');
const ts = require('typescript');

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: node transpile.cjs IN.ts OUT.mjs');
  process.exit(2);
}
const result = ts.transpileModule(fs.readFileSync(input, 'utf8'), {
  fileName: input,
  reportDiagnostics: true,
  compilerOptions: {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext, // keeps top-level await (the chat snippet uses it)
  },
});
if (result.diagnostics && result.diagnostics.length > 0) {
  for (const d of result.diagnostics) {
    console.error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  }
  process.exit(1);
}
fs.writeFileSync(output, result.outputText);
console.error(`typescript ${ts.version}: ${input} -> ${output}`);
