// node scripts/clean.mjs DIR            removes DIR (the build outputs)
// node scripts/clean.mjs --cjs-package DIR   writes DIR/package.json {"type":"commonjs"}, so that
//                                            node reads the CommonJS build as CommonJS inside this "type": "module" package
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
if (args[0] === '--cjs-package') {
  mkdirSync(args[1], { recursive: true });
  writeFileSync(join(args[1], 'package.json'), '{\n  "type": "commonjs"\n}\n');
} else {
  for (const dir of args) rmSync(dir, { recursive: true, force: true });
}
