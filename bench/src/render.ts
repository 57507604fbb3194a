// Re-renders docs/benchmarks.md and its chart from a results file:
//   npx tsx bench/src/render.ts bench/results/<time>.json [docs/benchmarks.md]
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { renderMarkdown, renderSvg, summarize, type BenchResults } from './report.js';

const [file, docArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: tsx bench/src/render.ts RESULTS.json [DOC.md]\n');
  process.exit(2);
}
const doc = resolve(docArg ?? 'docs/benchmarks.md');
const res = JSON.parse(readFileSync(resolve(file), 'utf8')) as BenchResults;
if (res.schema !== 1) throw new Error(`${file}: unsupported results schema ${String(res.schema)}`);
const sum = summarize(res);
const svg = join(dirname(doc), 'benchmarks-chart.svg');
writeFileSync(svg, renderSvg(sum));
const notesFile = resolve(dirname(new URL(import.meta.url).pathname), '../analysis.md');
const notes = existsSync(notesFile) ? readFileSync(notesFile, 'utf8') : '';
writeFileSync(doc, renderMarkdown(res, sum, { resultsFile: relative(dirname(doc), resolve(file)), svgFile: relative(dirname(doc), svg), notes }));
process.stderr.write(`wrote ${relative(process.cwd(), doc)} and ${relative(process.cwd(), svg)}\n`);
