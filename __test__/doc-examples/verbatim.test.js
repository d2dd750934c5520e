'use strict'
// The stored examples are the documentation's code blocks, verbatim: each file's lines, minus its
// header comment and the import lines the port adds (marked "// [port:"), are exactly the lines
// of the spec it cites, and those lines are one whole code block.

const fs = require('fs')
const path = require('path')
const { listExamples, specLines, exampleBody, syntaxErrors, SPEC_DIR } = require('../support/doc-harness')

const examples = listExamples()
const haveSpec = fs.existsSync(path.join(SPEC_DIR, 'api-v18.md'))
if (!haveSpec) console.log(`verbatim checks skipped: no spec at ${SPEC_DIR} (set BACKUP_SPEC_DIR to the folder holding api-v10.md and api-v18.md)`)

describe('stored documentation examples', () => {
  test('there is one per documented example this suite covers', () => {
    expect(examples.length).toBe(56)
    expect(new Set(examples.map((e) => `${e.spec}:${e.first}`)).size).toBe(examples.length)
  })

  test.each(examples.map((e) => [e.name, e]))('%s: added lines are import lines only', (_, ex) => {
    const added = ex.source.split('\n').filter((l) => l.includes('// [port:'))
    for (const l of added) expect(l).toMatch(/^import .* from '[^']+';? \/\/ \[port:/)
  })

  ;(haveSpec ? test.each : test.skip.each)(examples.map((e) => [`${e.spec}:${e.first}`, e]))(
    '%s is the code block verbatim',
    (_, ex) => {
      const lines = specLines(ex.spec, ex.first - 1, ex.last + 1)
      expect(lines[0]).toMatch(/^\s*```(ts|js)\s*$/)
      expect(lines[lines.length - 1]).toMatch(/^\s*```\s*$/)
      expect(exampleBody(ex)).toEqual(lines.slice(1, -1))
    },
  )

  test.each(examples.filter((e) => e.name !== 'v10-SessionRestore-publishFile-promise').map((e) => [e.name, e]))(
    '%s parses as printed',
    (_, ex) => {
      expect(syntaxErrors(ex)).toEqual([])
    },
  )
})
