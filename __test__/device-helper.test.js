'use strict'
// The device helper (lib/device.js) writes the layout the service reads, and its snapshots
// see every change that matters; the kit's fileIo behaves like @ohos.file.fs.

const fs = require('fs')
const os = require('os')
const path = require('path')
const crypto = require('crypto')
const device = require('../lib/device')
const { fileIo } = require('../lib/kit')
const { BusinessError } = require('../lib/basic-services')

const fresh = require('./support/devices.js').tempDevices()

const FILES = 'data/storage/el2/base/files'

describe('createDevice / installBundle', () => {
  test('creates a fresh device with device.json, bundles/ and apps/', () => {
    const root = fresh(undefined, { deviceType: 'tablet' })
    expect(root.startsWith(os.tmpdir())).toBe(true)
    expect(JSON.parse(fs.readFileSync(path.join(root, 'device.json'), 'utf8'))).toEqual({
      deviceType: 'tablet',
      systemFullName: 'OpenHarmony-5.0.0.0',
    })
    expect(fs.statSync(path.join(root, 'bundles')).isDirectory()).toBe(true)
    expect(fs.statSync(path.join(root, 'apps')).isDirectory()).toBe(true)
    expect(fresh()).not.toBe(root)
  })

  test('writes bundle.json and backup_config.json as src/device reads them', () => {
    const root = fresh()
    const sandbox = device.installBundle(root, 'com.example.notes', { versionCode: 7, versionName: '2.1' })
    expect(sandbox).toBe(path.join(root, 'apps/com.example.notes'))
    const dir = path.join(root, 'bundles/com.example.notes')
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'bundle.json'), 'utf8'))).toEqual({
      name: 'com.example.notes',
      versionCode: 7,
      versionName: '2.1',
      appIndex: 0,
      extension: { name: 'BackupExtensionAbility' },
    })
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'backup_config.json'), 'utf8'))).toEqual({ allowToBackupRestore: true })
    expect(device.listBundles(root)).toEqual(['com.example.notes'])
  })

  test('extension false / srcEntry with source, config null', () => {
    const root = fresh()
    device.installBundle(root, 'com.example.noext', { extension: false, config: null })
    const noext = device.bundleInfo(root, 'com.example.noext')
    expect(noext.extension).toBeUndefined()
    expect(noext.config).toBeNull()

    const src = path.join(root, 'ext-source.js')
    fs.writeFileSync(src, 'module.exports = 42\n')
    device.installBundle(root, 'com.example.withext', { extension: 'ets/ext.js', extensionSource: src, config: { includes: [] } })
    const info = device.bundleInfo(root, 'com.example.withext')
    expect(info.extension).toEqual({ name: 'BackupExtensionAbility', srcEntry: 'ets/ext.js' })
    expect(info.config).toEqual({ includes: [] })
    expect(fs.readFileSync(path.join(root, 'bundles/com.example.withext/ets/ext.js'), 'utf8')).toBe('module.exports = 42\n')
  })

  test('rejects bundle names the service would not accept and paths leaving the sandbox', () => {
    const root = fresh()
    expect(() => device.installBundle(root, 'short')).toThrow(/invalid bundle name/)
    expect(() => device.installBundle(root, '../escape.name')).toThrow(/invalid bundle name/)
    expect(() => device.installBundle(root, 'com.example.ok', { files: { '../x': 'a' } })).toThrow(/invalid sandbox path/)
  })

  test('files: text, Buffer, pseudo-random, mode/mtime, directories', () => {
    const root = fresh()
    const mtime = Date.UTC(2024, 0, 2, 3, 4, 5, 678)
    const sandbox = device.installBundle(root, 'com.example.files', {
      files: {
        [`${FILES}/a.txt`]: 'hello',
        [`/${FILES}/nested/deep/b.bin`]: Buffer.from([1, 2, 3]),
        [`${FILES}/big.bin`]: { size: 3 * 1024 * 1024 + 5 },
        [`${FILES}/same-seed-1`]: { size: 1000, seed: 's' },
        [`${FILES}/same-seed-2`]: { size: 1000, seed: 's' },
        [`${FILES}/ro.txt`]: { content: 'ro', mode: 0o444, mtime },
        [`${FILES}/empty/`]: {},
        [`${FILES}/private/`]: { mode: 0o700, mtime: new Date(mtime) },
        [`${FILES}/private/in.txt`]: 'x',
      },
    })
    const f = (p) => path.join(sandbox, FILES, p)
    expect(fs.readFileSync(f('a.txt'), 'utf8')).toBe('hello')
    expect([...fs.readFileSync(f('nested/deep/b.bin'))]).toEqual([1, 2, 3])
    expect(fs.statSync(f('big.bin')).size).toBe(3 * 1024 * 1024 + 5)
    expect(fs.readFileSync(f('same-seed-1'))).toEqual(fs.readFileSync(f('same-seed-2')))
    // Different paths (default seeds) give different bytes, and the bytes are not trivial.
    expect(fs.readFileSync(f('big.bin')).subarray(0, 1000)).not.toEqual(fs.readFileSync(f('same-seed-1')))
    expect(new Set(fs.readFileSync(f('same-seed-1'))).size).toBeGreaterThan(200)
    expect(fs.statSync(f('ro.txt')).mode & 0o777).toBe(0o444)
    const snap = device.snapshotTree(sandbox)
    expect(snap.get(`${FILES}/ro.txt`).mtimeMs).toBe(mtime)
    expect(fs.readdirSync(f('empty'))).toEqual([])
    expect(fs.statSync(f('private')).mode & 0o777).toBe(0o700)
    expect(snap.get(`${FILES}/private`).mtimeMs).toBe(mtime)
    // Without an explicit mtime, files get a whole second (the backup formats keep seconds).
    expect(fs.statSync(f('a.txt')).mtimeMs % 1000).toBe(0)
  })

  test('pseudo-random content is the same on every device', () => {
    const a = fresh()
    const b = fresh()
    const files = { [`${FILES}/r.bin`]: { size: 2 * 1024 * 1024 + 17, seed: 42 } }
    device.installBundle(a, 'com.example.rand', { files })
    device.installBundle(b, 'com.example.rand', { files })
    const hash = (r) => crypto.createHash('sha256').update(fs.readFileSync(path.join(device.sandboxOf(r, 'com.example.rand'), FILES, 'r.bin'))).digest('hex')
    expect(hash(a)).toBe(hash(b))
  })

  test('wipeApp empties the sandbox but keeps it; uninstallBundle removes everything', () => {
    const root = fresh()
    const sandbox = device.installBundle(root, 'com.example.wipe', { files: { [`${FILES}/x/y.txt`]: 'y' } })
    device.wipeApp(root, 'com.example.wipe')
    expect(fs.readdirSync(sandbox)).toEqual([])
    expect(device.listBundles(root)).toEqual(['com.example.wipe'])
    device.uninstallBundle(root, 'com.example.wipe')
    expect(fs.existsSync(sandbox)).toBe(false)
    expect(device.listBundles(root)).toEqual([])
  })
})

describe('snapshotTree / diffSnapshots', () => {
  function setup() {
    const root = fresh()
    const sandbox = device.installBundle(root, 'com.example.snap', {
      files: {
        [`${FILES}/a.txt`]: 'aaa',
        [`${FILES}/d/b.txt`]: { content: 'bbb', mode: 0o600 },
        [`${FILES}/empty/`]: {},
        'data/storage/el2/base/.backup/restore/part.0.tar': 'work area',
      },
    })
    return { root, sandbox, before: device.snapshotTree(sandbox) }
  }

  test('records files and dirs with size, mode, whole-ms mtime and sha256; skips the work area', () => {
    const { sandbox, before } = setup()
    const a = before.get(`${FILES}/a.txt`)
    expect(a).toEqual({
      type: 'file',
      size: 3,
      mode: fs.statSync(path.join(sandbox, FILES, 'a.txt')).mode & 0o7777,
      mtimeMs: Math.round(fs.statSync(path.join(sandbox, FILES, 'a.txt')).mtimeMs),
      sha256: crypto.createHash('sha256').update('aaa').digest('hex'),
    })
    expect(before.get(`${FILES}/d/b.txt`).mode).toBe(0o600)
    expect(before.get(`${FILES}/empty`).type).toBe('dir')
    expect([...before.keys()].some((k) => k.includes('.backup'))).toBe(false)
    expect([...before.keys()]).toEqual([...before.keys()].sort())
    expect(device.diffSnapshots(before, device.snapshotTree(sandbox))).toEqual([])
  })

  test('sees content, size, mode, mtime, missing and extra entries', () => {
    const { root, sandbox, before } = setup()
    const p = (x) => path.join(sandbox, FILES, x)
    const st = fs.statSync(p('a.txt'))
    fs.writeFileSync(p('a.txt'), 'abc') // same size, other content
    fs.utimesSync(p('a.txt'), st.atime, st.mtime)
    fs.chmodSync(p('d/b.txt'), 0o644)
    fs.rmdirSync(p('empty'))
    device.writeFiles(root, 'com.example.snap', { [`${FILES}/new.txt`]: 'n' })
    const diffs = device.diffSnapshots(before, device.snapshotTree(sandbox))
    expect(diffs).toEqual([
      `${FILES}/a.txt: content differs`,
      `${FILES}/d/b.txt: mode 600 → 644`,
      `${FILES}/empty: missing (was a dir)`,
      `${FILES}/new.txt: unexpected file`,
    ])
    fs.utimesSync(p('a.txt'), st.atime, new Date(st.mtimeMs + 1))
    const again = device.diffSnapshots(before, device.snapshotTree(sandbox))
    expect(again[0]).toMatch(/a\.txt: content differs$/)
    expect(again[1]).toMatch(/a\.txt: mtime \d{4}-.*\.000Z → \d{4}-.*\.001Z$/)
  })

  test('directory mtimes are compared only when asked', () => {
    const { sandbox, before } = setup()
    fs.utimesSync(path.join(sandbox, FILES, 'd'), new Date(0), new Date(1000))
    const after = device.snapshotTree(sandbox)
    expect(device.diffSnapshots(before, after)).toEqual([])
    expect(device.diffSnapshots(before, after, { dirMtime: true })).toEqual([expect.stringMatching(/^data\/storage\/el2\/base\/files\/d\/: mtime .*1970-01-01T00:00:01.000Z$/)])
  })

  test('exclude replaces the default list', () => {
    const { sandbox } = setup()
    const all = device.snapshotTree(sandbox, { exclude: [FILES] })
    expect(all.has('data/storage/el2/base/.backup/restore/part.0.tar')).toBe(true)
    expect([...all.keys()].some((k) => k.startsWith(FILES))).toBe(false)
  })
})

describe('kit fileIo', () => {
  let sandbox
  let saved
  beforeAll(() => {
    saved = process.env.BACKUP_CLIENT_SANDBOX
    sandbox = fs.mkdtempSync(path.join(os.tmpdir(), 'backup-client-'))
    process.env.BACKUP_CLIENT_SANDBOX = sandbox
  })
  afterAll(() => {
    fs.rmSync(sandbox, { recursive: true, force: true })
    if (saved === undefined) delete process.env.BACKUP_CLIENT_SANDBOX
    else process.env.BACKUP_CLIENT_SANDBOX = saved
  })

  test('the doc example flow: accessSync, mkdirSync, copyFileSync(fd, path), readTextSync', () => {
    const basePath = '/data/storage/el2/base/backup'
    expect(fileIo.accessSync(basePath)).toBe(false)
    fileIo.mkdirSync(basePath) // parents of the sandbox path are created on demand
    expect(fileIo.accessSync(basePath)).toBe(true)
    expect(fs.statSync(path.join(sandbox, basePath)).isDirectory()).toBe(true)

    const src = path.join(sandbox, 'src.json')
    fs.writeFileSync(src, '{"bundleInfos":[]}')
    const fd = fs.openSync(src, 'r')
    fs.readSync(fd, Buffer.alloc(5)) // moves the fd's offset: copyFileSync still copies from 0
    fileIo.copyFileSync(fd, basePath + '/localCapabilities.json')
    // The caller's fd stays open.
    expect(fs.fstatSync(fd).size).toBe(18)
    fileIo.closeSync(fd)
    expect(fileIo.readTextSync(basePath + '/localCapabilities.json', 'utf8')).toBe('{"bundleInfos":[]}')
    expect(fileIo.readTextSync(basePath + '/localCapabilities.json', { offset: 2, length: 11 })).toBe('bundleInfos')
  })

  test('openSync / writeSync / readSync / statSync / copyFileSync to an fd', () => {
    const file = fileIo.openSync('/data/storage/el2/base/files/t.txt', fileIo.OpenMode.CREATE | fileIo.OpenMode.READ_WRITE)
    expect(file.name).toBe('t.txt')
    expect(fileIo.writeSync(file.fd, 'hello world')).toBe(11)
    expect(fileIo.writeSync(file.fd, 'W', { offset: 6 })).toBe(1)
    const buf = new ArrayBuffer(5)
    expect(fileIo.readSync(file.fd, buf, { offset: 6 })).toBe(5)
    expect(Buffer.from(buf).toString()).toBe('World')
    const st = fileIo.statSync(file.fd)
    expect(st.size).toBe(11)
    expect(st.isFile()).toBe(true)
    expect(st.isDirectory()).toBe(false)
    expect(st.mtime).toBe(Math.floor(fs.fstatSync(file.fd).mtimeMs / 1000))
    expect(st.mode).toBe(fs.fstatSync(file.fd).mode & 0o777)

    const out = fileIo.openSync('/data/storage/el2/base/files/copy.txt', fileIo.OpenMode.CREATE | fileIo.OpenMode.WRITE_ONLY)
    fileIo.copyFileSync('/data/storage/el2/base/files/t.txt', out.fd)
    fileIo.closeSync(out)
    fileIo.closeSync(file)
    expect(fs.readFileSync(path.join(sandbox, 'data/storage/el2/base/files/copy.txt'), 'utf8')).toBe('hello World')
    expect(fileIo.statSync('/data/storage/el2/base/files').isDirectory()).toBe(true)
    fileIo.unlinkSync('/data/storage/el2/base/files/copy.txt')
    expect(fileIo.accessSync('/data/storage/el2/base/files/copy.txt')).toBe(false)
    fileIo.rmdirSync('/data/storage/el2/base/files')
    expect(fileIo.accessSync('/data/storage/el2/base/files')).toBe(false)
  })

  test('errors carry @ohos.file.fs codes', () => {
    const code = (fn) => {
      try {
        fn()
      } catch (e) {
        expect(e).toBeInstanceOf(BusinessError)
        expect(e).toBeInstanceOf(Error)
        return e.code
      }
      throw new Error('did not throw')
    }
    expect(code(() => fileIo.readTextSync('/data/storage/el2/base/nothing.txt'))).toBe(13900002)
    const fd = fs.openSync(__filename, 'r')
    fs.closeSync(fd)
    expect(code(() => fileIo.closeSync(fd))).toBe(13900008)
    expect(code(() => fileIo.closeSync(-1))).toBe(13900020)
    expect(code(() => fileIo.openSync(42))).toBe(13900020)
    expect(code(() => fileIo.copyFileSync(__filename, '/data/storage/x', 1))).toBe(13900020)
    fileIo.mkdirSync('/data/storage/el2/base/exists', true)
    expect(code(() => fileIo.mkdirSync('/data/storage/el2/base/exists'))).toBe(13900015)
    expect(code(() => fileIo.rmdirSync(__filename))).toBe(13900018)
  })

  test('BusinessError', () => {
    const e = new BusinessError(13500001, 'refused', 'com.example.a')
    expect(e).toBeInstanceOf(Error)
    expect([e.code, e.message, e.data]).toEqual([13500001, 'refused', 'com.example.a'])
    expect(Object.assign(new Error('native'), { code: 401 })).toBeInstanceOf(BusinessError)
    expect(new Error('plain')).not.toBeInstanceOf(BusinessError)
  })
})
