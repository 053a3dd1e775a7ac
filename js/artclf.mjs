// artclf portable model runtime for JavaScript (Node >= 20, no dependencies).
//
// Reads the folder described in artclf/FORMAT.md and scores texts as the Python runtime does:
// scikit-learn's analyzer (Python str and re semantics, reproduced with the Unicode tables that
// js/gen_tables.py writes from Python), float32 TF-IDF, linear heads, sigmoid / softmax.
//
//   import { loadModel } from "./artclf.mjs";
//   const model = await loadModel("models/v3");   // a version folder, checked as Python checks it
//   model.classify(["Ministers met on Tuesday ..."]);
//
// A version folder (one with manifest.json) is loaded as artclf.load_model loads it: the manifest's
// list of portable files, the sha256 of each checked before anything is parsed, then the canary
// texts re-scored against the manifest's expected scores.

import { readFileSync } from "node:fs";
import { readFile, readdir } from "node:fs/promises";
import { createHash } from "node:crypto";
import { join } from "node:path";

export const FORMAT_NAME = "artclf-portable";
export const SUPPORTED_VERSIONS = [1, 2];
// manifest.json formats that can list portable files (artclf/loading.py PORTABLE_SINCE).
export const MANIFEST_FILE = "manifest.json";
const PORTABLE_SINCE = 3;
const CANARY_TOLERANCE = 1e-3;
export const MANIFEST_NAME = "portable.json";

export class PortableFormatError extends Error {
  constructor(message) {
    super(message);
    this.name = "PortableFormatError";
  }
}

// A version folder that fails its checks (a file changed since saving, canaries that moved).
export class ModelIntegrityError extends Error {
  constructor(message) {
    super(message);
    this.name = "ModelIntegrityError";
  }
}

// ---------------------------------------------------------------------------------------------
// Unicode sets (Python semantics)

function classBody(ranges) {
  const hex = (cp) => `\\u{${cp.toString(16)}}`;
  return ranges.map(([a, b]) => (a === b ? hex(a) : `${hex(a)}-${hex(b)}`)).join("");
}

function complement(ranges) {
  const out = [];
  let next = 0;
  for (const [a, b] of ranges) {
    if (a > next) out.push([next, a - 1]);
    next = b + 1;
  }
  if (next <= 0x10ffff) out.push([next, 0x10ffff]);
  return out;
}

// Built on first use (not at import): the tables are ~20 KB of ranges and a few large RegExps.
let UNICODE = null;

function unicode() {
  if (UNICODE) return UNICODE;
  const T = JSON.parse(readFileSync(new URL("./unicode_tables.json", import.meta.url), "utf-8"));
  const sets = {
    w: classBody(T.word),
    W: classBody(complement(T.word)),
    d: classBody(T.digit),
    D: classBody(complement(T.digit)),
    s: classBody(T.space),
    S: classBody(complement(T.space)),
  };
  const combining = new Set();
  for (const [a, b] of T.combining) for (let c = a; c <= b; c++) combining.add(c);
  // Code points this Python does not know: its lower() and NFKD leave them alone; V8's may not.
  const unassigned = classBody(T.unassigned);
  UNICODE = {
    version: T.unicode_version,
    sets,
    word: `[${sets.w}]`,
    spaceRuns: new RegExp(`[${sets.s}]+`, "u"),
    combining,
    unassigned: new RegExp(`[${unassigned}]`, "u"),
    unassignedRuns: new RegExp(`[${unassigned}]+`, "gu"),
  };
  return UNICODE;
}

function mapKnown(text, fn) {
  const u = unicode();
  if (!u.unassigned.test(text)) return fn(text);
  let out = "";
  let last = 0;
  for (const m of text.matchAll(u.unassignedRuns)) {
    out += fn(text.slice(last, m.index)) + m[0];
    last = m.index + m[0].length;
  }
  return out + fn(text.slice(last));
}

export function pyLower(text) {
  return mapKnown(text, (s) => s.toLowerCase());
}

export function stripAccentsUnicode(text) {
  // ASCII is returned as it is (scikit-learn's fast path).
  if (/^[\x00-\x7f]*$/.test(text)) return text;
  const normalized = mapKnown(text, (s) => s.normalize("NFKD"));
  let out = "";
  for (const ch of normalized) if (!unicode().combining.has(ch.codePointAt(0))) out += ch;
  return out;
}

export function pySplit(text) {
  return text.split(unicode().spaceRuns).filter((w) => w.length > 0);
}

// ---------------------------------------------------------------------------------------------
// Token pattern: a Python `re` pattern translated to an equivalent JS RegExp (flag u).
//
// Supported: literals; escaped punctuation; \w \W \d \D \s \S (Python's Unicode sets) and \b \B,
// also inside [...]; \t \n \r \f \v \xhh \uhhhh \Uhhhhhhhh \0; character classes with ranges and
// negation; . (any but \n); groups ( ), (?: ), lookarounds (?= ) (?! ) (?<= ) (?<! ); quantifiers
// * + ? {m} {m,} {m,n} {,n} and their lazy forms; | ; ^ $ \A \Z; a leading (?u).
// Refused with a PortableFormatError: other inline flags, named groups, backreferences, atomic
// groups and possessive quantifiers, conditionals, \N{...}, \p, more than one capturing group.

const SYNTAX = new Set("^$\\.*+?()[]{}|/".split(""));

function escapeLiteral(ch, inClass) {
  if (inClass) return "\\]^-[".includes(ch) || ch === "\\" ? `\\${ch}` : ch === "/" ? "\\/" : ch;
  return SYNTAX.has(ch) ? `\\${ch}` : ch;
}

export function translatePattern(source) {
  const { sets, word: WORD } = unicode();
  let src = source;
  if (src.startsWith("(?u)")) src = src.slice(4);
  const cps = Array.from(src);
  let i = 0;
  let groups = 0;
  let out = "";
  const fail = (why) => {
    throw new PortableFormatError(`token_pattern ${JSON.stringify(source)}: ${why} (see FORMAT.md, "Token pattern subset")`);
  };
  const hexAt = (n) => {
    const h = cps.slice(i, i + n).join("");
    if (h.length !== n || !/^[0-9a-fA-F]+$/.test(h)) fail("bad hex escape");
    i += n;
    return parseInt(h, 16);
  };
  // One escape (after the backslash); returns [kind, text] where kind is "set", "char" or "assert".
  const escape = (inClass) => {
    if (i >= cps.length) fail("trailing backslash");
    const c = cps[i++];
    if ("wWdDsS".includes(c)) return ["set", sets[c]];
    if (c === "b" && !inClass) return ["assert", `(?:(?<=${WORD})(?!${WORD})|(?<!${WORD})(?=${WORD}))`];
    if (c === "B" && !inClass) return ["assert", `(?:(?<=${WORD})(?=${WORD})|(?<!${WORD})(?!${WORD}))`];
    if (c === "b" && inClass) return ["char", 8];
    if (c === "A" && !inClass) return ["assert", "^"];
    if (c === "Z" && !inClass) return ["assert", "$"];
    const simple = { t: 9, n: 10, r: 13, f: 12, v: 11, a: 7 };
    if (c in simple) return ["char", simple[c]];
    if (c === "x") return ["char", hexAt(2)];
    if (c === "u") return ["char", hexAt(4)];
    if (c === "U") return ["char", hexAt(8)];
    if (c === "0") return ["char", 0];
    if (/[0-9]/.test(c)) fail("backreferences are not supported");
    if (/[A-Za-z]/.test(c)) fail(`escape \\${c} is not supported`);
    return ["char", c.codePointAt(0)];
  };
  const charText = (cp, inClass) => (cp < 0x20 || cp === 0x7f ? `\\u{${cp.toString(16)}}` : escapeLiteral(String.fromCodePoint(cp), inClass));

  while (i < cps.length) {
    const c = cps[i++];
    if (c === "\\" && cps[i] === "b") {
      // \b next to a \w that must match needs only one side checked (the generic form tests
      // both neighbours against the large \w class, most of the matching time).
      i++;
      const wordSet = `[${sets.w}]`;
      const after = cps.slice(i, i + 3).join("");
      if (after.startsWith("\\w") && !"*?{".includes(cps[i + 2] ?? "")) out += `(?<!${WORD})`;
      else if (out.endsWith(wordSet) || out.endsWith(`${wordSet}+`) || out.endsWith(`${wordSet}+?`)) out += `(?!${WORD})`;
      else out += `(?:(?<=${WORD})(?!${WORD})|(?<!${WORD})(?=${WORD}))`;
    } else if (c === "\\") {
      const [kind, text] = escape(false);
      out += kind === "set" ? `[${text}]` : kind === "char" ? charText(text, false) : text;
    } else if (c === "[") {
      let body = "";
      if (cps[i] === "^") {
        body += "^";
        i++;
      }
      let first = true;
      while (i < cps.length && (cps[i] !== "]" || first)) {
        const d = cps[i++];
        first = false;
        if (d === "\\") {
          const [kind, text] = escape(true);
          body += kind === "set" ? text : charText(text, true);
        } else if (d === "[" && cps[i] === ":") {
          fail("POSIX classes are not supported");
        } else if (d === "-") {
          body += i < cps.length && cps[i] !== "]" && body !== "" && body !== "^" ? "-" : "\\-";
        } else {
          body += charText(d.codePointAt(0), true);
        }
      }
      if (i >= cps.length) fail("unterminated character class");
      i++;
      out += `[${body}]`;
    } else if (c === "(") {
      if (cps[i] === "?") {
        const next = cps.slice(i + 1, i + 3).join("");
        if (next.startsWith(":") || next.startsWith("=") || next.startsWith("!")) {
          out += `(?${cps[i + 1]}`;
          i += 2;
        } else if (next === "<=" || next === "<!") {
          out += `(?${next}`;
          i += 3;
        } else {
          fail(`group (?${next}... is not supported`);
        }
      } else {
        groups += 1;
        out += "(";
      }
    } else if (c === "{") {
      const m = /^(\d*)(,?)(\d*)\}/.exec(cps.slice(i, i + 24).join(""));
      if (!m || (m[1] === "" && m[2] === "")) {
        out += "\\{"; // Python treats a brace that is not a quantifier as a literal
      } else {
        out += `{${m[1] === "" ? "0" : m[1]}${m[2]}${m[3]}}`;
        i += m[0].length;
      }
      if (cps[i] === "+") fail("possessive quantifiers are not supported");
    } else if (c === "*" || c === "+" || c === "?") {
      out += c;
      if (cps[i] === "+") fail("possessive quantifiers are not supported");
    } else if (c === ".") {
      out += "[^\\n]";
    } else if (c === "$") {
      out += "(?=\\n?$)"; // Python's $ also matches before a final newline
    } else if (c === "^" || c === "|" || c === ")") {
      out += c;
    } else if (c === "}" || c === "]" || c === "/") {
      out += `\\${c}`;
    } else {
      out += c;
    }
  }
  if (groups > 1) fail("more than one capturing group");
  let regex;
  try {
    regex = new RegExp(out, "gu");
  } catch (err) {
    fail(`cannot be translated (${err.message})`);
  }
  // After an empty match ECMAScript moves on one character, where Python's findall first tries a
  // non-empty match at the same place: the two differ only for patterns that can match nothing.
  if (new RegExp(`^(?:${out})$`, "u").test("")) fail("a pattern that matches the empty string is not supported");
  return { regex, groups };
}

// ---------------------------------------------------------------------------------------------
// Analyzer

function wordNgrams(tokens, [minN, maxN], stop) {
  if (stop) tokens = tokens.filter((t) => !stop.has(t));
  if (maxN === 1) return tokens;
  const out = minN === 1 ? tokens.slice() : [];
  const start = minN === 1 ? 2 : minN;
  for (let n = start; n <= Math.min(maxN, tokens.length); n++) {
    for (let i = 0; i + n <= tokens.length; i++) out.push(tokens.slice(i, i + n).join(" "));
  }
  return out;
}

function charWbNgrams(text, [minN, maxN]) {
  const out = [];
  for (const word of pySplit(text)) {
    const w = [" ", ...Array.from(word), " "];
    for (let n = minN; n <= maxN; n++) {
      let offset = 0;
      out.push(w.slice(offset, offset + n).join(""));
      while (offset + n < w.length) {
        offset += 1;
        out.push(w.slice(offset, offset + n).join(""));
      }
      if (offset === 0) break; // a short word counts once
    }
  }
  return out;
}

export class Analyzer {
  constructor(spec) {
    this.kind = spec.kind;
    this.lowercase = Boolean(spec.lowercase);
    this.stripAccents = spec.strip_accents === "unicode";
    if (spec.strip_accents !== null && spec.strip_accents !== "unicode") throw new PortableFormatError(`strip_accents ${spec.strip_accents} is not supported`);
    this.ngramRange = spec.ngram_range;
    if (this.kind === "word") {
      const { regex, groups } = translatePattern(spec.token_pattern);
      this.regex = regex;
      this.groups = groups;
      this.stop = spec.stop_words ? new Set(spec.stop_words) : null;
    } else if (this.kind !== "char_wb") {
      throw new PortableFormatError(`unknown analyzer kind ${this.kind}`);
    }
  }

  preprocess(text) {
    if (this.lowercase) text = pyLower(text);
    if (this.stripAccents) text = stripAccentsUnicode(text);
    return text;
  }

  analyze(text) {
    const doc = this.preprocess(text);
    if (this.kind === "char_wb") return charWbNgrams(doc, this.ngramRange);
    const tokens = [];
    // Python's findall: the whole match, or the one group ("" when it did not take part).
    for (const m of doc.matchAll(this.regex)) tokens.push(this.groups === 1 ? m[1] ?? "" : m[0]);
    return wordNgrams(tokens, this.ngramRange, this.stop);
  }
}

// ---------------------------------------------------------------------------------------------
// Hashing: MurmurHash3 x86_32 of the UTF-8 bytes, seed 0, signed; column abs(h) mod n.

const ENCODER = new TextEncoder();

export function murmurhash3_32(bytes, seed = 0) {
  let h = seed >>> 0;
  const n = bytes.length;
  const blocks = n & ~3;
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  for (let i = 0; i < blocks; i += 4) {
    let k = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let k = 0;
  const tail = n & 3;
  if (tail === 3) k ^= bytes[blocks + 2] << 16;
  if (tail >= 2) k ^= bytes[blocks + 1] << 8;
  if (tail >= 1) {
    k ^= bytes[blocks];
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= n;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

export function hashedIndex(term, nFeatures) {
  const h = murmurhash3_32(ENCODER.encode(term), 0);
  if (h === -2147483648) return (2147483647 - (nFeatures - 1)) % nFeatures;
  return Math.abs(h) % nFeatures;
}

// ---------------------------------------------------------------------------------------------
// .npy (version 1, 2 or 3; little-endian f4 f8 i4 i8; C order)

const NPY_TYPES = { "<f4": Float32Array, "<f8": Float64Array, "<i4": Int32Array, "<i8": BigInt64Array };

export function parseNpy(bytes, name, allowed = Object.keys(NPY_TYPES)) {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || !magic.every((b, i) => bytes[i] === b)) throw new PortableFormatError(`${name}: not a .npy file`);
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen;
  let start;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    headerLen = view.getUint32(8, true);
    start = 12;
  } else {
    throw new PortableFormatError(`${name}: .npy version ${major} is not supported`);
  }
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']*)'/.exec(header);
  const fortran = /'fortran_order':\s*(True|False)/.exec(header);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) throw new PortableFormatError(`${name}: malformed .npy header`);
  if (descr[1].includes("O") || descr[1].startsWith("|") && descr[1] !== "|u1") throw new PortableFormatError(`${name}: dtype ${descr[1]} needs pickle or is not numeric; refused`);
  if (!allowed.includes(descr[1])) throw new PortableFormatError(`${name}: dtype ${descr[1]} is not one of ${allowed.join(", ")}`);
  if (fortran[1] === "True") throw new PortableFormatError(`${name}: Fortran-order arrays are not part of the format`);
  const dims = shape[1].split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  const Type = NPY_TYPES[descr[1]];
  const offset = start + headerLen;
  if (bytes.length - offset !== count * Type.BYTES_PER_ELEMENT) throw new PortableFormatError(`${name}: ${bytes.length - offset} data bytes for shape (${dims})`);
  // Copied so the typed array is aligned whatever the file's offset in its buffer.
  const raw = new Type(bytes.slice(offset, offset + count * Type.BYTES_PER_ELEMENT).buffer);
  const data = Type === BigInt64Array ? Float64Array.from(raw, (v) => Number(v)) : raw;
  return { dtype: descr[1], shape: dims, data };
}

// ---------------------------------------------------------------------------------------------
// Model

function need(condition, message) {
  if (!condition) throw new PortableFormatError(message);
}

function npy(files, name, allowed, ndim) {
  need(typeof name === "string" && files.has(name), `${MANIFEST_NAME} names array file ${JSON.stringify(name)}, which is not in the model folder`);
  const array = parseNpy(files.get(name), name, allowed);
  need(ndim === undefined || array.shape.length === ndim, `${name}: expected ${ndim} dimension(s), found shape (${array.shape})`);
  return array;
}

class Branch {
  constructor(spec, files) {
    this.name = spec.name;
    this.prefix = spec.explain_prefix;
    this.nFeatures = spec.n_features;
    this.analyzer = new Analyzer(spec.analyzer);
    const terms = spec.terms;
    this.hashed = terms.kind === "hashing";
    if (this.hashed) {
      need(terms.hash === "murmurhash3_x86_32" && terms.seed === 0 && terms.alternate_sign === false && terms.n_features === this.nFeatures, `branch ${this.name}: unsupported hashing spec`);
    } else {
      need(terms.kind === "vocabulary", `branch ${this.name}: unknown terms kind ${terms.kind}`);
      need(files.has(terms.file), `vocabulary file ${terms.file} is not in the model folder`);
      const names = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(files.get(terms.file)));
      need(Array.isArray(names) && names.length === this.nFeatures, `${terms.file}: ${names.length} terms for a branch of ${this.nFeatures} columns`);
      this.vocabulary = new Map(names.map((t, i) => [t, i]));
      need(this.vocabulary.size === names.length, `${terms.file}: duplicate terms`);
    }
    this.sublinear = Boolean(spec.tfidf.sublinear_tf);
    this.norm = spec.tfidf.norm;
    need(this.norm === "l2" || this.norm === null, `branch ${this.name}: norm ${this.norm} is not supported`);
    this.idf = null;
    if (spec.tfidf.idf_file !== null && spec.tfidf.idf_file !== undefined) {
      const idf = npy(files, spec.tfidf.idf_file, ["<f4", "<f8"], 1);
      need(idf.shape[0] === this.nFeatures, `${spec.tfidf.idf_file}: ${idf.shape[0]} IDF values for a branch of ${this.nFeatures} columns`);
      this.idf = idf.data;
    }
  }

  // One text -> [sorted column indices, values], with scikit-learn's TfidfTransformer arithmetic.
  transform(text, f32) {
    const counts = new Map();
    for (const term of this.analyzer.analyze(text)) {
      const j = this.hashed ? hashedIndex(term, this.nFeatures) : this.vocabulary.get(term);
      if (j !== undefined) counts.set(j, (counts.get(j) ?? 0) + 1);
    }
    const cols = Array.from(counts.keys()).sort((a, b) => a - b);
    const round = f32 ? Math.fround : (x) => x;
    const values = cols.map((j) => {
      let v = counts.get(j);
      if (this.sublinear) v = round(round(Math.log(v)) + 1);
      if (this.idf) v = round(v * this.idf[j]);
      return v;
    });
    if (this.norm === "l2") {
      let sum = 0;
      for (const v of values) sum += round(v * v);
      if (sum !== 0) {
        const norm = Math.sqrt(sum);
        for (let k = 0; k < values.length; k++) values[k] = round(values[k] / norm);
      }
    }
    return [cols, values];
  }
}

class Head {
  constructor(spec, files, nFeatures, nOutputs, task) {
    this.k = nOutputs;
    const coef = spec.coef;
    if (coef.layout === "dense") {
      const W = npy(files, coef.file, ["<f4", "<f8"], 2);
      need(W.shape[0] === nOutputs && W.shape[1] === nFeatures, `${coef.file}: shape (${W.shape}), expected (${nOutputs},${nFeatures})`);
      this.dense = W.data;
      this.nFeatures = nFeatures;
    } else if (coef.layout === "csc") {
      need(coef.shape[0] === nOutputs && coef.shape[1] === nFeatures, `${task} coef shape (${coef.shape}), expected (${nOutputs},${nFeatures})`);
      this.data = npy(files, coef.data_file, ["<f4", "<f8"], 1).data;
      this.rows = npy(files, coef.indices_file, ["<i4", "<i8"], 1).data;
      this.ptr = npy(files, coef.indptr_file, ["<i4", "<i8"], 1).data;
      need(this.ptr.length === nFeatures + 1 && this.ptr[0] === 0 && this.ptr[nFeatures] === this.data.length && this.rows.length === this.data.length, `${task} coef: inconsistent CSC arrays`);
      for (const r of this.rows) need(r >= 0 && r < nOutputs, `${task} coef: row index out of range`);
    } else {
      throw new PortableFormatError(`${task} coef: unknown layout ${coef.layout}`);
    }
    const b = npy(files, spec.intercept_file, ["<f4", "<f8"], 1);
    need(b.shape[0] === nOutputs, `${spec.intercept_file}: shape (${b.shape}), expected (${nOutputs})`);
    this.intercept = Array.from(b.data);
    this.w32 = (this.dense ?? this.data) instanceof Float32Array;
    this.b32 = b.data instanceof Float32Array;
    this.sum32 = false; // set by the model: float32 features and float32 weights
  }

  // FORMAT.md, "Linear heads": products and sums in the common dtype of features and weights,
  // feature after feature from zero (float32 when both are float32, as scikit-learn does).
  decision(cols, values) {
    const r32 = this.sum32 ? Math.fround : (x) => x;
    const out = this.intercept.map(() => 0);
    for (let t = 0; t < cols.length; t++) {
      const j = cols[t];
      const v = values[t];
      if (this.dense) {
        for (let r = 0; r < this.k; r++) out[r] = r32(out[r] + r32(v * this.dense[r * this.nFeatures + j]));
      } else {
        for (let p = this.ptr[j]; p < this.ptr[j + 1]; p++) out[this.rows[p]] = r32(out[this.rows[p]] + r32(v * this.data[p]));
      }
    }
    return out.map((d, r) => (this.sum32 && this.b32 ? Math.fround(d + this.intercept[r]) : d + this.intercept[r]));
  }
}

// One class per text (tone; a multiclass topic, format version 2): probabilities in `labels` order.
class ClassHead {
  constructor(spec, files, nFeatures, task) {
    this.classes = spec.classes.map(String);
    this.labels = spec.labels.map(String);
    need([...this.labels].sort().join("\u0000") === [...this.classes].sort().join("\u0000") && new Set(this.classes).size === this.classes.length && this.classes.length >= 2, `${task} labels must be the classes in report order`);
    const outputs = { softmax: this.classes.length, logistic_binary: 1, softmax_binary: 1 };
    need(spec.link in outputs, `${task} link ${spec.link} is not supported`);
    need(spec.link === "softmax" || this.classes.length === 2, `${task} link ${spec.link} needs exactly two classes`);
    this.link = spec.link;
    this.head = new Head(spec, files, nFeatures, outputs[spec.link], task);
    this.columns = this.labels.map((l) => this.classes.indexOf(l));
  }

  probabilities(cols, values) {
    const d = this.head.decision(cols, values);
    let probs;
    if (this.link === "logistic_binary") {
      const p = sigmoid(d[0]);
      probs = [1 - p, p];
    } else if (this.link === "softmax_binary") {
      probs = softmax([-d[0], d[0]]);
    } else {
      probs = softmax(d);
    }
    return this.columns.map((c) => probs[c]);
  }
}

const argmax = (xs) => {
  let best = 0;
  for (let j = 1; j < xs.length; j++) if (xs[j] > xs[best]) best = j; // first maximum, as numpy's argmax
  return best;
};

const sigmoid = (x) => 1 / (1 + Math.exp(-x));

// Calibration maps (FORMAT.md, "Calibration"): a topic label's folded decision value -> probability.
const IDENTITY = { kind: "platt", a: 1, b: 0, threshold: 0.5 };
const finite = (x) => typeof x === "number" && Number.isFinite(x);

function checkBinaryMap(m, where) {
  need(m && typeof m === "object", `${where}: calibration must be an object`);
  if (m.kind === "platt") {
    need(finite(m.a) && finite(m.b) && m.a > 0, `${where}: platt calibration needs finite a > 0 and b`);
  } else if (m.kind === "isotonic") {
    need(Array.isArray(m.x) && Array.isArray(m.y) && m.x.length >= 1 && m.x.length === m.y.length && m.x.length <= 100000
      && m.x.every(finite) && m.y.every(finite), `${where}: isotonic calibration needs lists x and y of equal length of finite numbers`);
    for (let i = 1; i < m.x.length; i++) need(m.x[i] > m.x[i - 1] && m.y[i] >= m.y[i - 1], `${where}: isotonic calibration needs increasing x and non-decreasing y`);
    need(m.y[0] >= 0 && m.y[m.y.length - 1] <= 1, `${where}: isotonic probabilities must be in [0, 1]`);
  } else {
    need(false, `${where}: unknown calibration kind ${m.kind}`);
  }
  need(finite(m.threshold) && m.threshold >= 0 && m.threshold <= 1, `${where}: calibration threshold must be a number in [0, 1]`);
  return m;
}

// numpy.interp: constant beyond the ends, linear between the points.
function interp(x, xs, ys) {
  const n = xs.length;
  if (!(x > xs[0])) return ys[0];
  if (x >= xs[n - 1]) return ys[n - 1];
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] <= x) lo = mid;
    else hi = mid;
  }
  const slope = (ys[lo + 1] - ys[lo]) / (xs[lo + 1] - xs[lo]);
  return slope * (x - xs[lo]) + ys[lo];
}

function binaryProbability(d, m) {
  return m.kind === "platt" ? 1 / (1 + Math.exp(-(m.a * d + m.b))) : interp(d, m.x, m.y);
}

// The tone map: p ** scale, renormalised (softmax of scale x logits); never changes the top tone.
function temper(p, m) {
  if (!m || m.scale === 1) return p;
  const logs = p.map((x) => Math.log(x) * m.scale);
  const top = Math.max(...logs);
  const z = logs.map((x) => Math.exp(x - top));
  const s = z.reduce((a, b) => a + b, 0);
  return z.map((x) => x / s);
}

function softmax(xs) {
  const m = Math.max(...xs);
  const z = xs.map((x) => Math.exp(x - m));
  const s = z.reduce((a, b) => a + b, 0);
  return z.map((x) => x / s);
}

// Python's round(x, 4): nearest, ties (exact in binary only for multiples of 1/32) to even.
export function round4(x) {
  const scaled = x * 1e4;
  if (Number.isInteger(x * 32) && Math.abs(scaled - Math.trunc(scaled)) === 0.5) {
    const lo = Math.floor(scaled);
    return (lo % 2 === 0 ? lo : lo + 1) / 1e4;
  }
  return Number(x.toFixed(4));
}

export class PortableModel {
  // files: Map of file name -> Uint8Array (already checked against the manifest's sha256).
  constructor(files) {
    need(files.has(MANIFEST_NAME), `${MANIFEST_NAME} is missing from the model folder`);
    let spec;
    try {
      spec = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(files.get(MANIFEST_NAME)));
    } catch (err) {
      throw new PortableFormatError(`${MANIFEST_NAME}: not valid JSON (${err.message})`);
    }
    need(spec && spec.format === FORMAT_NAME, `${MANIFEST_NAME}: not an ${FORMAT_NAME} file`);
    need(SUPPORTED_VERSIONS.includes(spec.format_version), `${MANIFEST_NAME}: format version ${spec.format_version} is not supported by this runtime (it reads ${SUPPORTED_VERSIONS.join(", ")}); upgrade to load this model`);
    // Tables from another Unicode version could tokenize some characters differently.
    need(spec.unicode_version === unicode().version, `model exported with Unicode ${spec.unicode_version}, these tables are Unicode ${unicode().version}; regenerate js/unicode_tables.json with the exporting Python (js/gen_tables.py)`);
    try {
      this.#build(spec, files);
    } catch (err) {
      if (err instanceof PortableFormatError) throw err;
      throw new PortableFormatError(`${MANIFEST_NAME}: missing or malformed field (${err.message})`);
    }
  }

  #build(spec, files) {
    const f = spec.features;
    need(f.dtype === "float32" || f.dtype === "float64", `features dtype ${f.dtype} is not supported`);
    this.f32 = f.dtype === "float32";
    this.branches = f.branches.map((b) => new Branch(b, files));
    need(this.branches.length >= 1, "features: no branches");
    this.offsets = [];
    let offset = 0;
    f.branches.forEach((b, i) => {
      need(b.offset === offset, `branch ${b.name}: offset ${b.offset}, expected ${offset}`);
      this.offsets.push(offset);
      offset += this.branches[i].nFeatures;
    });
    need(f.n_features === offset, `features: n_features ${f.n_features} but branches add up to ${offset}`);
    this.topicLabels = [];
    this.toneLabels = [];
    this.topicMode = "multilabel";
    if (spec.topic) {
      this.topicMode = spec.topic.mode ?? "multilabel";
      need(this.topicMode === "multilabel" || this.topicMode === "multiclass", `topic mode ${this.topicMode} is not supported`);
      if (this.topicMode === "multiclass") {
        need(spec.format_version >= 2, "a multiclass topic head needs format version 2");
        // Multiclass topic heads are not calibrated: no maps, the highest score is the topic.
        need(spec.topic.calibration === undefined || spec.topic.calibration === null, "a multiclass topic head carries no calibration");
        this.topic = new ClassHead(spec.topic, files, offset, "topic");
        this.topicLabels = this.topic.labels;
      } else {
        need(spec.topic.link === "sigmoid", `topic link ${spec.topic.link} is not supported`);
        this.topicLabels = spec.topic.labels.map(String);
        this.topic = new Head(spec.topic, files, offset, this.topicLabels.length, "topic");
        this.constant = spec.topic.constant_scores ?? this.topicLabels.map(() => null);
        need(this.constant.length === this.topicLabels.length, "topic constant_scores: one entry per label expected");
        const stored = spec.topic.calibration ?? null;
        need(stored === null || spec.format_version >= 2, "topic calibration needs format version 2");
        const maps = stored ?? this.topicLabels.map(() => IDENTITY);
        need(Array.isArray(maps) && maps.length === this.topicLabels.length, "topic calibration: one map per label expected");
        this.topicMaps = maps.map((m, j) => checkBinaryMap(m, `topic calibration of ${this.topicLabels[j]}`));
        this.topicThresholds = this.topicMaps.map((m) => m.threshold);
      }
    }
    const topicHead = this.topic?.head ?? this.topic; // a ClassHead wraps its Head
    if (topicHead) topicHead.sum32 = this.f32 && topicHead.w32;
    if (spec.tone) {
      const t = spec.tone;
      this.tone = new ClassHead(t, files, offset, "tone");
      this.tone.head.sum32 = this.f32 && this.tone.head.w32;
      this.toneClasses = this.tone.classes;
      this.toneLabels = this.tone.labels;
      this.toneMap = t.calibration ?? null;
      if (this.toneMap !== null) {
        need(spec.format_version >= 2, "tone calibration needs format version 2");
        need(this.toneMap.kind === "temperature" && finite(this.toneMap.scale) && this.toneMap.scale > 0, "tone calibration must be {kind: temperature, scale > 0}");
      }
    }
    need(this.topic || this.tone, "the model has neither a topic nor a tone head");
    // Texts with too little evidence (FORMAT.md): own maps, never every topic.
    this.evidence = null;
    if (spec.evidence !== undefined && spec.evidence !== null) {
      const e = spec.evidence;
      need(spec.format_version >= 2, "evidence maps need format version 2");
      need(this.topicMode === "multilabel" || !e.topic || Object.keys(e.topic).length === 0, "a multiclass topic head carries no calibration (evidence topic maps)");
      need(Number.isInteger(e.min_terms) && e.min_terms >= 1 && e.min_terms <= 100, "evidence min_terms must be an integer in 1..100");
      need(Array.isArray(e.stop_words) && e.stop_words.every((w) => typeof w === "string"), "evidence stop_words must be a list of strings");
      const topicMaps = e.topic ?? {};
      for (const label of Object.keys(topicMaps)) need(this.topicLabels.includes(label), "evidence topic maps must be keyed by the model's labels");
      if (e.tone !== undefined && e.tone !== null) need(e.tone.kind === "temperature" && finite(e.tone.scale) && e.tone.scale > 0, "evidence tone calibration must be {kind: temperature, scale > 0}");
      this.evidence = {
        minTerms: e.min_terms,
        stop: new Set(e.stop_words),
        topic: this.topicLabels.map((l) => (l in topicMaps ? checkBinaryMap(topicMaps[l], `evidence ${l}`) : null)),
        tone: e.tone ?? null,
        words: this.branches.find((b) => b.name === "words") ?? null,
      };
    }
  }

  features(text) {
    const cols = [];
    const values = [];
    this.branches.forEach((b, i) => {
      const [c, v] = b.transform(text, this.f32);
      for (let k = 0; k < c.length; k++) {
        cols.push(c[k] + this.offsets[i]);
        values.push(v[k]);
      }
    });
    return [cols, values];
  }

  // { topic: [..] | null, tone: [..] | null } per text, in topicLabels / toneLabels order.
  lowEvidence(text) {
    const e = this.evidence;
    if (!e || !e.words) return false;
    const seen = new Set();
    for (const t of e.words.analyzer.analyze(text)) {
      if (t && !t.includes(" ") && !e.stop.has(t) && (e.words.hashed || e.words.vocabulary.has(t))) seen.add(t);
    }
    return seen.size < e.minTerms;
  }

  scores(text) {
    const [cols, values] = this.features(text);
    const low = this.lowEvidence(text);
    let topic = null;
    let tone = null;
    if (this.topicMode === "multiclass") {
      topic = this.topic.probabilities(cols, values);
    } else if (this.topic) {
      topic = this.topic.decision(cols, values).map((d, j) => {
        if (this.constant[j] !== null) return this.constant[j];
        const m = low && this.evidence.topic[j] ? this.evidence.topic[j] : this.topicMaps[j];
        return binaryProbability(d, m);
      });
    }
    if (this.tone) {
      // Labels order; tempering is per row and order-free.
      tone = temper(this.tone.probabilities(cols, values), low && this.evidence.tone ? this.evidence.tone : this.toneMap);
    }
    return { topic, tone, low };
  }

  rawScores(texts) {
    return texts.map((text) => {
      const { topic, tone } = this.scores(text);
      const row = {};
      if (topic) row.topic_scores = Object.fromEntries(this.topicLabels.map((l, j) => [l, topic[j]]));
      if (tone) row.tone_scores = Object.fromEntries(this.toneLabels.map((l, j) => [l, tone[j]]));
      return row;
    });
  }

  classify(texts) {
    return texts.map((text) => {
      const { topic, tone, low } = this.scores(text);
      const row = {};
      if (topic) {
        if (this.topicMode === "multiclass") {
          // Exactly one topic: "topic", and "topics" as a one-element list (as the Python runtime).
          row.topic = this.topicLabels[argmax(topic)];
          row.topics = [row.topic];
        } else {
          let on = topic.map((p, j) => p >= this.topicThresholds[j]);
          if (low && on.length >= 2 && on.every(Boolean)) {
            // Too little evidence never gets every topic: drop the smallest margin (the first on ties).
            const margins = topic.map((p, j) => p - this.topicThresholds[j]);
            on[margins.indexOf(Math.min(...margins))] = false;
          }
          row.topics = this.topicLabels.filter((_, j) => on[j]);
        }
        row.topic_scores = Object.fromEntries(this.topicLabels.map((l, j) => [l, round4(topic[j])]));
      }
      if (tone) {
        row.tone = this.toneLabels[argmax(tone)];
        row.tone_scores = Object.fromEntries(this.toneLabels.map((l, j) => [l, round4(tone[j])]));
      }
      if (low) row.low_evidence = true;
      return row;
    });
  }
}

const sha256Hex = (bytes) => createHash("sha256").update(bytes).digest("hex");

// A version folder (with manifest.json) or a bare portable folder. A version folder is checked as
// artclf.load_model checks it: the manifest lists the portable files, each file's sha256 must match
// before anything is parsed, the labels must be the manifest's, and the canary texts must score as
// saved (pass { checkCanaries: false } to skip that step). For a bare folder, `sha256`
// ({name: hex}) checks each file first.
export async function loadModel(dir, sha256 = null, { checkCanaries = true } = {}) {
  const names = await readdir(dir);
  if (names.includes(MANIFEST_FILE)) return loadVersion(dir, { checkCanaries });
  const files = new Map();
  for (const name of names) {
    const bytes = new Uint8Array(await readFile(join(dir, name)));
    if (sha256) {
      if (!(name in sha256)) continue;
      const digest = sha256Hex(bytes);
      need(digest === sha256[name], `${name}: sha256 ${digest} does not match the manifest's ${sha256[name]}`);
    }
    files.set(name, bytes);
  }
  if (sha256) for (const name of Object.keys(sha256)) need(files.has(name), `${name}: listed in the manifest but missing`);
  return new PortableModel(files);
}

function refuse(message) {
  throw new ModelIntegrityError(message);
}

async function loadVersion(dir, { checkCanaries }) {
  const where = join(dir, MANIFEST_FILE);
  let manifest;
  try {
    manifest = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(await readFile(where)));
  } catch (err) {
    refuse(`${where}: not valid JSON (${err.message}); the version is damaged`);
  }
  if (!manifest || typeof manifest !== "object" || typeof manifest.files !== "object" || manifest.files === null) refuse(`${where}: no 'files' record; the version is damaged`);
  const portable = manifest.portable;
  if (!(manifest.format_version >= PORTABLE_SINCE) || !portable || !portable.available) {
    refuse(`${dir}: has no portable model files (${(portable && portable.reason) || "saved before the portable format existed"}); retrain it with this artclf, or load it in Python with train.store.load.load_model`);
  }
  const listed = portable.files;
  if (!Array.isArray(listed) || !listed.includes(MANIFEST_NAME) || !listed.every((n) => typeof n === "string" && /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(n))) {
    refuse(`${where}: 'portable.files' must list the portable files including ${MANIFEST_NAME}; the version is damaged`);
  }
  const files = new Map();
  for (const name of listed) {
    const record = manifest.files[name];
    if (!record || typeof record.sha256 !== "string") refuse(`${where}: portable file ${name} is not in 'files' (no sha256); the version is damaged`);
    let bytes;
    try {
      bytes = new Uint8Array(await readFile(join(dir, name)));
    } catch (err) {
      refuse(`${join(dir, name)}: listed in the manifest but cannot be read (${err.code ?? err.message}); restore the version or retrain`);
    }
    // Checked before anything is parsed.
    if (sha256Hex(bytes) !== record.sha256) refuse(`${join(dir, name)}: sha256 does not match the manifest; the file was changed or damaged since saving; restore the version or retrain`);
    files.set(name, bytes);
  }
  const model = new PortableModel(files);
  model.manifest = manifest;
  model.version = String(manifest.version ?? "");
  const labels = manifest.labels ?? {};
  const sameSet = (a, b) => [...(a ?? [])].sort().join("\u0000") === [...(b ?? [])].sort().join("\u0000");
  const topicsOk = model.topicMode === "multiclass" ? sameSet(labels.topics, model.topicLabels) : (labels.topics ?? []).join("\u0000") === model.topicLabels.join("\u0000");
  if (!topicsOk || !sameSet(labels.tone, model.toneLabels)) refuse(`${where}: labels do not match the model files'; the manifest or the files were changed; restore the version or retrain`);
  if (checkCanaries) verifyCanaries(model, manifest);
  return model;
}

// The manifest's canary texts re-scored: any score further than the tolerance from the saved one refuses the version.
export function verifyCanaries(model, manifest) {
  const canaries = manifest.canaries;
  if (!canaries) return null;
  const where = `model ${manifest.version ?? "?"}`;
  const texts = canaries.texts;
  const expected = canaries.expected;
  const tol = Number(canaries.tolerance ?? CANARY_TOLERANCE);
  if (!Array.isArray(texts) || !Array.isArray(expected) || texts.length !== expected.length || !texts.every((t) => typeof t === "string") || !(tol >= 0)) {
    refuse(`${where}: ${MANIFEST_FILE} canaries are damaged (expected texts and scores per label); restore the version or retrain`);
  }
  let worst = 0;
  model.rawScores(texts).forEach((got, i) => {
    const want = expected[i] ?? {};
    for (const task of new Set([...Object.keys(want), ...Object.keys(got)])) {
      const w = want[task] ?? {};
      const g = got[task] ?? {};
      if (!sameKeys(w, g)) refuse(`${where}: canary ${i + 1} ${task} labels differ (saved ${Object.keys(w).sort()}, now ${Object.keys(g).sort()}); the files do not match the manifest; retrain or restore the version`);
      for (const label of Object.keys(w)) {
        const diff = Math.abs(Number(w[label]) - g[label]);
        worst = Math.max(worst, diff);
        if (!(diff <= tol)) refuse(`${where}: predictions changed since saving: canary ${i + 1} (${JSON.stringify(texts[i].slice(0, 40))}...) ${task}.${label} is ${g[label].toFixed(6)}, saved ${Number(w[label]).toFixed(6)} (tolerance ${tol}); restore the version or retrain; refusing to load it`);
      }
    }
  });
  return worst;
}

function sameKeys(a, b) {
  const x = Object.keys(a).sort();
  const y = Object.keys(b).sort();
  return x.length === y.length && x.every((k, i) => k === y[i]);
}
