// Parity of the JavaScript runtime with the Python one, on vectors that tests/test_js_runtime.py
// writes (models exported from scikit-learn, texts, expected scores and tokens). Run by that test:
//   ARTCLF_PARITY_DIR=/tmp/... node --test js/test/
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { Analyzer, PortableFormatError, PortableModel, loadModel, murmurhash3_32, pyLower, round4, stripAccentsUnicode, translatePattern } from "../artclf.mjs";

const DIR = process.env.ARTCLF_PARITY_DIR;
const skip = !DIR || !existsSync(join(DIR, "vectors.json")) ? "ARTCLF_PARITY_DIR is not set: run tests/test_js_runtime.py, which writes the vectors" : false;
const read = (name) => JSON.parse(readFileSync(join(DIR, name), "utf-8"));
const TOL = 1e-6;

test("models score and classify as the Python runtime does", { skip }, async () => {
  const { cases } = read("vectors.json");
  assert.ok(cases.length > 0);
  for (const c of cases) {
    const model = await loadModel(join(DIR, c.dir), c.sha256);
    const raw = model.rawScores(c.texts);
    raw.forEach((row, i) => {
      const want = c.raw[i];
      assert.deepEqual(Object.keys(row), Object.keys(want), `${c.name} #${i}`);
      for (const task of Object.keys(want)) {
        assert.deepEqual(Object.keys(row[task]), Object.keys(want[task]), `${c.name} #${i} ${task} label order`);
        for (const label of Object.keys(want[task])) {
          const diff = Math.abs(row[task][label] - want[task][label]);
          assert.ok(diff <= TOL, `${c.name} #${i} ${task}.${label}: ${row[task][label]} vs ${want[task][label]} (text ${JSON.stringify(c.texts[i].slice(0, 60))})`);
        }
      }
    });
    model.classify(c.texts).forEach((row, i) => {
      const want = c.classify[i];
      assert.deepEqual(row.topics, want.topics, `${c.name} #${i} topics`);
      assert.equal(row.tone, want.tone, `${c.name} #${i} tone`);
      assert.equal(row.low_evidence, want.low_evidence, `${c.name} #${i} low_evidence`);
      for (const task of ["topic_scores", "tone_scores"]) {
        if (!(task in want)) continue;
        for (const label of Object.keys(want[task])) assert.ok(Math.abs(row[task][label] - want[task][label]) <= 1e-4, `${c.name} #${i} ${task}.${label}`);
      }
    });
  }
});

test("analyzers produce Python's tokens on multilingual text", { skip }, () => {
  const { analyzers } = read("tokens.json");
  for (const a of analyzers) {
    const analyzer = new Analyzer(a.spec);
    a.texts.forEach((text, i) => assert.deepEqual(analyzer.analyze(text), a.tokens[i], `${JSON.stringify(a.spec.token_pattern ?? a.spec.kind)} on ${JSON.stringify(text.slice(0, 60))}`));
  }
});

test("lower() and strip_accents agree with Python on every code point", { skip }, () => {
  const { lower, strip } = read("unicode.json");
  const bad = [];
  // Elsewhere both are the identity: a code point is checked where Python maps it or V8 would.
  for (let cp = 0; cp < 0x110000; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const ch = String.fromCodePoint(cp);
    if (!(cp in lower) && !(cp in strip) && ch.toLowerCase() === ch && ch.normalize("NFKD") === ch) continue;
    if (pyLower(ch) !== (lower[cp] ?? ch)) bad.push(`lower U+${cp.toString(16)}`);
    if (stripAccentsUnicode(ch) !== (strip[cp] ?? ch)) bad.push(`strip U+${cp.toString(16)}`);
  }
  assert.deepEqual(bad.slice(0, 20), []);
});

test("murmurhash3 equals scikit-learn's", { skip }, () => {
  const { hashes } = read("tokens.json");
  const enc = new TextEncoder();
  for (const [text, h] of hashes) assert.equal(murmurhash3_32(enc.encode(text), 0), h, text);
});

test("bad folders and unsupported patterns are refused with a clear error", { skip }, () => {
  const { cases } = read("vectors.json");
  const c = cases[0];
  const files = new Map();
  for (const name of Object.keys(c.sha256)) files.set(name, new Uint8Array(readFileSync(join(DIR, c.dir, name))));
  const spec = JSON.parse(new TextDecoder().decode(files.get("portable.json")));
  const withSpec = (change) => {
    const s = structuredClone(spec);
    change(s);
    return new Map([...files, ["portable.json", new TextEncoder().encode(JSON.stringify(s))]]);
  };
  assert.throws(() => new PortableModel(withSpec((s) => (s.format_version = 99))), (e) => e instanceof PortableFormatError && /format version 99 is not supported/.test(e.message));
  assert.throws(() => new PortableModel(withSpec((s) => (s.features.branches[0].analyzer.token_pattern = "(?i)\\w+"))), PortableFormatError);
  const pickled = new Map(files);
  pickled.set("words.idf.npy", new Uint8Array(readFileSync(join(DIR, "object.npy"))));
  assert.throws(() => new PortableModel(pickled), /needs pickle|not one of/);
  for (const p of ["(?P<x>\\w+)", "(a)(b)", "\\w*", "(?>ab)", "a*+", "\\p{L}"]) assert.throws(() => translatePattern(p), PortableFormatError, p);
});

test("round4 rounds as Python's round(x, 4)", { skip }, () => {
  const { rounding } = read("tokens.json");
  for (const [x, r] of rounding) assert.equal(round4(x), r, String(x));
});
