'use strict'
// The OpenHarmony modules that apps and clients import, as lib/ohos/ and lib/fs.js give them
// (issue 9): hilog's formats and levels, the extension context's areas, fileIo's forms and
// error codes with sandbox paths, @ohos.buffer, and backup/kit's exports.

const fs = require('fs')
const os = require('os')
const path = require('path')
const hilog = require('../../lib/ohos/hilog.js')
const { BackupExtensionContext } = require('../../lib/ohos/extension-context.js')
const { contextConstant } = require('../../lib/ohos/ability-kit.js')
const buffer = require('../../lib/ohos/buffer.js')
const kit = require('backup/kit')
const fileIo = require('backup/fs')

let dir
let saved
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ohos-modules-'))
  saved = process.env.BACKUP_CLIENT_SANDBOX
  process.env.BACKUP_CLIENT_SANDBOX = dir
})
afterEach(() => {
  if (saved === undefined) delete process.env.BACKUP_CLIENT_SANDBOX
  else process.env.BACKUP_CLIENT_SANDBOX = saved
  delete process.env.BACKUP_HILOG_LEVEL
  delete process.env.BACKUP_HILOG_PRIVATE
  fs.rmSync(dir, { recursive: true, force: true })
  jest.restoreAllMocks()
})

describe('hilog', () => {
  const lines = () => {
    const out = []
    for (const m of ['debug', 'info', 'warn', 'error']) jest.spyOn(console, m).mockImplementation((l) => out.push([m, l]))
    return out
  }

  test('levels, domain and tag as a device prints them; private arguments hidden', () => {
    const out = lines()
    hilog.debug(0x0, 'testTag', 'debug %{public}s', 'shown')
    hilog.info(0x3300, 'Tag', '%{public}s=%{public}d, %{private}s, %s, %d, 100%%', 'n', 42.7, 'secret', 'also', 7)
    hilog.warn(0xffff, 'a-very-long-tag-that-is-cut-after-31-bytes', 'o: %{public}o', { a: [1] })
    hilog.error(1, 'T', 'big %{public}d, missing %{public}s.', 12345678901234567890n)
    hilog.fatal(2, 'T', 'the end')
    hilog.info(0x10000, 'T', 'domain out of range: not printed')
    expect(out).toEqual([
      ['debug', 'D A00000/testTag: debug shown'],
      ['info', 'I A03300/Tag: n=42, <private>, <private>, <private>, 100%'],
      ['warn', 'W A0FFFF/a-very-long-tag-that-is-cut-aft: o: {"a":[1]}'],
      ['error', 'E A00001/T: big 12345678901234567890, missing .'],
      ['error', 'F A00002/T: the end'],
    ])
  })

  test('isLoggable follows BACKUP_HILOG_LEVEL; BACKUP_HILOG_PRIVATE=show shows private arguments', () => {
    expect(hilog.isLoggable(0x1, 'T', hilog.LogLevel.DEBUG)).toBe(true)
    expect(hilog.isLoggable(0x10000, 'T', hilog.LogLevel.FATAL)).toBe(false)
    process.env.BACKUP_HILOG_LEVEL = 'warn'
    expect([3, 4, 5, 6, 7].map((l) => hilog.isLoggable(0x1, 'T', l))).toEqual([false, false, true, true, true])
    process.env.BACKUP_HILOG_PRIVATE = 'show'
    const out = lines()
    hilog.info(1, 'T', 'not printed')
    hilog.warn(1, 'T', '%{private}s %s', 'a', 'b')
    expect(out).toEqual([['warn', 'W A00001/T: a b']])
  })
})

test('context.area switches the directories between el1 and el2 (and back)', () => {
  const ctx = new BackupExtensionContext('/sb', 'com.example.app', '/code')
  expect(ctx.area).toBe(contextConstant.AreaMode.EL2)
  expect([ctx.filesDir, ctx.databaseDir]).toEqual(['/sb/data/storage/el2/base/files', '/sb/data/storage/el2/database'])
  ctx.area = contextConstant.AreaMode.EL1
  expect([ctx.filesDir, ctx.cacheDir, ctx.tempDir, ctx.preferencesDir, ctx.databaseDir]).toEqual([
    '/sb/data/storage/el1/base/files',
    '/sb/data/storage/el1/base/cache',
    '/sb/data/storage/el1/base/temp',
    '/sb/data/storage/el1/base/preferences',
    '/sb/data/storage/el1/database',
  ])
  expect(ctx.distributedFilesDir).toBe('/sb/data/storage/el2/distributedfiles')
  expect(() => (ctx.area = 9)).toThrow(/AreaMode/)
  ctx.area = contextConstant.AreaMode.EL2
  expect(ctx.filesDir).toBe('/sb/data/storage/el2/base/files')
})

describe('fileIo', () => {
  const F = '/data/storage/el2/base/files'
  const real = (p) => path.join(dir, p)

  test('open, write (string and ArrayBuffer), read into an ArrayBuffer, close a File or an fd', () => {
    const file = fileIo.openSync(`${F}/a/b.txt`, fileIo.OpenMode.CREATE | fileIo.OpenMode.READ_WRITE)
    expect([file.path, file.name, typeof file.fd]).toEqual([`${F}/a/b.txt`, 'b.txt', 'number'])
    expect(fileIo.writeSync(file.fd, 'hello ')).toBe(6)
    expect(fileIo.writeSync(file.fd, new TextEncoder().encode('world!').buffer, { length: 5 })).toBe(5)
    fileIo.closeSync(file)
    expect(fs.readFileSync(real(`${F}/a/b.txt`), 'utf8')).toBe('hello world')
    const fd = fileIo.openSync(`${F}/a/b.txt`).fd
    const buf = new ArrayBuffer(5)
    expect(fileIo.readSync(fd, buf, { offset: 6, length: 5 })).toBe(5)
    expect(Buffer.from(buf).toString()).toBe('world')
    fileIo.closeSync(fd)
    const appended = fileIo.openSync(`${F}/a/b.txt`, fileIo.OpenMode.WRITE_ONLY | fileIo.OpenMode.APPEND)
    fileIo.writeSync(appended.fd, '!')
    fileIo.closeSync(appended)
    expect(fileIo.readTextSync(`${F}/a/b.txt`)).toBe('hello world!')
  })

  test('mkdir (recursive), listFile (recursion, filter, listNum), rename, stat, access, unlink, rmdir', async () => {
    fileIo.mkdirSync(`${F}/x/y/z`, true)
    for (const [p, t] of [['x/1.txt', 'one'], ['x/y/2.txt', 'two!'], ['x/y/z/3.md', 'three']]) fs.writeFileSync(real(`${F}/${p}`), t)
    expect(fileIo.listFileSync(`${F}/x`)).toEqual(['1.txt', 'y'])
    expect(fileIo.listFileSync(`${F}/x`, { recursion: true })).toEqual(['/1.txt', '/y/2.txt', '/y/z/3.md'])
    expect(fileIo.listFileSync(`${F}/x`, { recursion: true, filter: { suffix: ['.txt'], fileSizeOver: 3 } })).toEqual(['/y/2.txt'])
    expect(fileIo.listFileSync(`${F}/x`, { recursion: true, filter: { displayName: ['*.md'] } })).toEqual(['/y/z/3.md'])
    expect(fileIo.listFileSync(`${F}/x`, { recursion: true, listNum: 2 })).toEqual(['/1.txt', '/y/2.txt'])
    fileIo.renameSync(`${F}/x/1.txt`, `${F}/moved/1.txt`)
    expect(fileIo.statSync(`${F}/moved/1.txt`).size).toBe(3)
    expect(fileIo.statSync(`${F}/moved`).isDirectory()).toBe(true)
    expect(fileIo.accessSync(`${F}/x/1.txt`)).toBe(false)
    // A real path into the sandbox works as well as the app's path.
    expect(fileIo.accessSync(real(`${F}/moved/1.txt`))).toBe(true)
    fileIo.unlinkSync(`${F}/moved/1.txt`)
    expect(await fileIo.access(`${F}/moved/1.txt`)).toBe(false)
    await fileIo.rmdir(`${F}/x`)
    expect(fs.existsSync(real(`${F}/x`))).toBe(false)
  })

  test('promise and callback forms; errors carry the @ohos.file.fs codes', async () => {
    const file = await fileIo.open(`${F}/p.txt`, fileIo.OpenMode.CREATE | fileIo.OpenMode.WRITE_ONLY)
    expect(await fileIo.write(file.fd, 'promised')).toBe(8)
    await fileIo.close(file)
    expect(await fileIo.readText(`${F}/p.txt`)).toBe('promised')
    await fileIo.copyFile(`${F}/p.txt`, `${F}/q.txt`)
    expect((await fileIo.stat(`${F}/q.txt`)).size).toBe(8)
    expect(await fileIo.listFile(F)).toEqual(['p.txt', 'q.txt'])
    const viaCallback = await new Promise((resolve) => fileIo.readText(`${F}/q.txt`, (err, text) => resolve([err, text])))
    expect(viaCallback).toEqual([undefined, 'promised'])

    const codeOf = (fn) => {
      try {
        fn()
      } catch (e) {
        return e.code
      }
    }
    expect(codeOf(() => fileIo.openSync(`${F}/none.txt`))).toBe(13900002)
    expect(codeOf(() => fileIo.mkdirSync(`${F}/p.txt`))).toBe(13900015)
    expect(codeOf(() => fileIo.rmdirSync(`${F}/p.txt`))).toBe(13900018)
    expect(codeOf(() => fileIo.listFileSync(`${F}/p.txt`))).toBe(13900018)
    expect(codeOf(() => fileIo.readSync(-1, new ArrayBuffer(1)))).toBe(13900020)
    await expect(fileIo.unlink(`${F}/none.txt`)).rejects.toMatchObject({ code: 13900002 })
    const err = await new Promise((resolve) => fileIo.stat(`${F}/none.txt`, (e) => resolve(e)))
    expect(err).toMatchObject({ code: 13900002 })
  })
})

test('@ohos.buffer is Node\'s Buffer; backup/kit exports backup, fileIo and BackupExtensionAbility', () => {
  expect(buffer.from('abc').toString('hex')).toBe('616263')
  expect(buffer.concat([buffer.alloc(2), buffer.from([1])])).toEqual(Buffer.from([0, 0, 1]))
  expect(buffer.from(new Uint8Array([104, 105]).buffer).toString()).toBe('hi')
  expect(kit.BackupExtensionAbility).toBe(require('backup/extension'))
  expect(kit.fileIo).toBe(fileIo)
  expect(kit.backup).toBe(require('backup'))
  expect(Object.keys(kit).sort()).toEqual(['BackupExtensionAbility', 'backup', 'default', 'fileIo'])
})
