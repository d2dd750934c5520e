'use strict'
// Bad arguments: every documented entry point throws synchronously a BusinessError whose
// numeric `code` is the one the method's error table in spec/api-v18.md lists (401 where
// that table lists 401, otherwise 13900020; DESIGN.md §5.2) and whose message begins with
// the text that table gives for that code. The expectations below come from the spec
// tables, not from the implementation.

const fs = require('fs')
const os = require('os')
const path = require('path')
const backup = require('backup')
const { thrownBy } = require('./support/throws.js')
const { sleep } = require('./support/wait.js')

// ---- what the spec tables say ----------------------------------------------------------

const PARAM_ERROR =
  'Parameter error. Possible causes: 1. Mandatory parameters are left unspecified. ' +
  '2. Incorrect parameter types. 3. Parameter verifcation faild.'
const INPUT_INVALID = 'The input parameter is invalid.'
// Some tables write it without the final period ("Invalid argument"), so only that prefix.
const INVALID_ARGUMENT = 'Invalid argument'

// method -> [code, documented message] for an argument error.
const DOC = {
  'getLocalCapabilities()': [13900020, INVALID_ARGUMENT], // table lists neither 401 nor 13900020
  'getLocalCapabilities(dataList)': [401, PARAM_ERROR],
  getBackupInfo: [401, INPUT_INVALID],
  updateTimer: [401, INPUT_INVALID],
  updateSendRate: [401, INPUT_INVALID],
  'SessionBackup constructor': [13900020, INVALID_ARGUMENT], // no table
  'SessionRestore constructor': [13900020, INVALID_ARGUMENT], // no table
  'IncrementalBackupSession constructor': [401, PARAM_ERROR],
  'SessionBackup.appendBundles': [13900020, INVALID_ARGUMENT],
  'SessionRestore.appendBundles': [13900020, INVALID_ARGUMENT],
  'IncrementalBackupSession.appendBundles': [401, PARAM_ERROR],
  getFileHandle: [13900020, INVALID_ARGUMENT],
  publishFile: [13900020, INVALID_ARGUMENT],
  release: [401, PARAM_ERROR],
  cancel: [401, PARAM_ERROR],
  getBackupDataSize: [401, PARAM_ERROR],
  'session.getLocalCapabilities': [13900020, INVALID_ARGUMENT],
}

// ---- helpers -----------------------------------------------------------------------------

const roots = []
function freshRoot() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'backup-args-'))
  roots.push(root)
  return root
}
afterAll(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true })
})

const noop = () => {}
const CALLBACKS = {
  onFileReady: noop,
  onBundleBegin: noop,
  onBundleEnd: noop,
  onAllBundlesEnd: noop,
  onBackupServiceDied: noop,
}

/** The call throws a BusinessError with the code the method's table lists. */
function expectArgError(method, fn) {
  const [code] = DOC[method]
  const e = thrownBy(fn)
  // Realm-independent Error check (instanceof is checked separately below).
  expect(Object.prototype.toString.call(e)).toBe('[object Error]')
  expect(typeof e.message).toBe('string')
  expect({ method, code: e.code }).toEqual({ method, code })
  // Thrown errors carry no bundle name.
  expect(e.data).toBeUndefined()
  return e
}

// Each case: [description, method key in DOC, () => call]
function cases(list) {
  test.each(list)('%s', (_desc, method, fn) => {
    expectArgError(method, fn)
  })
}

/** A session of kind `Kind`, alone on a fresh device; released by afterAll. */
function sessionFixture(Kind) {
  const ctx = {}
  beforeAll(() => {
    process.env.BACKUP_DEVICE_ROOT = freshRoot()
    ctx.session = new backup[Kind]({ ...CALLBACKS })
  })
  afterAll(async () => {
    await ctx.session.release()
  })
  return ctx
}

// ---- module functions --------------------------------------------------------------------

describe('getLocalCapabilities', () => {
  beforeAll(() => {
    process.env.BACKUP_DEVICE_ROOT = freshRoot()
  })

  cases([
    ['a string instead of a callback', 'getLocalCapabilities()', () => backup.getLocalCapabilities('cb')],
    ['a number instead of a callback', 'getLocalCapabilities()', () => backup.getLocalCapabilities(1)],
    ['an object instead of a callback', 'getLocalCapabilities()', () => backup.getLocalCapabilities({})],
    ['a callback and an extra argument', 'getLocalCapabilities()', () => backup.getLocalCapabilities(noop, 1)],
    ['dataList element not an object', 'getLocalCapabilities(dataList)', () => backup.getLocalCapabilities([1])],
    ['dataList element without bundleName', 'getLocalCapabilities(dataList)', () => backup.getLocalCapabilities([{ lastIncrementalTime: 0 }])],
    ['dataList bundleName not a string', 'getLocalCapabilities(dataList)', () => backup.getLocalCapabilities([{ bundleName: 7, lastIncrementalTime: 0 }])],
    ['dataList without lastIncrementalTime', 'getLocalCapabilities(dataList)', () => backup.getLocalCapabilities([{ bundleName: 'com.example.a' }])],
    ['dataList lastIncrementalTime a string', 'getLocalCapabilities(dataList)', () => backup.getLocalCapabilities([{ bundleName: 'com.example.a', lastIncrementalTime: '0' }])],
  ])

  test('a callback that is not called when the call throws', async () => {
    const cb = jest.fn()
    expectArgError('getLocalCapabilities()', () => backup.getLocalCapabilities(cb, 'extra'))
    await sleep(50)
    expect(cb).not.toHaveBeenCalled()
  })

  test('valid forms do not throw: promise, callback, dataList', async () => {
    const a = await backup.getLocalCapabilities()
    expect(Number.isInteger(a.fd) && a.fd >= 0).toBe(true)
    fs.closeSync(a.fd)
    const b = await new Promise((resolve, reject) =>
      backup.getLocalCapabilities((err, data) => (err ? reject(err) : resolve(data))),
    )
    expect(Number.isInteger(b.fd) && b.fd >= 0).toBe(true)
    fs.closeSync(b.fd)
    const c = await backup.getLocalCapabilities([{ bundleName: 'com.example.a', lastIncrementalTime: 0 }])
    expect(Number.isInteger(c.fd) && c.fd >= 0).toBe(true)
    fs.closeSync(c.fd)
  })
})

describe('getBackupVersion', () => {
  // The docs list no argument error for it (201/202 only) and the reference ignores any
  // argument, so extra arguments change nothing.
  test('returns the documented JSON, with or without stray arguments', () => {
    const v = backup.getBackupVersion()
    expect(JSON.parse(v)).toEqual({ backupVersion: '16.0' })
    expect(backup.getBackupVersion('x', 1)).toBe(v)
  })
})

describe('getBackupInfo', () => {
  cases([
    ['no argument', 'getBackupInfo', () => backup.getBackupInfo()],
    ['a number', 'getBackupInfo', () => backup.getBackupInfo(1)],
    ['null', 'getBackupInfo', () => backup.getBackupInfo(null)],
    ['an object', 'getBackupInfo', () => backup.getBackupInfo({ bundleName: 'com.example.a' })],
  ])

  test('a string does not throw', () => {
    process.env.BACKUP_DEVICE_ROOT = freshRoot()
    expect(() => backup.getBackupInfo('com.example.notinstalled')).not.toThrow()
  })
})

describe('updateTimer', () => {
  cases([
    ['no argument', 'updateTimer', () => backup.updateTimer()],
    ['no timeout', 'updateTimer', () => backup.updateTimer('com.example.a')],
    ['bundleName a number', 'updateTimer', () => backup.updateTimer(1, 1000)],
    ['timeout a string', 'updateTimer', () => backup.updateTimer('com.example.a', '1000')],
    ['timeout negative', 'updateTimer', () => backup.updateTimer('com.example.a', -1)],
    ['timeout above 4 h', 'updateTimer', () => backup.updateTimer('com.example.a', 14400001)],
    ['timeout not an integer', 'updateTimer', () => backup.updateTimer('com.example.a', 1.5)],
    ['timeout NaN', 'updateTimer', () => backup.updateTimer('com.example.a', NaN)],
  ])

  test('the bounds 0 and 14400000 are accepted and answer a boolean', () => {
    process.env.BACKUP_DEVICE_ROOT = freshRoot()
    expect(typeof backup.updateTimer('com.example.a', 0)).toBe('boolean')
    expect(typeof backup.updateTimer('com.example.a', 14400000)).toBe('boolean')
  })
})

describe('updateSendRate', () => {
  cases([
    ['no argument', 'updateSendRate', () => backup.updateSendRate()],
    ['no rate', 'updateSendRate', () => backup.updateSendRate('com.example.a')],
    ['bundleName a number', 'updateSendRate', () => backup.updateSendRate(1, 10)],
    ['rate a string', 'updateSendRate', () => backup.updateSendRate('com.example.a', '10')],
    ['rate negative', 'updateSendRate', () => backup.updateSendRate('com.example.a', -1)],
    ['rate not an integer', 'updateSendRate', () => backup.updateSendRate('com.example.a', 2.5)],
    ['rate beyond int32', 'updateSendRate', () => backup.updateSendRate('com.example.a', 2 ** 31)],
  ])

  test('0 and values above the ceiling are accepted (clamped), answering a boolean', () => {
    process.env.BACKUP_DEVICE_ROOT = freshRoot()
    expect(typeof backup.updateSendRate('com.example.a', 0)).toBe('boolean')
    expect(typeof backup.updateSendRate('com.example.a', 100000)).toBe('boolean')
  })
})

// ---- constructors -----------------------------------------------------------------------

describe.each([['SessionBackup'], ['SessionRestore'], ['IncrementalBackupSession']])('%s constructor', (Kind) => {
  const method = `${Kind} constructor`
  beforeAll(() => {
    process.env.BACKUP_DEVICE_ROOT = freshRoot()
  })
  cases([
    ['no argument', method, () => new backup[Kind]()],
    ['undefined', method, () => new backup[Kind](undefined)],
    ['null', method, () => new backup[Kind](null)],
    ['a string', method, () => new backup[Kind]('callbacks')],
    ['a function', method, () => new backup[Kind](noop)],
    ['an array', method, () => new backup[Kind]([CALLBACKS])],
    ['two arguments', method, () => new backup[Kind](CALLBACKS, CALLBACKS)],
    ['onFileReady not a function', method, () => new backup[Kind]({ ...CALLBACKS, onFileReady: 'x' })],
    ['onAllBundlesEnd not a function', method, () => new backup[Kind]({ ...CALLBACKS, onAllBundlesEnd: 1 })],
  ])

  test('a refused construction opens no session: a valid one follows at once', async () => {
    thrownBy(() => new backup[Kind](null))
    const s = new backup[Kind]({ ...CALLBACKS })
    await s.release()
  })
})

// ---- SessionBackup ----------------------------------------------------------------------

describe('SessionBackup methods', () => {
  const ctx = sessionFixture('SessionBackup')
  const M = 'SessionBackup.appendBundles'
  cases([
    ['appendBundles() with nothing', M, () => ctx.session.appendBundles()],
    ['appendBundles(string)', M, () => ctx.session.appendBundles('com.example.a')],
    ['appendBundles(object)', M, () => ctx.session.appendBundles({ 0: 'com.example.a', length: 1 })],
    ['appendBundles(null)', M, () => ctx.session.appendBundles(null)],
    ['appendBundles with a number element', M, () => ctx.session.appendBundles(['com.example.a', 1])],
    ['appendBundles with an object element', M, () => ctx.session.appendBundles([{ bundleName: 'com.example.a' }])],
    ['appendBundles with infos not an array', M, () => ctx.session.appendBundles(['com.example.a'], '{}')],
    ['appendBundles with a non-string info', M, () => ctx.session.appendBundles(['com.example.a'], [{}])],
    ['appendBundles with infos longer than the list', M, () => ctx.session.appendBundles(['com.example.a'], ['{}', '{}'])],
    ['appendBundles with infos shorter than the list', M, () => ctx.session.appendBundles(['com.example.a', 'com.example.b'], ['{}'])],
    ['appendBundles with too many arguments', M, () => ctx.session.appendBundles(['com.example.a'], ['{}'], noop)],
    ['release(1)', 'release', () => ctx.session.release(1)],
    ['release(callback)', 'release', () => ctx.session.release(noop)],
    ['cancel()', 'cancel', () => ctx.session.cancel()],
    ['cancel(number)', 'cancel', () => ctx.session.cancel(1)],
    ['cancel(null)', 'cancel', () => ctx.session.cancel(null)],
    ['cancel with two arguments', 'cancel', () => ctx.session.cancel('com.example.a', 'x')],
    ['getLocalCapabilities(1)', 'session.getLocalCapabilities', () => ctx.session.getLocalCapabilities(1)],
    ['getBackupDataSize()', 'getBackupDataSize', () => ctx.session.getBackupDataSize()],
    ['getBackupDataSize with a non-boolean', 'getBackupDataSize', () => ctx.session.getBackupDataSize('yes', [])],
    ['getBackupDataSize with a non-array list', 'getBackupDataSize', () => ctx.session.getBackupDataSize(true, {})],
    ['getBackupDataSize with a bad list element', 'getBackupDataSize', () => ctx.session.getBackupDataSize(false, [{ bundleName: 1, lastIncrementalTime: 0 }])],
  ])

  test('infos of a different length: the documented difference names both lengths', () => {
    const e = expectArgError(M, () => ctx.session.appendBundles(['com.example.a', 'com.example.b', 'com.example.c'], ['{}']))
    expect(e.message).toMatch(/\b1\b/)
    expect(e.message).toMatch(/\b3\b/)
  })

  test('the callback of a refused appendBundles is never called', async () => {
    const cb = jest.fn()
    expectArgError(M, () => ctx.session.appendBundles(['com.example.a', 2], cb))
    await sleep(50)
    expect(cb).not.toHaveBeenCalled()
  })

  test('cancel with a valid name answers a number, not an error', () => {
    expect(ctx.session.cancel('com.example.none')).toBe(13500012)
  })
})

// ---- SessionRestore ---------------------------------------------------------------------

describe('SessionRestore methods', () => {
  const ctx = sessionFixture('SessionRestore')
  const M = 'SessionRestore.appendBundles'
  // Any open fd will do: these calls are refused before the fd is read.
  let capFd
  beforeAll(() => {
    capFd = fs.openSync(os.devNull, 'r')
  })
  afterAll(() => {
    fs.closeSync(capFd)
  })

  cases([
    ['appendBundles() with nothing', M, () => ctx.session.appendBundles()],
    ['appendBundles(fd) without a list', M, () => ctx.session.appendBundles(capFd)],
    ['fd a string', M, () => ctx.session.appendBundles(String(capFd), ['com.example.a'])],
    ['fd a fraction', M, () => ctx.session.appendBundles(capFd + 0.5, ['com.example.a'])],
    ['fd null', M, () => ctx.session.appendBundles(null, ['com.example.a'])],
    ['fd an object', M, () => ctx.session.appendBundles({ fd: capFd }, ['com.example.a'])],
    ['list first, fd second', M, () => ctx.session.appendBundles(['com.example.a'], capFd)],
    ['list not an array', M, () => ctx.session.appendBundles(capFd, 'com.example.a')],
    ['list with a number element', M, () => ctx.session.appendBundles(capFd, ['com.example.a', 3])],
    ['infos not an array', M, () => ctx.session.appendBundles(capFd, ['com.example.a'], 7)],
    ['infos with a non-string', M, () => ctx.session.appendBundles(capFd, ['com.example.a'], [null])],
    ['infos of a different length', M, () => ctx.session.appendBundles(capFd, ['com.example.a'], ['{}', '{}'])],
    ['too many arguments', M, () => ctx.session.appendBundles(capFd, ['com.example.a'], ['{}'], noop)],
    ['getFileHandle()', 'getFileHandle', () => ctx.session.getFileHandle()],
    ['getFileHandle(string)', 'getFileHandle', () => ctx.session.getFileHandle('com.example.a/part.0.tar')],
    ['getFileHandle(null)', 'getFileHandle', () => ctx.session.getFileHandle(null)],
    ['getFileHandle without bundleName', 'getFileHandle', () => ctx.session.getFileHandle({ uri: 'manage.json' })],
    ['getFileHandle bundleName a number', 'getFileHandle', () => ctx.session.getFileHandle({ bundleName: 1, uri: 'manage.json' })],
    ['getFileHandle without uri', 'getFileHandle', () => ctx.session.getFileHandle({ bundleName: 'com.example.a' })],
    ['getFileHandle uri a number', 'getFileHandle', () => ctx.session.getFileHandle({ bundleName: 'com.example.a', uri: 1 })],
    ['getFileHandle uri with a slash', 'getFileHandle', () => ctx.session.getFileHandle({ bundleName: 'com.example.a', uri: 'a/part.0.tar' })],
    ['getFileHandle uri "../x"', 'getFileHandle', () => ctx.session.getFileHandle({ bundleName: 'com.example.a', uri: '../x' })],
    ['getFileHandle uri absolute', 'getFileHandle', () => ctx.session.getFileHandle({ bundleName: 'com.example.a', uri: '/etc/passwd' })],
    ['getFileHandle uri ""', 'getFileHandle', () => ctx.session.getFileHandle({ bundleName: 'com.example.a', uri: '' })],
    ['getFileHandle second argument not a function', 'getFileHandle', () => ctx.session.getFileHandle({ bundleName: 'com.example.a', uri: 'manage.json' }, 'cb')],
    ['publishFile()', 'publishFile', () => ctx.session.publishFile()],
    ['publishFile(string)', 'publishFile', () => ctx.session.publishFile('com.example.a')],
    ['publishFile without bundleName', 'publishFile', () => ctx.session.publishFile({ uri: '' })],
    ['publishFile bundleName a number', 'publishFile', () => ctx.session.publishFile({ bundleName: 5, uri: '' })],
    ['publishFile without uri', 'publishFile', () => ctx.session.publishFile({ bundleName: 'com.example.a' })],
    ['publishFile uri a number', 'publishFile', () => ctx.session.publishFile({ bundleName: 'com.example.a', uri: 0 })],
    ['publishFile uri with a slash', 'publishFile', () => ctx.session.publishFile({ bundleName: 'com.example.a', uri: 'x/manage.json' })],
    ['publishFile uri ".."', 'publishFile', () => ctx.session.publishFile({ bundleName: 'com.example.a', uri: '..' })],
    ['publishFile second argument not a function', 'publishFile', () => ctx.session.publishFile({ bundleName: 'com.example.a', uri: '' }, {})],
    ['release(1)', 'release', () => ctx.session.release(1)],
    ['cancel()', 'cancel', () => ctx.session.cancel()],
    ['cancel(number)', 'cancel', () => ctx.session.cancel(42)],
    ['cancel with three arguments', 'cancel', () => ctx.session.cancel('com.example.a', 1, 2)],
    ['getLocalCapabilities(1)', 'session.getLocalCapabilities', () => ctx.session.getLocalCapabilities(1)],
  ])

  // One rule for bad fd arguments: they throw at the call like every other bad argument.
  test.each([
    ['closed', () => {
      const fd = fs.openSync(os.devNull, 'r')
      fs.closeSync(fd)
      return [fd, () => {}]
    }],
    ['write-only', () => {
      const fd = fs.openSync(os.devNull, 'w')
      return [fd, () => fs.closeSync(fd)]
    }],
    ['negative', () => [-1, () => {}]],
  ])('a %s remoteCapabilitiesFd throws 13900020 at once', (_, make) => {
    const [fd, done] = make()
    try {
      const e = thrownBy(() => ctx.session.appendBundles(fd, ['com.example.a']))
      expect(e.code).toBe(13900020)
      expect(e.message.startsWith(INVALID_ARGUMENT)).toBe(true)
      expect(e.message).toMatch(/remoteCapabilitiesFd/)
    } finally {
      done()
    }
  })

  test('the callbacks of refused getFileHandle/publishFile are never called', async () => {
    const cb = jest.fn()
    expectArgError('getFileHandle', () => ctx.session.getFileHandle({ bundleName: 'com.example.a', uri: 'a/b' }, cb))
    expectArgError('publishFile', () => ctx.session.publishFile({ bundleName: 'com.example.a', uri: 'a/b' }, cb))
    await sleep(50)
    expect(cb).not.toHaveBeenCalled()
  })

  test('restore cancel takes 1 to 2 arguments: two is not an error', () => {
    expect(typeof ctx.session.cancel('com.example.none', 'x')).toBe('number')
  })
})

// ---- IncrementalBackupSession -----------------------------------------------------------

describe('IncrementalBackupSession methods', () => {
  const ctx = sessionFixture('IncrementalBackupSession')
  const M = 'IncrementalBackupSession.appendBundles'
  const ok = { bundleName: 'com.example.a', lastIncrementalTime: 0 }
  cases([
    ['appendBundles() with nothing', M, () => ctx.session.appendBundles()],
    ['appendBundles(array of strings)', M, () => ctx.session.appendBundles(['com.example.a'])],
    ['appendBundles(object)', M, () => ctx.session.appendBundles(ok)],
    ['element without bundleName', M, () => ctx.session.appendBundles([{ lastIncrementalTime: 0 }])],
    ['bundleName not a string', M, () => ctx.session.appendBundles([{ bundleName: 1, lastIncrementalTime: 0 }])],
    ['without lastIncrementalTime', M, () => ctx.session.appendBundles([{ bundleName: 'com.example.a' }])],
    ['lastIncrementalTime a string', M, () => ctx.session.appendBundles([{ ...ok, lastIncrementalTime: '0' }])],
    ['manifestFd a string', M, () => ctx.session.appendBundles([{ ...ok, manifestFd: '3' }])],
    ['manifestFd a fraction', M, () => ctx.session.appendBundles([{ ...ok, manifestFd: 3.5 }])],
    ['parameters not a string', M, () => ctx.session.appendBundles([{ ...ok, parameters: {} }])],
    ['priority a string', M, () => ctx.session.appendBundles([{ ...ok, priority: 'high' }])],
    ['infos not an array', M, () => ctx.session.appendBundles([ok], 'x')],
    ['infos with a non-string', M, () => ctx.session.appendBundles([ok], [1])],
    ['infos of a different length', M, () => ctx.session.appendBundles([ok], ['{}', '{}'])],
    ['release(1)', 'release', () => ctx.session.release(1)],
    ['cancel()', 'cancel', () => ctx.session.cancel()],
    ['cancel(number)', 'cancel', () => ctx.session.cancel(1)],
    ['cancel with two arguments', 'cancel', () => ctx.session.cancel('com.example.a', 'b')],
    ['getLocalCapabilities(1)', 'session.getLocalCapabilities', () => ctx.session.getLocalCapabilities(1)],
    ['getBackupDataSize()', 'getBackupDataSize', () => ctx.session.getBackupDataSize()],
    ['getBackupDataSize with a non-array list', 'getBackupDataSize', () => ctx.session.getBackupDataSize(true, 'x')],
  ])
})

// ---- the message and the Error class -----------------------------------------------------

describe('the message is the documented text of the method’s table', () => {
  let session
  beforeAll(() => {
    process.env.BACKUP_DEVICE_ROOT = freshRoot()
  })
  afterEach(async () => {
    if (session) await session.release()
    session = undefined
  })
  const open = (Kind) => (session = new backup[Kind]({ ...CALLBACKS }))

  const calls = [
    ['getLocalCapabilities()', () => backup.getLocalCapabilities('x')],
    ['getLocalCapabilities(dataList)', () => backup.getLocalCapabilities([1])],
    ['getBackupInfo', () => backup.getBackupInfo(1)],
    ['updateTimer', () => backup.updateTimer('com.example.a', -1)],
    ['updateSendRate', () => backup.updateSendRate('com.example.a', -1)],
    ['SessionBackup constructor', () => new backup.SessionBackup(null)],
    ['SessionRestore constructor', () => new backup.SessionRestore(null)],
    ['IncrementalBackupSession constructor', () => new backup.IncrementalBackupSession(null)],
    ['SessionBackup.appendBundles', () => open('SessionBackup').appendBundles('x')],
    ['SessionRestore.appendBundles', () => open('SessionRestore').appendBundles('x', [])],
    ['IncrementalBackupSession.appendBundles', () => open('IncrementalBackupSession').appendBundles('x')],
    ['getFileHandle', () => open('SessionRestore').getFileHandle(1)],
    ['publishFile', () => open('SessionRestore').publishFile(1)],
    ['release', () => open('SessionBackup').release(1)],
    ['cancel', () => open('SessionBackup').cancel(1)],
    ['getBackupDataSize', () => open('SessionBackup').getBackupDataSize(1, [])],
    ['session.getLocalCapabilities', () => open('SessionBackup').getLocalCapabilities(1)],
  ]
  test.each(calls)('%s', (method, fn) => {
    const e = expectArgError(method, fn)
    const [, text] = DOC[method]
    expect(e.message.slice(0, text.length)).toBe(text)
  })
})

describe('a BusinessError is an instance of the caller’s Error', () => {
  beforeAll(() => {
    process.env.BACKUP_DEVICE_ROOT = freshRoot()
  })

  test('thrown by a module function', () => {
    const e = thrownBy(() => backup.updateSendRate())
    expect(e instanceof Error).toBe(true)
  })

  test('thrown by a constructor', () => {
    const e = thrownBy(() => new backup.SessionBackup())
    expect(e instanceof Error).toBe(true)
  })

  test('thrown by a session method', async () => {
    const s = new backup.SessionBackup({ ...CALLBACKS })
    try {
      const e = thrownBy(() => s.appendBundles(42))
      expect(e instanceof Error).toBe(true)
    } finally {
      await s.release()
    }
  })

  test('a promise rejection', async () => {
    const s = new backup.SessionRestore({ ...CALLBACKS })
    try {
      // A capability file that is no JSON is the service's refusal: a rejection.
      const fd = fs.openSync(os.devNull, 'r')
      const e = await s.appendBundles(fd, ['com.example.a']).then(
        () => undefined,
        (err) => err,
      )
      fs.closeSync(fd)
      expect(e).toBeDefined()
      expect(e instanceof Error).toBe(true)
    } finally {
      await s.release()
    }
  })

  test('in a plain Node process too (outside Jest’s sandbox)', () => {
    const { execFileSync } = require('child_process')
    const out = execFileSync(
      process.execPath,
      ['-e', "const b=require(process.argv[1]);try{b.updateTimer()}catch(e){process.stdout.write(String(e instanceof Error)+' '+e.code)}", path.join(__dirname, '..', 'index.js')],
      { encoding: 'utf8', env: { ...process.env, BACKUP_DEVICE_ROOT: freshRoot() } },
    )
    expect(out).toBe('true 401')
  })
})
