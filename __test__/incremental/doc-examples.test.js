// The documentation examples of the incremental API, run as stored (verbatim, their own import
// lines mapped by the Jest moduleNameMapper / the harness), each checked for what it shows:
// IncrementalBackupSession (constructor, getLocalCapabilities, getBackupDataSize, appendBundles
// with and without infos, release, cancel), backup.getLocalCapabilities(dataList),
// SessionBackup.getBackupDataSize and the OnBackupSizeReport callback.
//
// The appendBundles and cancel examples pass `manifestFd: 1` ("FD of the manifest file of the
// last backed"). They are run in a child process whose fd 1 *is* the previous backup's
// manifest (its full listing), so they run unchanged and do what they say. Run as stored in
// Jest, where fd 1 is no manifest, they run to their end too: the bad manifestFd is that
// bundle's error, delivered through its events (DESIGN.md §5.12).
const crypto = require('crypto')
const fs = require('fs')
const os = require('os')
const path = require('path')
const { spawn, execFileSync } = require('child_process')
const { createHarness } = require('../support/doc-harness')
const device = require('../../lib/device.js')
const { incrementalBackupToDir } = require('../../lib/incremental-client.js')
const { sleep } = require('../support/wait.js')

jest.setTimeout(60000)

const ROOT = path.resolve(__dirname, '..', '..')
const EXAMPLES = path.join(ROOT, '__test__', 'doc-examples', 'examples')
const FILES = 'data/storage/el2/base/files'
const DOC_TIME = 1700107870 // the examples' lastIncrementalTime
const OLD = (DOC_TIME - 86400) * 1000 // ms: before it
const NEW = (DOC_TIME + 86400) * 1000 // ms: after it

// A tree with known sizes: inside the default includes, some files older and some newer than
// the examples' lastIncrementalTime; one file outside the includes (cache).
const TREE = {
  [`${FILES}/old-a.txt`]: { content: Buffer.alloc(1000, 1), mtime: OLD },
  [`${FILES}/notes/old-b.txt`]: { content: Buffer.alloc(2500, 2), mtime: OLD },
  [`${FILES}/new-c.txt`]: { content: Buffer.alloc(700, 3), mtime: NEW },
  'data/storage/el2/database/rdb/new.db': { content: Buffer.alloc(4096, 4), mtime: NEW },
  'data/storage/el2/base/preferences/old.xml': { content: Buffer.alloc(300, 5), mtime: OLD },
  'data/storage/el2/base/cache/outside.bin': { content: Buffer.alloc(9000, 6), mtime: NEW },
}
const SCOPE_BYTES = 1000 + 2500 + 700 + 4096 + 300
const SCOPE_NEW_BYTES = 700 + 4096
const SANDBOX_BYTES = SCOPE_BYTES + 9000

const silent = () => ({ onFileReady: (e, f) => f && fs.closeSync(f.fd), onBundleBegin() {}, onBundleEnd() {}, onAllBundlesEnd() {}, onBackupServiceDied() {} })

describe('in this process, through the doc harness', () => {
  let h
  beforeEach(() => {
    h = createHarness()
  })
  afterEach(() => h.cleanup())

  test('constructor: the example opens an incremental session on the device', async () => {
    await h.device({ bundles: { 'com.example.hiworld': { files: TREE } } })
    const r = await h.run('v18-IncrementalBackupSession-constructor', { exports: ['incrementalBackupSession', 'generalCallbacks'] })
    expect(r.error).toBeUndefined()
    expect(r.exports.incrementalBackupSession).toBeInstanceOf(h.real.IncrementalBackupSession)
    expect(Object.keys(r.exports.generalCallbacks).sort()).toEqual(
      ['onAllBundlesEnd', 'onBackupServiceDied', 'onBundleBegin', 'onBundleEnd', 'onFileReady', 'onProcess', 'onResultReport'],
    )
    expect(h.logs()).toEqual([]) // constructing calls no callback
    // The session is live: it holds the device until released.
    let conflict
    try {
      new h.real.SessionBackup(silent())
    } catch (e) {
      conflict = e
    }
    expect(conflict && conflict.code).toBe(13500013)
    await r.exports.incrementalBackupSession.release()
    const next = new h.real.SessionBackup(silent())
    await next.release()
  })

  test('getLocalCapabilities: the saved capability file lists the apps that can be backed up, and the example prints them', async () => {
    await h.device({
      info: { deviceType: 'tablet', systemFullName: 'OpenHarmony-5.1.0.99' },
      bundles: {
        'com.example.hiworld': { files: TREE, versionCode: 1000000, versionName: '1.0.0' },
        'com.example.forbidden': { config: { allowToBackupRestore: false } },
        'com.example.noextension': { extension: false },
      },
    })
    const r = await h.run('v18-IncrementalBackupSession-getLocalCapabilities', { exports: ['getLocalCapabilitiesTest'] })
    await r.exports.getLocalCapabilitiesTest()
    const call = h.calls('IncrementalBackupSession.getLocalCapabilities')[0]
    expect(h.logs()).toEqual([
      'getLocalCapabilities success',
      `fileData info:${call.fileData.fd}`,
      'creat success/data/storage/el2/base/backup',
      'name: com.example.hiworld',
      'appIndex: 0',
      'allToBackup: true',
      'systemFullName: OpenHarmony-5.1.0.99',
      'deviceType: tablet',
    ])
    expect(h.closedAfter(call.fileData.fd, call.seq)).toBe(true)
    // The copy the example saved is the session variant (§3.5): allowed apps only, sizes 0, no backupVersion.
    const saved = JSON.parse(fs.readFileSync(h.clientPath('data/storage/el2/base/backup/localCapabilities.json'), 'utf8'))
    expect(saved.backupVersion).toBeUndefined()
    expect(saved.bundleInfos).toHaveLength(1)
    expect(saved.bundleInfos[0]).toMatchObject({ name: 'com.example.hiworld', versionCode: 1000000, versionName: '1.0.0', spaceOccupied: 0, allToBackup: true })
  })

  test('getBackupDataSize (IncrementalBackupSession, precise): prints the bytes in scope and those newer than lastIncrementalTime', async () => {
    await h.device({ bundles: { 'com.example.hiworld': { files: TREE } } })
    const r = await h.run('v18-IncrementalBackupSession-getBackupDataSize')
    expect(r.error).toBeUndefined()
    await h.waitForLog('scanning: ')
    const reports = h.events('onBackupSizeReport').map((e) => JSON.parse(e.args[0]))
    expect(reports[reports.length - 1]).toEqual({
      scaned: [{ bundleName: 'com.example.hiworld', dataSize: SCOPE_BYTES, incDataSize: SCOPE_NEW_BYTES }],
      scanning: '',
    })
    const last = h.logs().slice(-5)
    expect(last).toEqual(['dataSizeCallback success', 'name: com.example.hiworld', `dataSize: ${SCOPE_BYTES}`, `incDataSize: ${SCOPE_NEW_BYTES}`, 'scanning: '])
    expect(h.logs()).not.toContain('name: undefined') // the key is bundleName, as the example reads it
    // When the promise settles relative to the reports is not part of the contract.
    await h.waitFor(() => h.calls('IncrementalBackupSession.getBackupDataSize')[0].state !== 'pending', 'getBackupDataSize to settle')
    expect(h.calls('IncrementalBackupSession.getBackupDataSize')[0].state).toBe('resolved')
  })

  test('getBackupDataSize (SessionBackup, imprecise): prints the sandbox estimate and incDataSize -1', async () => {
    await h.device({ bundles: { 'com.example.hiworld': { files: TREE } } })
    const r = await h.run('v18-SessionBackup-getBackupDataSize')
    expect(r.error).toBeUndefined()
    await h.waitForLog('scanning: ')
    expect(h.logs().slice(-5)).toEqual(['dataSizeCallback success', 'name: com.example.hiworld', `dataSize: ${SANDBOX_BYTES}`, 'incDataSize: -1', 'scanning: '])
    expect(h.errorLogs()).toEqual([])
  })

  test('OnBackupSizeReport: the callback gets the report as a JSON string', async () => {
    await h.device({ bundles: { 'com.example.hiworld': { files: TREE } } })
    const r = await h.run('v18-OnBackupSizeReport')
    const s = new h.real.SessionBackup({ ...silent(), onBackupSizeReport: r.fragments.onBackupSizeReport })
    await s.getBackupDataSize(true, [{ bundleName: 'com.example.hiworld', lastIncrementalTime: 0 }])
    await h.waitForLog('"scanning":""')
    await s.release()
    const line = h.logs().find((l) => l.startsWith('dataSizeCallback report : '))
    expect(h.logs()[0]).toBe('dataSizeCallback success')
    expect(JSON.parse(line.slice('dataSizeCallback report : '.length))).toEqual({
      scaned: [{ bundleName: 'com.example.hiworld', dataSize: SCOPE_BYTES, incDataSize: -1 }],
      scanning: '',
    })
  })

  test('release: the example ends its session; the device is free for the next one', async () => {
    await h.device({ bundles: { 'com.example.hiworld': { files: TREE } } })
    const r = await h.run('v18-IncrementalBackupSession-release', { exports: ['incrementalBackupSession'] })
    expect(r.error).toBeUndefined()
    expect(h.logs()).toEqual(['release success'])
    await h.waitFor(() => h.calls('IncrementalBackupSession.release')[0].state !== 'pending', 'release to settle')
    expect(h.calls('IncrementalBackupSession.release')[0].state).toBe('resolved')
    // Another session can start at once.
    const next = new h.real.IncrementalBackupSession(silent())
    await next.release()
  })

  test.each([
    ['v18-IncrementalBackupSession-appendBundles-promise', 'com.example.hiworld'],
    ['v18-IncrementalBackupSession-appendBundles-infos', 'com.example.hiworld'],
    ['v18-IncrementalBackupSession-cancel', 'com.example.helloWorld'],
  ])(
    '%s as stored, with fd 1 as it is in Jest: the bundle ends with its error, the session ends',
    async (name, bundle) => {
      await h.device({ bundles: { [bundle]: { files: TREE } } })
      const r = await h.run(name)
      expect(r.error).toBeUndefined()
      await h.waitFor(() => h.events('onAllBundlesEnd').length > 0, 'onAllBundlesEnd')
      expect(h.events().map((e) => e.name)).toEqual(['onBundleBegin', 'onBundleEnd', 'onAllBundlesEnd'])
      const end = h.events('onBundleEnd')[0]
      expect(h.logs().find((l) => l.startsWith('onBundleEnd failed.'))).toMatch(/Code: 13900020, message: .*manifestFd 1 cannot be read/)
      expect(end).toBeDefined()
    },
  )

  test('getLocalCapabilities(dataList): increSpaceOccupied per app, the bytes newer than its listed time (unlisted: all)', async () => {
    // Every file inside the backup scope, so that the whole sandbox and the scope agree.
    const tree = { ...TREE }
    delete tree['data/storage/el2/base/cache/outside.bin']
    await h.device({
      bundles: {
        'com.example.hiworld': { files: tree },
        'com.example.unlisted': { files: { [`${FILES}/u.txt`]: { content: Buffer.alloc(1234, 7), mtime: OLD } } },
      },
    })
    const r = await h.run('v18-getLocalCapabilities-dataList', { exports: ['getLocalCapabilities'] })
    await r.exports.getLocalCapabilities()
    const call = h.calls('backup.getLocalCapabilities')[0]
    expect(call.args[0]).toEqual([{ bundleName: 'com.example.hiworld', lastIncrementalTime: DOC_TIME }])
    expect(h.logs()).toEqual(['getLocalCapabilities success', `fileData info:${call.fileData.fd}`])
    expect(h.closedAfter(call.fileData.fd, call.seq)).toBe(true)
    const caps = JSON.parse(call.fileData.text)
    expect(caps.backupVersion).toBe('16.0')
    for (const b of caps.bundleInfos) expect(Number.isInteger(b.increSpaceOccupied)).toBe(true)
    const by = Object.fromEntries(caps.bundleInfos.map((b) => [b.name, b]))
    expect(by['com.example.hiworld']).toMatchObject({ increSpaceOccupied: SCOPE_NEW_BYTES, spaceOccupied: SCOPE_BYTES })
    expect(by['com.example.unlisted']).toMatchObject({ increSpaceOccupied: 1234, spaceOccupied: 1234 }) // time 0: all of it
  })
})

// ---- the examples with `manifestFd: 1`, in a child process --------------------------------------

// Runs a stored example under node, its console and the session's events reported as JSON lines
// on stderr; each file delivered to onFileReady is read (by pread, data and report) and kept in
// `outDir` before the example's own callback sees it.
const CHILD = `
'use strict'
const fs = require('fs')
const path = require('path')
const crypto = require('crypto')
const Module = require('module')
const [ROOT, example, outDir] = process.argv.slice(2)
const ts = require(path.join(ROOT, 'node_modules', 'typescript'))
const report = (o) => fs.writeSync(2, '@@' + JSON.stringify(o) + '\\n')
for (const level of ['log', 'info', 'warn', 'error', 'debug']) console[level] = (...a) => report({ t: 'console', level, text: require('util').format(...a) })
process.on('uncaughtException', (e) => { report({ t: 'uncaught', code: e.code, message: e.message }); process.exit(3) })
const MAP = { '@kit.CoreFileKit': 'lib/kit.js', '@kit.BasicServicesKit': 'lib/basic-services.js', '@ohos.file.backup': 'index.js' }
const resolve = Module._resolveFilename
Module._resolveFilename = function (req, ...rest) { return resolve.call(this, MAP[req] ? path.join(ROOT, MAP[req]) : req, ...rest) }
const backup = require(path.join(ROOT, 'index.js'))
const { readFd } = require(path.join(ROOT, '__test__', 'support', 'fds.js'))
const errOf = (e) => e && { code: e.code, data: e.data, message: e.message }
const Real = backup.IncrementalBackupSession
class IncrementalBackupSession extends Real {
  constructor(cbs) {
    const w = {}
    for (const [k, f] of Object.entries(cbs)) {
      w[k] = k === 'onFileReady' ? (err, file) => {
        const ev = { t: 'event', name: k, err: errOf(err) }
        if (file) {
          ev.file = { bundleName: file.bundleName, uri: file.uri, manifestFd: file.manifestFd }
          const data = readFd(file.fd)
          fs.mkdirSync(outDir, { recursive: true })
          fs.writeFileSync(path.join(outDir, file.uri), data)
          ev.sha256 = crypto.createHash('sha256').update(data).digest('hex')
          try { ev.report = readFd(file.manifestFd).toString('utf8') } catch (e) { ev.reportError = e.code }
        }
        report(ev)
        return f(err, file)
      } : (...a) => { report({ t: 'event', name: k, err: errOf(a[0]), args: a.map((x) => (x instanceof Error ? errOf(x) : x)) }); return f(...a) }
    }
    super(w)
  }
  appendBundles(...args) {
    try {
      const p = super.appendBundles(...args)
      report({ t: 'call', name: 'appendBundles', args })
      return p
    } catch (e) { report({ t: 'call', name: 'appendBundles', args, threw: errOf(e) }); throw e }
  }
}
backup.IncrementalBackupSession = IncrementalBackupSession
process.on('exit', (code) => report({ t: 'exit', code }))
const file = path.join('${EXAMPLES.replace(/\\/g, '\\\\')}', example + '.ts')
const js = ts.transpileModule(fs.readFileSync(file, 'utf8'), { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020, esModuleInterop: true } }).outputText
const m = new Module(file, module)
m.filename = file
m.paths = Module._nodeModulePaths(path.dirname(file))
m._compile(js, file)
`

describe('the appendBundles and cancel examples, with fd 1 the previous manifest', () => {
  let root, work, child
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'inc-docs-'))
    child = path.join(work, 'run-example.js')
    fs.writeFileSync(child, CHILD)
  })
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }))
  afterEach(() => root && fs.rmSync(root, { recursive: true, force: true }))

  // stdout: an fd to hand the child as its fd 1, or 'pipe'.
  function runExample(example, stdout, outDir) {
    return new Promise((resolve, reject) => {
      const p = spawn(process.execPath, [child, ROOT, example, outDir], {
        stdio: ['ignore', stdout, 'pipe'],
        env: { PATH: process.env.PATH, BACKUP_DEVICE_ROOT: root, BACKUP_CLIENT_SANDBOX: path.join(work, 'client'), BACKUP_EXTENSION_LOG: 'off' },
      })
      let err = ''
      p.stderr.on('data', (d) => (err += d))
      const timer = setTimeout(() => p.kill('SIGKILL'), 45000)
      p.on('error', reject)
      p.on('close', (code, signal) => {
        clearTimeout(timer)
        const lines = err.split('\n').filter((l) => l.startsWith('@@')).map((l) => JSON.parse(l.slice(2)))
        resolve({ code, signal, lines, logs: lines.filter((l) => l.t === 'console').map((l) => l.text), events: lines.filter((l) => l.t === 'event'), stderr: err })
      })
    })
  }

  // Installs `app`, backs it up once (lastIncrementalTime 0), then changes one file and adds
  // one. Returns the listing of that backup (the "manifest file of the last backed").
  async function previousBackup(app, extra = {}) {
    root = device.createDevice()
    process.env.BACKUP_DEVICE_ROOT = root
    device.installBundle(root, app, { files: { [`${FILES}/a.txt`]: 'first a\n', [`${FILES}/keep.txt`]: 'unchanged\n', [`${FILES}/big.bin`]: { size: (2 << 20) + 100 } }, ...extra })
    const r = await incrementalBackupToDir({ bundles: [{ bundleName: app, lastIncrementalTime: 0 }], outDir: path.join(work, 'previous') })
    expect(r.bundles[app].error).toBeNull()
    await new Promise((res) => setTimeout(res, 1100)) // the changes below get a later mtime second
    device.writeFiles(root, app, { [`${FILES}/a.txt`]: 'second a, changed\n', [`${FILES}/added.txt`]: 'added\n' })
    return r.bundles[app].listing
  }

  const sha = (p) => crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex').toUpperCase()
  const tarList = (p) => execFileSync('tar', ['-tf', p], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n').filter(Boolean)

  // What the appendBundles examples show: the app's changes since the previous backup travel,
  // each file with its report, and the session ends by itself.
  function expectIncrementalOf(app, run, outDir, { appendLogged = true } = {}) {
    expect(run.lines.filter((l) => l.t === 'uncaught')).toEqual([])
    expect(run.code).toBe(0) // exits by itself: no release() in the example, nothing left pending
    const files = run.events.filter((e) => e.name === 'onFileReady')
    for (const f of files) expect(f.err).toBeUndefined()
    for (const f of files) {
      expect(typeof f.file.manifestFd).toBe('number')
      expect(f.reportError).toBeUndefined()
    }
    expect(files.map((f) => f.file.uri)).toEqual([expect.stringMatching(/^\d{13}_part\.0\.tar$/), 'manage.json'])
    const tar = path.join(outDir, files[0].file.uri)
    expect(tarList(tar).sort()).toEqual([`/${FILES}/a.txt`, `/${FILES}/added.txt`])
    const listing = files[1].report.split('\n')
    const sandbox = device.sandboxOf(root, app)
    for (const rel of ['a.txt', 'added.txt', 'keep.txt']) {
      expect(listing.some((l) => l.startsWith(`/${FILES}/${rel};`) && l.includes(`;${sha(path.join(sandbox, FILES, rel))};`))).toBe(true)
    }
    expect(run.logs.filter((l) => /^on\w+ success$/.test(l))).toEqual([
      'onBundleBegin success',
      'onFileReady success',
      'onFileReady success',
      'onBundleEnd success',
      'onAllBundlesEnd success',
    ])
    expect(run.logs.filter((l) => l === 'appendBundles success')).toHaveLength(appendLogged ? 1 : 0)
    expect(run.lines.filter((l) => l.t === 'console' && l.level === 'error')).toEqual([])
  }

  // DESIGN.md §5.12: a manifestFd that is no readable file is that bundle's error, delivered
  // through its events; the call settles and the example runs to its end.
  test('appendBundles (promise): as printed in a process whose fd 1 is a pipe, the bundle ends with its error and the example runs on', async () => {
    await previousBackup('com.example.hiworld')
    const run = await runExample('v18-IncrementalBackupSession-appendBundles-promise', 'pipe', path.join(work, 'printed'))
    const call = run.lines.find((l) => l.t === 'call')
    expect(call.args[0][0]).toEqual({ bundleName: 'com.example.hiworld', lastIncrementalTime: DOC_TIME, manifestFd: 1 })
    expect(call.threw).toBeUndefined()
    expect(run.lines.filter((l) => l.t === 'uncaught')).toEqual([])
    expect(run.code).toBe(0)
    expect(run.events.map((e) => e.name)).toEqual(['onBundleBegin', 'onBundleEnd', 'onAllBundlesEnd'])
    const end = run.events.find((e) => e.name === 'onBundleEnd')
    expect(run.logs).toContain('appendBundles success')
    expect(run.logs.find((l) => l.startsWith('onBundleEnd failed.'))).toMatch(/^onBundleEnd failed\. Code: 13900020, message: .*manifestFd 1 cannot be read/)
    expect(end).toBeDefined()
  })

  test('appendBundles (promise): with fd 1 the previous manifest, the changes since then travel', async () => {
    const listing = await previousBackup('com.example.hiworld')
    const fd = fs.openSync(listing, 'r')
    const outDir = path.join(work, 'promise')
    let run
    try {
      run = await runExample('v18-IncrementalBackupSession-appendBundles-promise', fd, outDir)
    } finally {
      fs.closeSync(fd)
    }
    expectIncrementalOf('com.example.hiworld', run, outDir)
  })

  const ECHO_EXTENSION = `
const BackupExtensionAbility = require('backup/extension')
module.exports = class extends BackupExtensionAbility {
  onBackupEx(backupInfo) { return backupInfo }
}
`

  function echoExtension() {
    const src = path.join(work, 'echo-ext.js')
    fs.writeFileSync(src, ECHO_EXTENSION)
    return { extension: 'ext.js', extensionSource: src }
  }

  test('appendBundles (infos): the infos reach the app, whose result comes back in onResultReport', async () => {
    const listing = await previousBackup('com.example.hiworld', echoExtension())
    const fd = fs.openSync(listing, 'r')
    const outDir = path.join(work, 'infos')
    let run
    try {
      run = await runExample('v18-IncrementalBackupSession-appendBundles-infos', fd, outDir)
    } finally {
      fs.closeSync(fd)
    }
    expect(run.lines.find((l) => l.t === 'call').args[1]).toHaveLength(1)
    expectIncrementalOf('com.example.hiworld', run, outDir)
    const result = run.events.find((e) => e.name === 'onResultReport')
    expect(result.args[0]).toBe('com.example.hiworld')
    const info = JSON.parse(result.args[1])
    expect(info[info.length - 1]).toEqual({ type: 'userId', detail: '100' })
    expect(run.logs).toContain(`onResultReport success, bundleName: com.example.hiworld, result: ${result.args[1]}`)
  })

  // OpenHarmony parses each infos string with cJSON_Parse, which reads the first JSON value
  // and ignores what follows; the docs' infos string is two objects joined by a comma, so the
  // app gets the first object's unicast details.
  test("appendBundles (infos): the app receives the docs' unicast details (key1/value1)", async () => {
    const listing = await previousBackup('com.example.hiworld', echoExtension())
    const fd = fs.openSync(listing, 'r')
    let run
    try {
      run = await runExample('v18-IncrementalBackupSession-appendBundles-infos', fd, path.join(work, 'infos2'))
    } finally {
      fs.closeSync(fd)
    }
    const info = JSON.parse(run.events.find((e) => e.name === 'onResultReport').args[1])
    expect(info[0]).toEqual({ detail: [{ key1: 'value1', key2: 'value2' }] })
  })

  test('cancel: with fd 1 the previous manifest the backup succeeds, so the example never needs to cancel', async () => {
    const listing = await previousBackup('com.example.helloWorld')
    const fd = fs.openSync(listing, 'r')
    const outDir = path.join(work, 'cancel')
    let run
    try {
      run = await runExample('v18-IncrementalBackupSession-cancel', fd, outDir)
    } finally {
      fs.closeSync(fd)
    }
    expectIncrementalOf('com.example.helloWorld', run, outDir, { appendLogged: false }) // the example logs nothing for it
    expect(run.logs.some((l) => l.startsWith('cancel result:'))).toBe(false)
  })
})

// A call on a released session (appendBundles, getBackupDataSize) is rejected with 13900020
// and must not leave the session's event queue holding the Node event loop open. Run in a
// child process, killed after 5 s.
test('after release(), a refused appendBundles does not keep the process alive', async () => {
  const root = device.createDevice()
  const script = `
    const backup = require(${JSON.stringify(path.join(ROOT, 'index.js'))})
    const s = new backup.IncrementalBackupSession({ onFileReady() {}, onBundleBegin() {}, onBundleEnd() {}, onAllBundlesEnd() {}, onBackupServiceDied() {} })
    s.release().then(() => s.appendBundles([{ bundleName: 'com.example.hiworld', lastIncrementalTime: 0 }]))
      .catch((e) => console.log('rejected ' + e.code))`
  const out = await new Promise((resolve) => {
    const p = spawn(process.execPath, ['-e', script], { env: { PATH: process.env.PATH, BACKUP_DEVICE_ROOT: root }, stdio: ['ignore', 'pipe', 'ignore'] })
    let text = ''
    p.stdout.on('data', (d) => (text += d))
    const timer = setTimeout(() => p.kill('SIGKILL'), 5000)
    p.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, text })
    })
  })
  fs.rmSync(root, { recursive: true, force: true })
  expect(out.text.trim()).toBe('rejected 13900020')
  expect(out.signal).toBeNull() // exited by itself
  expect(out.code).toBe(0)
})

// What the cancel example relies on: cancel() answers 0 for a running bundle (which then ends
// without error), 13500011 for one not started yet, 13500012 for one not in the session.
test('cancel returns the documented codes for a running, a waiting and an unknown bundle', async () => {
  const root = device.createDevice()
  process.env.BACKUP_DEVICE_ROOT = root
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'inc-cancel-'))
  const ext = path.join(work, 'slow.js')
  fs.writeFileSync(ext, `const B = require('backup/extension')\nmodule.exports = class extends B { async onBackup() { await new Promise((r) => setTimeout(r, 3000)) } }\n`)
  const names = ['com.example.slow0', 'com.example.slow1', 'com.example.slow2', 'com.example.slow3']
  for (const n of names) device.installBundle(root, n, { extension: 'ext.js', extensionSource: ext, files: { [`${FILES}/x.txt`]: n } })
  const events = []
  let ended
  const done = new Promise((r) => (ended = r))
  const s = new (require('../../index.js').IncrementalBackupSession)({
    onFileReady: (e, f) => f && (fs.closeSync(f.fd), fs.closeSync(f.manifestFd)),
    onBundleBegin: (e, n) => events.push(['begin', e ? e.data : n, e && e.code]),
    onBundleEnd: (e, n) => events.push(['end', e ? e.data : n, e && e.code]),
    onAllBundlesEnd: () => ended(),
    onBackupServiceDied() {},
  })
  try {
    // At most three bundles run at once: the fourth waits.
    await s.appendBundles(names.map((bundleName) => ({ bundleName, lastIncrementalTime: 0 })))
    const deadline = Date.now() + 20000
    while (events.filter((e) => e[0] === 'begin').length < 3 && Date.now() < deadline) await sleep(20)
    const running = events.find((e) => e[0] === 'begin')[1]
    const waiting = names.find((n) => !events.some((e) => e[1] === n))
    expect(s.cancel('com.example.notinsession')).toBe(13500012)
    expect(s.cancel(waiting)).toBe(13500011)
    expect(s.cancel(running)).toBe(0)
    await done
    expect(events.filter((e) => e[1] === running)).toEqual([['begin', running, undefined], ['end', running, undefined]])
  } finally {
    await s.release()
    fs.rmSync(root, { recursive: true, force: true })
    fs.rmSync(work, { recursive: true, force: true })
  }
})
