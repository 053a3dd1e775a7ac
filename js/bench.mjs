// Per-article latency and throughput of the JS runtime on a portable folder (not a test):
//   node js/bench.mjs models/v1/portable texts.json
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { loadModel } from "./artclf.mjs";

const t0 = performance.now();
const model = await loadModel(process.argv[2]);
model.classify(["warm-up text"]);
const loadMs = performance.now() - t0;
const texts = JSON.parse(readFileSync(process.argv[3], "utf-8"));
for (const t of texts.slice(0, 20)) model.classify([t]);
const times = [];
for (let r = 0; r < 5; r++) for (const t of texts) {
  const s = performance.now();
  model.classify([t]);
  times.push(performance.now() - s);
}
times.sort((a, b) => a - b);
const s = performance.now();
for (let r = 0; r < 5; r++) model.classify(texts);
const perS = (5 * texts.length) / ((performance.now() - s) / 1000);
console.log(JSON.stringify({ load_and_first_ms: +loadMs.toFixed(1), p50_ms: +times[times.length >> 1].toFixed(3), p99_ms: +times[Math.floor(times.length * 0.99)].toFixed(3), articles_per_s: Math.round(perS) }));
