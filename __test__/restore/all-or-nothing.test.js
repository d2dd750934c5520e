'use strict'
// A restore never half-applies (DESIGN.md §5 rules 10, 11), seen through the real service and
// backup/client: each refusal is 13500008 with a message saying what was wrong, and the app's
// data is byte for byte what it was (modes and times of files and directories included).

const fs = require('fs')
const os = require('os')
const path = require('path')
const device = require('../../lib/device')
const { client, snapshot, ustar } = require('./support')

const FILES = 'data/storage/el2/base/files'
const APP = 'com.example.victim'
const MiB = 1024 * 1024

let root, tmp, sandbox
beforeAll(() => {
  root = device.createDevice()
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'backup-aon-'))
})
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true })
  fs.rmSync(tmp, { recursive: true, force: true })
})
beforeEach(() => {
  device.uninstallBundle(root, APP)
  sandbox = device.installBundle(root, APP, {
    files: {
      [`${FILES}/top.txt`]: { content: 'the app keeps this', mode: 0o640, mtime: Date.UTC(2024, 0, 2, 3, 4, 5) },
      [`${FILES}/notes/a.txt`]: 'alpha',
      [`${FILES}/notes/b.txt`]: 'beta',
      [`${FILES}/media/`]: { mtime: Date.UTC(2023, 5, 6) },
    },
  })
})

let n = 0
/** A backup folder for APP holding `files` (name → Buffer | string). */
function folder(files) {
  const dir = path.join(tmp, `in${n++}`)
  fs.mkdirSync(path.join(dir, APP), { recursive: true })
  for (const [name, bytes] of Object.entries(files)) fs.writeFileSync(path.join(dir, APP, name), bytes)
  return dir
}

const part = (name = 'part.0.tar') => ({ fileName: name, information: { path: '' }, isUserTar: false, isBigFile: false })
const bigEntry = (fileName, dest, size) => ({
  fileName,
  information: { path: `/${FILES}/${dest}`, stat: { st_size: size, st_mode: 0o100644 } },
  isUserTar: false,
  isBigFile: true,
})

// Restores `inDir` and expects the bundle to fail with 13500008 naming `word`, nothing changed.
function expectRefused(inDir, word) {
  const before = snapshot(sandbox)
  const r = client('restoreFromDir', { inDir, bundles: [APP], root })
  expect(r.bundles[APP].error).toEqual({ code: 13500008, message: expect.stringContaining(word) })
  expect(snapshot(sandbox)).toEqual(before)
  expect(fs.existsSync(path.join(sandbox, 'data/storage/el2/base/.backup/staging'))).toBe(false)
  return r
}

test('D1: a path that is a file and also the parent of another entry is refused before anything moves', () => {
  const tar = ustar([
    { name: `/${FILES}/top.txt`, data: 'replaced!' },
    { name: `/${FILES}/cf/child`, data: 'child' },
    { name: `/${FILES}/cf`, data: 'a file' },
  ])
  expectRefused(folder({ 'part.0.tar': tar, 'manage.json': JSON.stringify([part()]) }), 'is a file in the backup and also the parent directory')
  expect(fs.readFileSync(path.join(sandbox, FILES, 'top.txt'), 'utf8')).toBe('the app keeps this')
  expect(fs.existsSync(path.join(sandbox, FILES, 'cf'))).toBe(false)
})

test('D2: a manage.json that lists the same big file twice is refused, nothing changes', () => {
  const big = Buffer.alloc(3 * MiB, 7)
  const entry = bigEntry('0123456789abcdef', 'big.bin', big.length)
  const tar = ustar([{ name: `/${FILES}/top.txt`, data: 'replaced!' }])
  const manage = JSON.stringify([part(), entry, entry])
  expectRefused(folder({ 'part.0.tar': tar, '0123456789abcdef': big, 'manage.json': manage }), 'lists the big file 0123456789abcdef twice')
})

test('D3: a tar part named 100,000 times is unpacked once: the restore ends, staging stays small', () => {
  const files = Array.from({ length: 20 }, (_, i) => ({ name: `/${FILES}/many/f${i}.txt`, data: `file ${i}` }))
  const manage = '[' + Array(100000).fill(JSON.stringify(part())).join('\n,') + ']'
  const inDir = folder({ 'part.0.tar': ustar(files), 'manage.json': manage })
  // Unpacked 100,000 times this took minutes and gigabytes; once, it is a small restore
  // (the test's own timeout is the bound).
  const r = client('restoreFromDir', { inDir, bundles: [APP], root })
  expect(r.bundles[APP].error).toBeNull()
  for (let i = 0; i < 20; i++) expect(fs.readFileSync(path.join(sandbox, FILES, `many/f${i}.txt`), 'utf8')).toBe(`file ${i}`)
  expect(fs.readdirSync(path.join(sandbox, FILES, 'many'))).toHaveLength(20)
  expect(fs.existsSync(path.join(sandbox, 'data/storage/el2/base/.backup/staging'))).toBe(false)
}, 60000)

test('D4: a big file shorter or longer than its manage.json st_size is refused', () => {
  for (const len of [1000, 2109498]) {
    const manage = JSON.stringify([bigEntry('0123456789abcdef', 'big.bin', 2109497)])
    expectRefused(folder({ '0123456789abcdef': Buffer.alloc(len, 1), 'manage.json': manage }), `is ${len} bytes, manage.json (st_size) says 2109497`)
  }
})

// An incremental backup of the app (a big file among them) to damage.
function incrementalFolder() {
  device.writeFiles(root, APP, { [`${FILES}/video.mp4`]: { size: 3 * MiB, seed: 'video' } })
  const outDir = path.join(tmp, `inc${n++}`)
  const r = client('incrementalBackupToDir', { bundles: [{ bundleName: APP, lastIncrementalTime: 0 }], outDir, root })
  expect(r.bundles[APP].error).toBeNull()
  const dir = path.join(outDir, APP)
  const big = fs.readdirSync(dir).find((f) => /^[0-9a-f]{16}$/.test(f))
  return { outDir, dir, big }
}

test('D5: an incremental big file whose size or SHA-256 differs from its .rp line is refused', () => {
  const { outDir, dir, big } = incrementalFolder()
  // Shorter, with manage.json made to agree: only the .rp line (3,145,728 bytes) can tell.
  fs.writeFileSync(path.join(dir, big), Buffer.alloc(4096, 3))
  const manage = fs.readFileSync(path.join(dir, 'manage.json'), 'utf8')
  fs.writeFileSync(path.join(dir, 'manage.json'), manage.replace(`"st_size":${3 * MiB}`, '"st_size":4096'))
  expectRefused(outDir, 'is 4096 bytes, its .rp line says 3145728')
  // Same size, one byte flipped (a fresh backup, manage.json as written).
  const fresh = incrementalFolder()
  const video = fs.readFileSync(path.join(fresh.dir, fresh.big))
  video[1234567] ^= 0xff
  fs.writeFileSync(path.join(fresh.dir, fresh.big), video)
  expectRefused(fresh.outDir, 'SHA-256')
})

test('a flipped byte in a full backup is caught by the sha256 manage.json records', () => {
  const outDir = path.join(tmp, `full${n++}`)
  expect(client('backupToDir', { bundles: [APP], outDir, root }).bundles[APP].error).toBeNull()
  const manage = JSON.parse(fs.readFileSync(path.join(outDir, APP, 'manage.json'), 'utf8'))
  expect(manage[0]).toEqual(expect.objectContaining({ fileName: 'part.0.tar', size: expect.any(Number), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }))
  const tarFile = path.join(outDir, APP, 'part.0.tar')
  const tar = fs.readFileSync(tarFile)
  // Inside the first file's content: the tar itself still parses.
  const at = tar.indexOf(Buffer.from('alpha'))
  expect(at).toBeGreaterThan(0)
  tar[at] ^= 0x20
  fs.writeFileSync(tarFile, tar)
  expectRefused(outDir, 'SHA-256')
})

test('a symlinked data/ in the sandbox is refused with 13500008, nothing is written through it', () => {
  const outDir = path.join(tmp, `full${n++}`)
  expect(client('backupToDir', { bundles: [APP], outDir, root }).bundles[APP].error).toBeNull()
  const outside = path.join(tmp, `outside${n++}`)
  fs.cpSync(path.join(sandbox, 'data'), outside, { recursive: true, preserveTimestamps: true })
  const before = snapshot(outside)
  fs.rmSync(path.join(sandbox, 'data'), { recursive: true })
  fs.symlinkSync(outside, path.join(sandbox, 'data'))
  const r = client('restoreFromDir', { inDir: outDir, bundles: [APP], root })
  expect(r.bundles[APP].error).toEqual({ code: 13500008, message: expect.stringContaining('symlink') })
  expect(snapshot(outside)).toEqual(before)
  expect(fs.lstatSync(path.join(sandbox, 'data')).isSymbolicLink()).toBe(true)
})

test('a .rp whose version the reader does not know (9.9) is refused', () => {
  const { outDir, dir } = incrementalFolder()
  const tarRp = fs.readdirSync(dir).find((f) => f.endsWith('.tar.rp'))
  const text = fs.readFileSync(path.join(dir, tarRp), 'utf8')
  expect(text.startsWith('version=1.0&')).toBe(true)
  fs.writeFileSync(path.join(dir, tarRp), text.replace('version=1.0', 'version=9.9'))
  expectRefused(outDir, 'report version "9.9" is not one this reader knows')
})
