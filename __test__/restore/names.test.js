'use strict'
// D6 and the one name rule: backup/client, backup/incremental-client and the CLI check every
// bundle name with the addon's own rule (src/device/names.rs) before any file-system action,
// so a name such as '..' can never make them delete or write outside their folder.

const fs = require('fs')
const os = require('os')
const path = require('path')
const device = require('../../lib/device')
const { native } = require('../../lib/native')
const { client, cli } = require('./support')

let tmp, root
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'backup-names-'))
  root = device.createDevice(path.join(tmp, 'device'))
})
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

// A folder of the user's with files in it, and an outDir inside it.
function userFolder() {
  const parent = fs.mkdtempSync(path.join(tmp, 'mine-'))
  fs.writeFileSync(path.join(parent, 'thesis.txt'), 'years of work')
  fs.mkdirSync(path.join(parent, 'photos'))
  fs.writeFileSync(path.join(parent, 'photos/1.jpg'), 'jpeg')
  return { parent, outDir: path.join(parent, 'out') }
}
const listing = (dir) => fs.readdirSync(dir, { recursive: true }).sort()

const BAD = ['..', '.', '../x', 'a/b', '', 'short', '1com.example', 'com.example/..', 42, null]

test('the addon exports the device rule: the same answers as the service gives', () => {
  expect(native.isValidBundleName('com.example.notes')).toBe(true)
  for (const b of BAD) expect(native.isValidBundleName(b)).toBe(false)
  expect(native.bundleNameProblem('..')).toMatch(/invalid bundle name "\.\.": .*7-128 characters/)
  expect(native.bundleNameProblem('com.example.notes')).toBeNull()
  expect(native.isValidUri('part.0.tar')).toBe(true)
  for (const u of ['..', '.', 'a/b', '', 'a-b', 7]) expect(native.isValidUri(u)).toBe(false)
})

test("D6: backupToDir({ bundles: ['..'], outDir }) throws before touching anything", () => {
  const { parent, outDir } = userFolder()
  const before = listing(parent)
  for (const name of BAD) {
    expect(() => client('backupToDir', { bundles: ['com.example.fine', name], outDir, root })).toThrow(/bundles\[1\]/)
    expect(() => client('incrementalBackupToDir', { bundles: [{ bundleName: name, lastIncrementalTime: 0 }], outDir, root })).toThrow(
      /bundleName/,
    )
    expect(() => client('backupToDir', { bundles: [{ bundleName: name, lastIncrementalTime: 0 }], outDir, root })).toThrow(/bundles\[0\]/)
  }
  expect(listing(parent)).toEqual(before)
  expect(fs.existsSync(outDir)).toBe(false)
})

test("restoreFromDir({ bundles: ['..'] }) throws before reading or restoring anything", () => {
  const { parent } = userFolder()
  const before = listing(parent)
  expect(() => client('restoreFromDir', { inDir: path.join(parent, 'photos'), bundles: ['..'], root })).toThrow(/invalid bundle name/)
  expect(listing(parent)).toEqual(before)
})

test('ohos-backup backup <out> .. is a usage error: nothing deleted, no device created', () => {
  const { parent, outDir } = userFolder()
  const before = listing(parent)
  const fresh = path.join(tmp, 'never-created')
  const r = cli(['backup', outDir, '..'], { BACKUP_DEVICE_ROOT: fresh })
  expect(r.code).toBe(2)
  expect(r.err).toMatch(/invalid bundle name "\.\."/)
  expect(listing(parent)).toEqual(before)
  expect(fs.existsSync(outDir)).toBe(false)
  expect(fs.existsSync(fresh)).toBe(false)
  const r2 = cli(['restore', parent, '..'], { BACKUP_DEVICE_ROOT: fresh })
  expect(r2.code).toBe(2)
  expect(listing(parent)).toEqual(before)
})

test('installing a bundle with a bad name is refused by the same rule', () => {
  expect(() => device.installBundle(root, '../escape')).toThrow(/invalid bundle name/)
  expect(fs.existsSync(path.join(root, 'escape'))).toBe(false)
})
