// backup/incremental-client: incrementalBackupToDir writes each delivered file and its report
// into <outDir>/<bundle>/, closes every fd, and sums the run up (files in delivery order,
// bytes, per-bundle errors, the listing that is the next baseline, startedAt).
const crypto = require('crypto')
const fs = require('fs')
const os = require('os')
const path = require('path')
const { createDevice, installBundle, writeFiles, sandboxOf } = require('../../lib/device.js')
const { incrementalBackupToDir } = require('../../lib/incremental-client.js')

jest.setTimeout(60000)

const APP = 'com.example.diary'
const FILES = 'data/storage/el2/base/files'
const T0 = Date.UTC(2024, 5, 1)

let root, work
beforeEach(() => {
  root = createDevice()
  process.env.BACKUP_DEVICE_ROOT = root
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'inc-helper-'))
  installBundle(root, APP, {
    files: {
      [`${FILES}/d1.txt`]: { content: 'day one\n', mtime: T0 },
      [`${FILES}/d2.txt`]: { content: 'day two\n', mtime: T0 },
      [`${FILES}/photo.raw`]: { content: { size: (2 << 20) + 1 }, mtime: T0 },
    },
  })
})
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true })
  fs.rmSync(work, { recursive: true, force: true })
})

const openFds = () => fs.readdirSync('/proc/self/fd').length
const sha = (buf) => crypto.createHash('sha256').update(buf).digest('hex').toUpperCase()

test('the folder holds every delivered file with its report; the summary describes it', async () => {
  const before = Math.floor(Date.now() / 1000)
  const outDir = path.join(work, 'run1')
  const r = await incrementalBackupToDir({ bundles: [{ bundleName: APP, lastIncrementalTime: 0 }], outDir })
  const s = r.bundles[APP]
  expect(s.error).toBeNull()
  expect(s.files[s.files.length - 1]).toBe('manage.json')
  expect(s.files).toHaveLength(3) // a tar, the big file, manage.json
  const dir = path.join(outDir, APP)
  expect(fs.readdirSync(dir).sort()).toEqual(s.files.flatMap((u) => [u, `${u}.rp`]).sort())
  expect(s.bytes).toBe(s.files.reduce((n, u) => n + fs.statSync(path.join(dir, u)).size, 0))
  expect(r.files).toBe(3)
  expect(r.bytes).toBe(s.bytes)
  expect(s.listing).toBe(path.join(dir, 'manage.json.rp'))
  // The big file is the photo, byte for byte; its report says so.
  const big = s.files.find((u) => /^[0-9a-f]{16}$/.test(u))
  const photo = fs.readFileSync(path.join(sandboxOf(root, APP), FILES, 'photo.raw'))
  expect(sha(fs.readFileSync(path.join(dir, big)))).toBe(sha(photo))
  expect(fs.readFileSync(path.join(dir, `${big}.rp`), 'utf8')).toContain(`/${FILES}/photo.raw;`)
  // startedAt: whole seconds, not after the run began (the next run's lastIncrementalTime).
  expect(Number.isInteger(r.startedAt)).toBe(true)
  expect(r.startedAt).toBeLessThanOrEqual(before)
  expect(r.startedAt).toBeGreaterThanOrEqual(before - 2)
})

test('every fd is closed: repeated runs leave the process with the fds it had', async () => {
  await incrementalBackupToDir({ bundles: [{ bundleName: APP, lastIncrementalTime: 0 }], outDir: path.join(work, 'warm') })
  const fds = openFds()
  let prev = null
  for (let i = 0; i < 5; i++) {
    writeFiles(root, APP, { [`${FILES}/d1.txt`]: `day one, edit ${i}\n` })
    const r = await incrementalBackupToDir({
      bundles: [{ bundleName: APP, lastIncrementalTime: 0, baseline: prev ? prev.bundles[APP].listing : undefined }],
      outDir: path.join(work, `run${i}`),
    })
    expect(r.bundles[APP].error).toBeNull()
    prev = r
  }
  expect(openFds()).toBeLessThanOrEqual(fds)
})

test('a run into the folder that holds its own baseline: the baseline is read before the folder is replaced', async () => {
  const outDir = path.join(work, 'same')
  const first = await incrementalBackupToDir({ bundles: [{ bundleName: APP, lastIncrementalTime: 0 }], outDir })
  writeFiles(root, APP, { [`${FILES}/d2.txt`]: 'day two, edited\n' })
  const second = await incrementalBackupToDir({ bundles: [{ bundleName: APP, lastIncrementalTime: 0, baseline: first.bundles[APP].listing }], outDir })
  const s = second.bundles[APP]
  expect(s.error).toBeNull()
  expect(s.files).toHaveLength(2) // one tar with d2, manage.json: the baseline was used
  expect(fs.readdirSync(path.join(outDir, APP)).sort()).toEqual(s.files.flatMap((u) => [u, `${u}.rp`]).sort())
  const tarReport = fs.readFileSync(path.join(outDir, APP, `${s.files[0]}.rp`), 'utf8')
  expect(tarReport.split('\n').slice(2).filter(Boolean).map((l) => l.split(';')[0])).toEqual([`/${FILES}/d2.txt`])
})

test('per-bundle failures land in that bundle; the others finish with their listing', async () => {
  installBundle(root, 'com.example.noext', { extension: false })
  installBundle(root, 'com.example.forbidden', { config: { allowToBackupRestore: false } })
  const r = await incrementalBackupToDir({
    bundles: [
      { bundleName: 'com.example.notinstalled', lastIncrementalTime: 0 },
      { bundleName: APP, lastIncrementalTime: 0 },
      { bundleName: 'com.example.noext', lastIncrementalTime: 0 },
      { bundleName: 'com.example.forbidden', lastIncrementalTime: 0 },
    ],
    outDir: path.join(work, 'mixed'),
  })
  expect(r.bundles['com.example.notinstalled']).toMatchObject({ files: [], bytes: 0, error: { code: 13500005 }, listing: null })
  expect(r.bundles['com.example.noext']).toMatchObject({ files: [], error: { code: 13500005 }, listing: null })
  expect(r.bundles['com.example.forbidden']).toMatchObject({ files: [], error: { code: 13500001 }, listing: null })
  expect(r.bundles[APP].error).toBeNull()
  expect(r.bundles[APP].listing).toBe(path.join(work, 'mixed', APP, 'manage.json.rp'))
})

test('infos reach the app (one per bundle, by index); its result is in the summary', async () => {
  const ext = path.join(work, 'echo.js')
  fs.writeFileSync(ext, "const B = require('backup/extension')\nmodule.exports = class extends B { onBackupEx(info) { return info } }\n")
  installBundle(root, APP, { extension: 'ext.js', extensionSource: ext })
  const infos = [JSON.stringify({ infos: [{ type: 'unicast', details: [{ type: 'note', detail: 'nightly' }] }] })]
  const r = await incrementalBackupToDir({ bundles: [{ bundleName: APP, lastIncrementalTime: 0 }], outDir: path.join(work, 'infos'), infos })
  expect(r.bundles[APP].error).toBeNull()
  expect(JSON.parse(r.bundles[APP].result)).toEqual([{ type: 'note', detail: 'nightly' }, { type: 'userId', detail: '100' }])
})

test('bad requests are refused before anything is written: names cannot reach outside outDir', async () => {
  const outDir = path.join(work, 'out')
  fs.mkdirSync(path.join(work, 'precious'))
  fs.writeFileSync(path.join(work, 'precious', 'keep.txt'), 'keep me')
  for (const bundles of [[], [{ bundleName: '../precious', lastIncrementalTime: 0 }], [{ bundleName: '..', lastIncrementalTime: 0 }], ['com.example.diary'], [{ bundleName: APP, lastIncrementalTime: 0 }, { bundleName: APP, lastIncrementalTime: 0 }]]) {
    await expect(incrementalBackupToDir({ bundles, outDir })).rejects.toBeInstanceOf(TypeError)
  }
  await expect(incrementalBackupToDir({ bundles: [{ bundleName: APP, lastIncrementalTime: 0 }], outDir, infos: ['{}', '{}'] })).rejects.toBeInstanceOf(TypeError)
  expect(fs.readFileSync(path.join(work, 'precious', 'keep.txt'), 'utf8')).toBe('keep me')
  expect(fs.existsSync(outDir)).toBe(false)
  // What the service itself refuses comes back as its BusinessError (401 for appendBundles).
  await expect(incrementalBackupToDir({ bundles: [{ bundleName: APP, lastIncrementalTime: 'yesterday' }], outDir })).rejects.toMatchObject({ code: 401 })
  // A baseline that does not exist: the open fails, nothing started.
  await expect(incrementalBackupToDir({ bundles: [{ bundleName: APP, lastIncrementalTime: 0, baseline: path.join(work, 'nope.rp') }], outDir })).rejects.toMatchObject({ code: 'ENOENT' })
})
