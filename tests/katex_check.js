#!/usr/bin/env node
// Render every math span of a Markdown file with KaTeX (throwOnError), as a notebook or a
// KaTeX-based Markdown viewer would. Exits 1 listing the spans that fail, 0 when all render.
//
//   node tests/katex_check.js notes.md [more.md ...]
//
// Display math is $$…$$ (possibly over several lines); inline math is $…$ outside display math
// and outside code. A `$` inside \text{…} of a display block belongs to that block. KaTeX's
// strict-mode warnings (LaTeX-incompatible input) count as failures too.

"use strict";

const fs = require("fs");
const path = require("path");

function loadKatex() {
  const here = [__dirname, path.join(__dirname, ".."), process.cwd()];
  for (const dir of here) {
    try {
      return require(require.resolve("katex", { paths: [dir] }));
    } catch (e) {
      // try the next place
    }
  }
  console.error("katex_check: the katex package is not installed (cd tests && npm install)");
  process.exit(3);
}

function lineOf(text, index) {
  return text.slice(0, index).split("\n").length;
}

// Blank out fenced code blocks and inline code so that their dollars are not mathematics.
function hideCode(text) {
  return text
    .replace(/```[\s\S]*?```/g, (m) => m.replace(/[^\n]/g, " "))
    .replace(/`[^`\n]*`/g, (m) => " ".repeat(m.length));
}

function spans(text) {
  const out = [];
  const src = hideCode(text);
  let i = 0;
  while (i < src.length) {
    if (src[i] === "\\" && src[i + 1] === "$") {
      i += 2;
      continue;
    }
    if (src.startsWith("$$", i)) {
      const end = src.indexOf("$$", i + 2);
      if (end < 0) {
        out.push({ line: lineOf(text, i), display: true, src: null, error: "unclosed $$" });
        break;
      }
      out.push({ line: lineOf(text, i), display: true, src: text.slice(i + 2, end) });
      i = end + 2;
      continue;
    }
    if (src[i] === "$") {
      let j = i + 1;
      while (j < src.length && src[j] !== "$" && src[j] !== "\n") {
        j += src[j] === "\\" ? 2 : 1;
      }
      if (j >= src.length || src[j] !== "$") {
        out.push({ line: lineOf(text, i), display: false, src: null, error: "unclosed $" });
        i = j;
        continue;
      }
      out.push({ line: lineOf(text, i), display: false, src: text.slice(i + 1, j) });
      i = j + 1;
      continue;
    }
    i += 1;
  }
  return out;
}

function check(file, katex) {
  const text = fs.readFileSync(file, "utf8");
  const failures = [];
  let count = 0;
  for (const span of spans(text)) {
    count += 1;
    if (span.src === null) {
      failures.push(`${file}:${span.line}: ${span.error}`);
      continue;
    }
    const warnings = [];
    try {
      katex.renderToString(span.src, {
        throwOnError: true,
        displayMode: span.display,
        strict: (code, message) => {
          warnings.push(`${code}: ${message}`);
          return "ignore";
        },
      });
    } catch (e) {
      failures.push(`${file}:${span.line}: ${e.message}\n    ${span.src.trim().slice(0, 300)}`);
      continue;
    }
    for (const w of warnings) {
      failures.push(`${file}:${span.line}: strict: ${w}\n    ${span.src.trim().slice(0, 300)}`);
    }
  }
  return { count, failures };
}

function main(argv) {
  if (argv.length === 0) {
    console.error("usage: node tests/katex_check.js FILE.md [...]");
    return 2;
  }
  const katex = loadKatex();
  let total = 0;
  const failures = [];
  for (const file of argv) {
    const r = check(file, katex);
    total += r.count;
    failures.push(...r.failures);
  }
  if (failures.length > 0) {
    console.log(failures.join("\n"));
    console.log(`katex_check: ${failures.length} of ${total} math spans failed`);
    return 1;
  }
  console.log(`katex_check: ${total} math spans render`);
  return 0;
}

process.exit(main(process.argv.slice(2)));
