// k6 does not run on this machine (no package for it here); this checks what node can: every
// script parses, its imports resolve (k6's own modules stubbed), and each scenario names an
// exported function.   node perf/k6/check.mjs
import { register } from 'node:module';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const stub = `data:text/javascript,${encodeURIComponent(`
  export default {}; export const check = () => true; export const sleep = () => {};
  export class Trend { add() {} } export class Rate { add() {} } export class Counter { add() {} }
  export const file = () => ({}); export const post = () => ({}); export const get = () => ({});
  export const connect = () => ({});`)}`;
register(`data:text/javascript,${encodeURIComponent(`
  export async function resolve(specifier, context, next) {
    if (specifier === 'k6' || specifier.startsWith('k6/')) return { url: ${JSON.stringify(stub)}, shortCircuit: true };
    return next(specifier, context);
  }`)}`);
globalThis.__ENV = { TOKEN: 'check' };
globalThis.__VU = 1;
globalThis.__ITER = 0;

let failures = 0;
for (const name of readdirSync(here).filter((f) => f.endsWith('.js') && f !== 'common.js').sort()) {
  const script = await import(pathToFileURL(join(here, name)).href);
  const scenarios = Object.entries(script.options?.scenarios ?? {});
  const missing = scenarios.filter(([, s]) => typeof script[s.exec] !== 'function').map(([n]) => n);
  if (scenarios.length === 0 || missing.length > 0) {
    console.log(`FAIL ${name}: ${scenarios.length === 0 ? 'no scenarios' : `scenarios without a function: ${missing}`}`);
    failures++;
  } else {
    console.log(`ok   ${name}: scenarios ${scenarios.map(([n, s]) => `${n} -> ${s.exec}()`).join(', ')}`);
  }
}
process.exit(failures ? 1 : 0);
