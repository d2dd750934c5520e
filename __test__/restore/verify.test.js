'use strict'
// `ohos-backup verify <dir>...`: a good backup passes (exit 0); each kind of damage is found
// and named per bundle (exit 1); an incremental chain is checked as a chain.

const fs = require('fs')
const os = require('os')
const path = require('path')
const device = require('../../lib/device')
const { client, cli } = require('./support')

const FILES = 'data/storage/el2/base/files'
const A = 'com.example.alpha'
const B = 'com.example.beta'
const MiB = 1024 * 1024

let tmp, root, good
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'backup-verify-'))
  root = device.createDevice(path.join(tmp, 'device'))
  for (const name of [A, B]) {
    device.installBundle(root, name, {
      files: {
        [`${FILES}/a.txt`]: `alpha of ${name}`,
        [`${FILES}/sub/b.txt`]: 'beta',
        [`${FILES}/big.bin`]: { size: 3 * MiB, seed: name },
      },
    })
  }
  good = path.join(tmp, 'good')
  const r = client('backupToDir', { bundles: [A, B], outDir: good, root })
  expect(r.bundles[A].error).toBeNull()
})
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

let n = 0
function damaged(fn) {
  const dir = path.join(tmp, `copy${n++}`)
  fs.cpSync(good, dir, { recursive: true })
  fn(path.join(dir, A))
  return dir
}
const bigOf = (dir) => fs.readdirSync(dir).find((f) => /^[0-9a-f]{16}\.bin$/.test(f))
const verify = (...dirs) => cli(['verify', ...dirs])
const json = (...dirs) => JSON.parse(cli(['verify', '--json', ...dirs]).out)

test('a good backup verifies: exit 0 and a line per bundle', () => {
  const r = verify(good)
  expect(r.code).toBe(0)
  expect(r.out).toMatch(new RegExp(`${A} .* full {2}2 files .* ok`))
  expect(r.out).toMatch(new RegExp(`${B} .* ok`))
  expect(r.out).toMatch(/no problems found in 2 bundle folder/)
  const j = json(good)
  expect(j.ok).toBe(true)
  expect(j.bundles.map((b) => [b.bundle, b.files, b.problems])).toEqual([
    [A, 2, []],
    [B, 2, []],
  ])
  // A single bundle folder works too.
  expect(verify(path.join(good, A)).code).toBe(0)
})

test.each([
  [
    'a truncated part',
    (d) => fs.truncateSync(path.join(d, 'part.0.tar'), 700),
    /part\.0\.tar: (corrupt archive|truncated archive)|part\.0\.tar is 700 bytes, manage\.json says/,
  ],
  [
    'a flipped byte in a big file',
    (d) => {
      const f = path.join(d, bigOf(d))
      const b = fs.readFileSync(f)
      b[MiB] ^= 1
      fs.writeFileSync(f, b)
    },
    /big file [0-9a-f]{16}\.bin: SHA-256 [0-9a-f]{64} differs from the [0-9a-f]{64} manage\.json records/,
  ],
  ['a missing file', (d) => fs.rmSync(path.join(d, bigOf(d))), /[0-9a-f]{16}\.bin is missing \(manage\.json names it\)/],
  ['a missing manage.json', (d) => fs.rmSync(path.join(d, 'manage.json')), /manage\.json: .*No such file/],
])('%s is found, in the damaged bundle only (exit 1)', (_, damage, message) => {
  const dir = damaged(damage)
  const r = verify(dir)
  expect(r.code).toBe(1)
  const j = json(dir)
  expect(j.ok).toBe(false)
  const a = j.bundles.find((b) => b.bundle === A)
  expect(a.problems.join('\n')).toMatch(message)
  expect(j.bundles.find((b) => b.bundle === B).problems).toEqual([])
  expect(r.out).toMatch(/1 of 2 bundle folder\(s\) damaged/)
})

// An incremental chain: a first run, then a change.
function chain() {
  const c0 = path.join(tmp, `c0-${n}`)
  const c1 = path.join(tmp, `c1-${n}`)
  const r0 = client('incrementalBackupToDir', { bundles: [{ bundleName: A, lastIncrementalTime: 0 }], outDir: c0, root })
  // A file new to each chain (same content: same hash), so the second run sends a part.
  device.writeFiles(root, A, { [`${FILES}/new${n}.txt`]: { content: 'new', mtime: Date.now() + 5000 } })
  const r1 = client('incrementalBackupToDir', {
    bundles: [{ bundleName: A, lastIncrementalTime: r0.startedAt, baseline: r0.bundles[A].listing }],
    outDir: c1,
    root,
  })
  expect(r1.bundles[A].error).toBeNull()
  n++
  return { c0, c1 }
}

test('an incremental chain verifies oldest first; a run alone or out of its chain does not', () => {
  const { c0, c1 } = chain()
  const r = verify(c0, c1)
  expect(r.code).toBe(0)
  expect(r.out).toMatch(/incremental/)
  // The second run alone holds only what changed: its listing names files no backup given holds.
  const alone = json(c1)
  expect(alone.ok).toBe(false)
  expect(alone.bundles[0].problems.join('\n')).toMatch(/manage\.json\.rp lists \/data\/storage\/el2\/base\/files\/a\.txt but no backup of the chain up to here holds it/)
})

test('a .rp that disagrees with its file is found', () => {
  const { c0, c1 } = chain()
  const dir = path.join(c1, A)
  const rp = fs.readdirSync(dir).find((f) => f.endsWith('.tar.rp'))
  const text = fs.readFileSync(path.join(dir, rp), 'utf8')
  // The size of new.txt (3 bytes) as 4.
  const wrong = text.replace(/(new\d+\.txt;\d+;0;)3;/, '$14;')
  expect(wrong).not.toBe(text)
  fs.writeFileSync(path.join(dir, rp), wrong)
  const j = json(c0, c1)
  expect(j.ok).toBe(false)
  expect(j.bundles[1].problems.join('\n')).toMatch(/new\d+\.txt is 3 bytes, .*\.tar\.rp says 4/)
  // And a big file whose one-line report gives another hash.
  const c0dir = path.join(c0, A)
  const bigRp = fs.readdirSync(c0dir).find((f) => /^[0-9a-f]{16}\.rp$/.test(f))
  const line = fs.readFileSync(path.join(c0dir, bigRp), 'utf8')
  fs.writeFileSync(path.join(c0dir, bigRp), line.replace(/;([0-9A-F]{64});/, ';' + '0'.repeat(64) + ';'))
  expect(json(c0).bundles[0].problems.join('\n')).toMatch(/SHA-256 .* differs from the 0{64} [0-9a-f]{16}\.rp records/)
})

test('usage: no folder, or one that does not exist, is exit 2', () => {
  expect(cli(['verify']).code).toBe(2)
  expect(cli(['verify', path.join(tmp, 'nope')]).code).toBe(2)
  const empty = fs.mkdtempSync(path.join(tmp, 'empty-'))
  const r = verify(empty)
  expect(r.code).toBe(1)
  expect(r.out).toMatch(/holds no backup/)
})
