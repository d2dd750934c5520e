'use strict'
// lib/client.js: a backup to a folder and a restore from it give back every app's data
// exactly (content, size, mode, mtime), and per-bundle failures are reported per bundle.

const fs = require('fs')
const path = require('path')
const device = require('../lib/device')
const { execFileSync } = require('child_process')
const { bundleFiles } = require('../lib/client')

const FILES = 'data/storage/el2/base/files'
const DB = 'data/storage/el2/database'
const MiB = 1024 * 1024

let root
beforeAll(() => {
  root = device.createDevice()
})
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

// The client runs in a child Node process: under Jest, `process.env` is a copy that never
// reaches the native service, so `root` (BACKUP_DEVICE_ROOT) would not take effect here.
// The child also lists its open fds that point into the device or the backup folder
// (every fd the service hands over does) before and after, to show that none leaks.
const RUNNER = `
const fs = require('fs')
const client = require(${JSON.stringify(path.join(__dirname, '../lib/client.js'))})
const [fn, opts, watched] = JSON.parse(process.argv[1])
const fds = () => fs.readdirSync('/proc/self/fd').map((fd) => {
  try { return fs.readlinkSync('/proc/self/fd/' + fd) } catch { return '' }
}).filter((t) => watched.some((w) => t.startsWith(w)))
const before = fds()
client[fn](opts).then(
  (r) => process.stdout.write(JSON.stringify({ ok: r, before, after: fds(), env: process.env.BACKUP_DEVICE_ROOT || null })),
  (e) => process.stdout.write(JSON.stringify({ err: { code: e.code, message: e.message } })),
)`
function run(fn, opts) {
  const env = { ...process.env }
  delete env.BACKUP_DEVICE_ROOT
  const watched = [fs.realpathSync(root), path.resolve(opts.outDir || opts.inDir)]
  const out = JSON.parse(execFileSync(process.execPath, ['-e', RUNNER, JSON.stringify([fn, opts, watched])], { env, encoding: 'utf8' }))
  if (out.err) throw Object.assign(new Error(out.err.message), out.err)
  expect(out.after).toEqual(out.before)
  // The caller's environment is left alone.
  expect(out.env).toBeNull()
  return out.ok
}
const backupToDir = async (opts) => run('backupToDir', opts)
const restoreFromDir = async (opts) => run('restoreFromDir', opts)

test('round trip of two bundles: nested files, a big file, an empty dir, modes and mtimes', async () => {
  const notes = device.installBundle(root, 'com.example.notes', {
    files: {
      [`${FILES}/a.txt`]: 'alpha',
      [`${FILES}/x/y/z/deep.txt`]: { content: 'deep', mode: 0o600, mtime: Date.UTC(2023, 4, 6, 7, 8, 9) },
      [`${FILES}/empty/`]: {},
      [`${FILES}/big.bin`]: { size: 2 * MiB + 123 },
      [`${DB}/notes.db`]: { size: 40000, seed: 'db' },
      'data/storage/el2/base/cache/not-backed-up.tmp': 'cache',
    },
  })
  const photos = device.installBundle(root, 'com.example.photos', {
    files: {
      [`${FILES}/p/1.jpg`]: { size: 3 * MiB },
      [`${FILES}/p/thumb/1.jpg`]: { size: 9000, mode: 0o640 },
      'data/storage/el2/base/preferences/prefs.xml': '<prefs/>',
    },
  })
  const before = { notes: device.snapshotTree(notes), photos: device.snapshotTree(photos) }
  const outDir = path.join(root, 'backup-out')

  const b = await backupToDir({ bundles: ['com.example.notes', 'com.example.photos'], outDir, root })
  expect(b.bundles['com.example.notes'].error).toBeNull()
  expect(b.bundles['com.example.photos'].error).toBeNull()
  for (const name of ['com.example.notes', 'com.example.photos']) {
    const s = b.bundles[name]
    expect(s.files[s.files.length - 1]).toBe('manage.json')
    expect(s.files.some((f) => /^part\.\d+\.tar$/.test(f))).toBe(true)
    // What the summary says is what is on disk.
    expect(bundleFiles(path.join(outDir, name))).toEqual(s.files)
    const onDisk = s.files.reduce((n, f) => n + fs.statSync(path.join(outDir, name, f)).size, 0)
    expect(s.bytes).toBe(onDisk)
  }
  // Files over 2 MiB travel as themselves, next to the tar parts.
  expect(b.bundles['com.example.notes'].files.length).toBeGreaterThanOrEqual(3)
  expect(b.bundles['com.example.photos'].files.length).toBeGreaterThanOrEqual(3)
  expect(b.files).toBe(b.bundles['com.example.notes'].files.length + b.bundles['com.example.photos'].files.length)
  expect(b.bytes).toBeGreaterThan(5 * MiB)

  device.wipeApp(root, 'com.example.notes')
  device.wipeApp(root, 'com.example.photos')
  expect(fs.readdirSync(notes)).toEqual([])

  const r = await restoreFromDir({ inDir: outDir, root })
  expect(r.bundles).toEqual({
    'com.example.notes': expect.objectContaining({ error: null, files: b.bundles['com.example.notes'].files.length }),
    'com.example.photos': expect.objectContaining({ error: null, files: b.bundles['com.example.photos'].files.length }),
  })
  expect(r.bytes).toBe(b.bytes)

  // The cache directory is not among the default includes: it is the one thing not restored.
  const expectedNotes = new Map([...before.notes].filter(([k]) => !k.startsWith('data/storage/el2/base/cache')))
  expect(device.diffSnapshots(expectedNotes, device.snapshotTree(notes))).toEqual([])
  expect(device.diffSnapshots(before.photos, device.snapshotTree(photos))).toEqual([])
})

test('per-bundle failures are reported per bundle; the others still succeed', async () => {
  device.installBundle(root, 'com.example.okay', { files: { [`${FILES}/ok.txt`]: 'ok' } })
  device.installBundle(root, 'com.example.noext', { extension: false })
  device.installBundle(root, 'com.example.forbidden', { config: { allowToBackupRestore: false } })
  const outDir = path.join(root, 'backup-mixed')
  const b = await backupToDir({ bundles: ['com.example.okay', 'com.example.noext', 'com.example.forbidden', 'com.example.absent'], outDir, root })
  expect(b.bundles['com.example.okay'].error).toBeNull()
  expect(b.bundles['com.example.noext'].error.code).toBe(13500005)
  expect(b.bundles['com.example.forbidden'].error.code).toBe(13500001)
  expect(b.bundles['com.example.absent'].error).toEqual({ code: 13500005, message: expect.stringContaining('not installed') })
  expect(fs.readdirSync(outDir).sort()).toEqual(['com.example.okay'])

  // Restore: a folder without manage.json is refused before the session starts; a missing
  // folder is reported; the good bundle is restored.
  fs.mkdirSync(path.join(outDir, 'com.example.broken'))
  fs.writeFileSync(path.join(outDir, 'com.example.broken', 'part.0.tar'), 'not a tar')
  device.wipeApp(root, 'com.example.okay')
  const r = await restoreFromDir({ inDir: outDir, bundles: ['com.example.okay', 'com.example.broken', 'com.example.nowhere'], root })
  expect(r.bundles['com.example.okay'].error).toBeNull()
  expect(r.bundles['com.example.broken'].error.message).toMatch(/manage\.json/)
  expect(r.bundles['com.example.nowhere'].error.message).toMatch(/no backup of com\.example\.nowhere/)
  expect(fs.readFileSync(path.join(device.sandboxOf(root, 'com.example.okay'), FILES, 'ok.txt'), 'utf8')).toBe('ok')
})

test('restoring a bundle that is not installed reports it, and a corrupt archive leaves the data as it was', async () => {
  const outDir = path.join(root, 'backup-corrupt')
  const sandbox = device.installBundle(root, 'com.example.victim', { files: { [`${FILES}/keep.txt`]: 'keep' } })
  const b = await backupToDir({ bundles: ['com.example.victim'], outDir, root })
  expect(b.bundles['com.example.victim'].error).toBeNull()
  const before = device.snapshotTree(sandbox)
  const tar = b.bundles['com.example.victim'].files.find((f) => f.endsWith('.tar'))
  fs.writeFileSync(path.join(outDir, 'com.example.victim', tar), Buffer.alloc(1024, 0x41))
  fs.cpSync(path.join(outDir, 'com.example.victim'), path.join(outDir, 'com.example.uninstalled'), { recursive: true })

  const r = await restoreFromDir({ inDir: outDir, root })
  expect(r.bundles['com.example.victim'].error).toEqual({ code: expect.any(Number), message: expect.any(String) })
  expect(r.bundles['com.example.uninstalled'].error.code).toBe(13500005)
  expect(device.diffSnapshots(before, device.snapshotTree(sandbox))).toEqual([])
})
