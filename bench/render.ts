/**
 * Renders the report again from the samples a run saved (BENCH_SAVE=file npm run bench):
 *   node --import tsx bench/render.ts file
 */
import { readFileSync } from 'node:fs';
import { buildReport, type Results } from './report.js';

const file = process.argv[2];
if (!file) throw new Error('usage: node --import tsx bench/render.ts <file saved with BENCH_SAVE>');
const report = buildReport(JSON.parse(readFileSync(file, 'utf8')) as Results);
process.stdout.write(`${report.markdown}\n${JSON.stringify(report.json)}\n`);
