#!/usr/bin/env node
// Judges CSAF 2.0 documents with the BSI/secvisogram reference validator
// (@secvisogram/csaf-validator-lib, pinned in package-lock.json).
//
// Usage: node tests/interop/csaf_validate.mjs [--require-vex] [--no-optional] FILE...
//
// For each FILE it runs, through the library's validateStrict():
//   - the strict CSAF 2.0 JSON schema test   (csaf_2_0_strict)       -> errors
//   - every mandatory test 6.1.1 .. 6.1.33,  (mandatoryTests.js)     -> errors
//     including the profile tests 6.1.27.x; for category csaf_vex these are
//     6.1.27.4 product tree, .5 vulnerability notes, .7 VEX product status,
//     .8 vulnerability id, .9 impact statement, .10 action statement,
//     .11 vulnerabilities
//   - every optional test 6.2.1 .. 6.2.20    (optionalTests.js)      -> warnings
//     (a "SHOULD" failure never makes ok false; --no-optional skips them)
//   - the informative tests 6.3.x that need no network and no hunspell:
//     6.3.1-6.3.5, 6.3.9-6.3.11                                       -> infos
//     (6.3.6 and 6.3.7 send HTTP HEAD requests to every URL in the document,
//     6.3.8 shells out to hunspell: all three are left out on purpose)
// --require-vex also fails a document whose /document/category is not csaf_vex.
//
// Prints one JSON line per file:
//   {"file","ok","category","errors":[{test,instancePath,message}],"warnings":[...],"infos":[...]}
// and exits 1 if any file is not ok (unreadable, not JSON, or any error), 2 on usage.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const require = createRequire(join(here, 'package.json'))
const lib = dirname(require.resolve('@secvisogram/csaf-validator-lib/package.json'))
const load = (m) => import(join(lib, m))

const [{ default: validateStrict }, schema, mandatory, optional, informative] =
  await Promise.all([
    load('validateStrict.js'),
    load('schemaTests.js'),
    load('mandatoryTests.js'),
    load('optionalTests.js'),
    load('informativeTests.js'),
  ])

const NETWORK_OR_HUNSPELL = new Set([
  'informativeTest_6_3_6', // HEAD request per URL
  'informativeTest_6_3_7', // HEAD request per URL
  'informativeTest_6_3_8', // hunspell spell check
])

const args = process.argv.slice(2)
const requireVex = args.includes('--require-vex')
const withOptional = !args.includes('--no-optional')
const files = args.filter((a) => !a.startsWith('--'))
if (files.length === 0 || args.some((a) => a.startsWith('--') && !['--require-vex', '--no-optional'].includes(a))) {
  console.error('usage: csaf_validate.mjs [--require-vex] [--no-optional] FILE...')
  process.exit(2)
}

const byName = (mod) =>
  Object.entries(mod)
    .filter(([name, fn]) => typeof fn === 'function' && !NETWORK_OR_HUNSPELL.has(name))
    .sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))
    .map(([, fn]) => fn)

const errorTests = [schema.csaf_2_0_strict, ...byName(mandatory)]
const warningTests = withOptional ? byName(optional) : []
const infoTests = byName(informative)
const kind = new Map()
for (const t of errorTests) kind.set(t.name, 'error')
for (const t of warningTests) kind.set(t.name, 'warning')
for (const t of infoTests) kind.set(t.name, 'info')
const tests = [...errorTests, ...warningTests, ...infoTests]

let allOk = true
for (const file of files) {
  const out = { file, ok: false, category: null, errors: [], warnings: [], infos: [] }
  let doc
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'))
  } catch (e) {
    out.errors.push({ test: 'read', instancePath: '', message: String(e.message ?? e) })
  }
  if (doc !== undefined) {
    out.category = doc?.document?.category ?? null
    const result = await validateStrict(tests, doc)
    for (const t of result.tests) {
      const k = kind.get(t.name)
      const tag = (m) => ({ test: t.name, instancePath: m.instancePath ?? '', message: m.message ?? '' })
      // A failed schema or mandatory test is an error whatever list the
      // library put its messages in; an optional or informative test never is.
      if (k === 'error') {
        out.errors.push(...t.errors.map(tag))
        if (!t.isValid && t.errors.length === 0) {
          out.errors.push({ test: t.name, instancePath: '', message: 'test failed' })
        }
        out.warnings.push(...t.warnings.map(tag))
        out.infos.push(...t.infos.map(tag))
      } else if (k === 'warning') {
        out.warnings.push(...t.errors.map(tag), ...t.warnings.map(tag))
        out.infos.push(...t.infos.map(tag))
      } else {
        out.infos.push(...t.errors.map(tag), ...t.warnings.map(tag), ...t.infos.map(tag))
      }
    }
    if (requireVex && out.category !== 'csaf_vex') {
      out.errors.push({
        test: 'require-vex',
        instancePath: '/document/category',
        message: `category is ${JSON.stringify(out.category)}, not "csaf_vex"`,
      })
    }
  }
  out.ok = out.errors.length === 0
  allOk &&= out.ok
  console.log(JSON.stringify(out))
}
process.exit(allOk ? 0 : 1)
