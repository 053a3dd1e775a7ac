// Version folders saved by `train.workflow.train`, loaded as artclf.load_model loads them: the
// manifest's portable files, each sha256 checked, the canaries re-scored. Vectors are written by
// tests/test_js_runtime.py:  ARTCLF_PARITY_DIR=/tmp/... node --test js/test/
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { ModelIntegrityError, loadModel } from "../artclf.mjs";

const DIR = process.env.ARTCLF_PARITY_DIR;
const FILE = DIR && join(DIR, "versions", "versions.json");
const skip = !FILE || !existsSync(FILE) ? "ARTCLF_PARITY_DIR is not set: run tests/test_js_runtime.py, which writes the vectors" : false;
const read = () => JSON.parse(readFileSync(FILE, "utf-8"));

test("saved version folders load and answer as the Python runtime does", { skip }, async () => {
  const { versions } = read();
  assert.ok(versions.length >= 2);
  for (const v of versions) {
    const model = await loadModel(v.dir);
    assert.equal(model.version, v.version);
    assert.deepEqual(model.classify(v.texts), v.classify, `${v.name} classify`);
    model.rawScores(v.texts).forEach((row, i) => {
      for (const task of Object.keys(v.raw[i])) {
        assert.deepEqual(Object.keys(row[task]), Object.keys(v.raw[i][task]), `${v.name} #${i} ${task} label order`);
        for (const [label, want] of Object.entries(v.raw[i][task])) assert.ok(Math.abs(row[task][label] - want) <= 1e-6, `${v.name} #${i} ${task}.${label}`);
      }
    });
  }
  const multiclass = versions.find((v) => v.name === "multiclass");
  assert.ok(multiclass.classify.every((r) => typeof r.topic === "string" && r.topics.length === 1 && r.topics[0] === r.topic));
});

test("a changed portable file is refused on its sha256, with one clear message", { skip }, async () => {
  const { tampered } = read();
  await assert.rejects(loadModel(tampered.file.dir), (err) => {
    assert.ok(err instanceof ModelIntegrityError, String(err));
    assert.match(err.message, new RegExp(`${tampered.file.file}: sha256 does not match the manifest; the file was changed or damaged`));
    assert.equal(err.message.split("\n").length, 1);
    return true;
  });
});

test("canaries that no longer score as saved refuse the version", { skip }, async () => {
  const { tampered } = read();
  await assert.rejects(loadModel(tampered.canary.dir), (err) => err instanceof ModelIntegrityError && /predictions changed since saving: canary 1 .*tone_scores/.test(err.message));
  // The check can be skipped, as check_canaries=False does in Python.
  const model = await loadModel(tampered.canary.dir, null, { checkCanaries: false });
  assert.ok(model.classify(["oil"]).length === 1);
});

test("a version without portable files is refused with the recorded reason", { skip }, async () => {
  const { tampered } = read();
  await assert.rejects(loadModel(tampered.no_portable.dir), (err) => err instanceof ModelIntegrityError && /has no portable model files \(made up for this test\)/.test(err.message));
});
