// App backup extensions run in child processes (issue 4): hook results, progress, errors,
// deaths and timeouts reach the client as the documented events and codes; the other
// bundles of a session carry on; no child process outlives its bundle.
const fs = require('fs')
const os = require('os')
const path = require('path')
const backup = require('../index.js')
const { createDevice, installBundle, sandboxOf } = require('../lib/device.js')
const { backupToDir, restoreFromDir } = require('../lib/client.js')

const FIXTURES = path.join(__dirname, 'fixtures', 'ext')
const FILES = 'data/storage/el2/base/files'

jest.setTimeout(60000)

let root
beforeEach(() => {
  root = createDevice()
  process.env.BACKUP_DEVICE_ROOT = root
  process.env.BACKUP_EXTENSION_LOG = 'off'
  delete process.env.BACKUP_ONPROCESS_INTERVAL_MS
  delete process.env.BACKUP_ONPROCESS_TIMEOUT_MS
  delete process.env.BACKUP_FRAMEWORK_TIMEOUT_MS
})
afterEach(() => fs.rmSync(root, { recursive: true, force: true }))

function install(name, fixture, files = { [`${FILES}/note.txt`]: `data of ${name}` }, config) {
  const opts = { files, config }
  if (fixture) Object.assign(opts, { extension: 'ext.js', extensionSource: path.join(FIXTURES, `${fixture}.js`) })
  return installBundle(root, name, opts)
}

/** Live children of this process that run the extension host. */
function hostChildren() {
  const out = []
  const parents = require('./extensions/support.js').hostParents()
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      if (parents.has(ppid) && cmd.includes('extension-host.js')) out.push({ pid, zombie: stat.includes(') Z ') })
    } catch {}
  }
  return out
}

/** Runs a backup session of `bundles`, recording every event with its time. */
function recordBackup(bundles, { infos, onBegin } = {}) {
  return new Promise((resolve) => {
    const t0 = Date.now()
    const events = []
    const at = () => Date.now() - t0
    const session = new backup.SessionBackup({
      onFileReady: (err, file) => {
        events.push({ ev: 'file', err, bundle: file && file.bundleName, uri: file && file.uri, t: at() })
        if (file) fs.closeSync(file.fd)
      },
      onBundleBegin: (err, name) => {
        events.push({ ev: 'begin', err, bundle: err ? err.data : name, t: at() })
        if (!err && onBegin) onBegin(name)
      },
      onBundleEnd: (err, name) => events.push({ ev: 'end', err, bundle: err ? err.data : name, t: at() }),
      onAllBundlesEnd: (err) => {
        events.push({ ev: 'all', err, t: at() })
        session.release()
        // Let a late event (there must be none) show up before resolving.
        setTimeout(() => resolve(events), 50)
      },
      onProcess: (name, process) => events.push({ ev: 'process', bundle: name, process, t: at() }),
      onResultReport: (name, result) => events.push({ ev: 'result', bundle: name, result, t: at() }),
      onBackupServiceDied: () => events.push({ ev: 'died' }),
    })
    session.appendBundles(bundles, infos)
  })
}

const of = (events, bundle) => events.filter((e) => e.bundle === bundle)
const kinds = (events) => events.map((e) => e.ev)

test('a succeeding extension: progress, its result before the files, then the files', async () => {
  install('com.example.okapp', 'ok')
  const infos = [JSON.stringify({ infos: [{ type: 'unicast', details: [{ type: 'cloud', detail: 'nightly' }] }] })]
  const events = await recordBackup(['com.example.okapp'], { infos })
  const mine = of(events, 'com.example.okapp')
  expect(kinds(mine)).toEqual(['begin', 'process', 'result', 'file', 'file', 'end'])
  expect(mine[0].err).toBeUndefined()
  const progress = JSON.parse(mine[1].process)
  expect(Object.keys(progress.processResult).sort()).toEqual(['resultInfo', 'timeInfo'])
  expect(JSON.parse(progress.processResult.resultInfo).progress).toBe('working')
  expect(Number(progress.processResult.timeInfo)).toBeGreaterThan(1.7e9)
  expect(JSON.parse(mine[2].result).resultInfo[0].type).toBe('CountInfo')
  expect(mine.slice(3, 5).map((e) => e.uri)).toEqual(['part.0.tar', 'manage.json'])
  expect(kinds(events).filter((k) => k === 'all')).toHaveLength(1)
  // The app got the unicast details plus the userId entry the reference appends.
  const got = JSON.parse(fs.readFileSync(path.join(sandboxOf(root, 'com.example.okapp'), 'data/storage/el2/base/temp/backupInfo.json'), 'utf8'))
  expect(got).toEqual([{ type: 'cloud', detail: 'nightly' }, { type: 'userId', detail: '100' }])
  expect(hostChildren()).toEqual([])
})

test('throw, reject, exit and a load failure end only their own bundle, with the documented codes', async () => {
  install('com.example.throwsapp', 'throws')
  install('com.example.rejectsapp', 'rejects')
  install('com.example.exitsapp', 'exits')
  install('com.example.brokenapp', 'not-a-subclass')
  install('com.example.plainapp', null)
  const names = ['com.example.throwsapp', 'com.example.rejectsapp', 'com.example.exitsapp', 'com.example.brokenapp', 'com.example.plainapp']
  const events = await recordBackup(names)

  for (const [name, message] of [['com.example.throwsapp', 'the app could not prepare its data'], ['com.example.rejectsapp', 'rejected on purpose']]) {
    const mine = of(events, name)
    expect(kinds(mine)).toEqual(['begin', 'result', 'end'])
    expect(JSON.parse(mine[1].result)).toEqual({ resultInfo: { errorCode: 13500007, errorInfo: message, type: 'ErrorInfo' } })
    expect(mine[2].err).toBeInstanceOf(Error)
    expect(mine[2].err.code).toBe(13500007)
    expect(mine[2].err.data).toBe(name)
  }
  const exits = of(events, 'com.example.exitsapp')
  expect(kinds(exits)).toEqual(['begin', 'end'])
  expect(exits[1].err.code).toBe(13500004)
  expect(exits[1].err.message).toMatch(/about to exit/) // the app's last words are quoted

  const broken = of(events, 'com.example.brokenapp')
  expect(kinds(broken)).toEqual(['begin'])
  expect(broken[0].err.code).toBe(13500002)

  const plain = of(events, 'com.example.plainapp')
  expect(kinds(plain)).toEqual(['begin', 'file', 'file', 'end'])
  expect(plain[3].err).toBeUndefined()
  expect(kinds(events).filter((k) => k === 'all')).toHaveLength(1)
  expect(events[events.length - 1].ev).toBe('all')
  expect(hostChildren()).toEqual([])
})

test('onProcess is polled while a slow hook runs; a plain onBackup sends no result', async () => {
  process.env.BACKUP_ONPROCESS_INTERVAL_MS = '200'
  install('com.example.slowapp', 'slow')
  const events = await recordBackup(['com.example.slowapp'])
  const mine = of(events, 'com.example.slowapp')
  const steps = mine.filter((e) => e.ev === 'process').map((e) => JSON.parse(JSON.parse(e.process).processResult.resultInfo).step)
  expect(steps.length).toBeGreaterThanOrEqual(3)
  expect(steps).toEqual(steps.map((_, i) => i + 1))
  expect(kinds(mine).filter((k) => k !== 'process')).toEqual(['begin', 'file', 'file', 'end'])
})

test('updateTimer ends a hanging hook with 13500003, and 0 ends it at once', async () => {
  install('com.example.hangsapp', 'hangs')
  install('com.example.hangstoo', 'hangs')
  const events = await recordBackup(['com.example.hangsapp', 'com.example.hangstoo'], {
    onBegin: (name) => expect(backup.updateTimer(name, name === 'com.example.hangsapp' ? 800 : 0)).toBe(true),
  })
  for (const name of ['com.example.hangsapp', 'com.example.hangstoo']) {
    const mine = of(events, name)
    expect(kinds(mine)).toEqual(['begin', 'end'])
    expect(mine[1].err.code).toBe(13500003)
  }
  const slow = of(events, 'com.example.hangsapp')
  expect(slow[1].t - slow[0].t).toBeGreaterThanOrEqual(700)
  expect(backup.updateTimer('com.example.hangsapp', 1000)).toBe(false) // not in a session any more
  expect(hostChildren()).toEqual([])
})

test('three late onProcess answers in a row end the bundle with 13500003', async () => {
  process.env.BACKUP_ONPROCESS_INTERVAL_MS = '100'
  process.env.BACKUP_ONPROCESS_TIMEOUT_MS = '50'
  install('com.example.lateapp', 'late-progress')
  install('com.example.plainapp', null)
  const events = await recordBackup(['com.example.lateapp', 'com.example.plainapp'])
  delete process.env.BACKUP_ONPROCESS_TIMEOUT_MS
  const late = of(events, 'com.example.lateapp')
  expect(kinds(late)).toEqual(['begin', 'process', 'end'])
  expect(late[2].err.code).toBe(13500003)
  expect(late[2].err.message).toMatch(/onProcess/)
  expect(late[2].t - late[0].t).toBeLessThan(2500) // well before its onBackup would finish
  expect(of(events, 'com.example.plainapp').pop().err).toBeUndefined()
  expect(hostChildren()).toEqual([])
})

test('a client that takes no file within the framework timer ends the bundle with 13500003', async () => {
  process.env.BACKUP_FRAMEWORK_TIMEOUT_MS = '600'
  install('com.example.stuckapp', 'slow', { [`${FILES}/big.bin`]: { size: (2 << 20) + 1, seed: 1 } })
  const events = await recordBackup(['com.example.stuckapp'], { onBegin: (name) => backup.updateSendRate(name, 0) })
  delete process.env.BACKUP_FRAMEWORK_TIMEOUT_MS
  const mine = of(events, 'com.example.stuckapp')
  expect(kinds(mine).filter((k) => k !== 'process')).toEqual(['begin', 'end'])
  expect(mine[mine.length - 1].err.code).toBe(13500003)
  expect(fs.existsSync(path.join(sandboxOf(root, 'com.example.stuckapp'), 'data/storage/el2/base/.backup'))).toBe(false)
})

test('cancel stops a running extension: onBundleEnd without error, no child, no temp data', async () => {
  install('com.example.hangsapp', 'hangs')
  let session
  const events = []
  await new Promise((resolve) => {
    session = new backup.SessionBackup({
      onFileReady: () => {},
      onBundleBegin: (err, name) => {
        events.push(['begin', err && err.code])
        setTimeout(() => events.push(['cancel', session.cancel(name)]), 300)
      },
      onBundleEnd: (err, name) => events.push(['end', err && err.code, name]),
      onAllBundlesEnd: () => resolve(),
      onBackupServiceDied: () => {},
    })
    session.appendBundles(['com.example.hangsapp'])
  })
  session.release()
  expect(events).toEqual([['begin', undefined], ['cancel', 0], ['end', undefined, 'com.example.hangsapp']])
  expect(fs.existsSync(path.join(sandboxOf(root, 'com.example.hangsapp'), 'data/storage/el2/base/.backup'))).toBe(false)
  expect(hostChildren()).toEqual([])
})

test('send rate: 2 files per second spreads 6 big files over 2 s; 0 holds them until raised', async () => {
  const big = (n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${FILES}/v${i}.bin`, { size: (2 << 20) + 1, seed: i }]))
  install('com.example.rateapp', 'slow', big(6))
  install('com.example.pausedapp', 'slow', big(2))
  expect(backup.updateSendRate('com.example.rateapp', 2)).toBe(false) // no session yet
  let resumed
  const events = await recordBackup(['com.example.rateapp', 'com.example.pausedapp'], {
    onBegin: (name) => {
      if (name === 'com.example.rateapp') expect(backup.updateSendRate(name, 2)).toBe(true)
      else {
        expect(backup.updateSendRate(name, 0)).toBe(true)
        setTimeout(() => {
          resumed = Date.now()
          expect(backup.updateSendRate(name, 5000)).toBe(true) // clamped at 800, not refused
        }, 3000)
      }
    },
  })
  const rated = of(events, 'com.example.rateapp').filter((e) => e.ev === 'file' && e.uri.endsWith('.bin'))
  expect(rated).toHaveLength(6)
  expect(rated[5].t - rated[0].t).toBeGreaterThanOrEqual(1900)
  const paused = of(events, 'com.example.pausedapp').filter((e) => e.ev === 'file')
  const begin = of(events, 'com.example.pausedapp').find((e) => e.ev === 'begin')
  expect(paused.filter((e) => e.uri.endsWith('.bin'))).toHaveLength(2)
  expect(paused[0].t - begin.t).toBeGreaterThanOrEqual(2900)
  expect(resumed).toBeDefined()
})

test('getBackupInfo starts the extension, returns its answer and stops it', () => {
  install('com.example.okapp', 'ok')
  install('com.example.plainapp', null)
  expect(JSON.parse(backup.getBackupInfo('com.example.okapp'))).toEqual({ version: 3, items: ['notes'] })
  expect(backup.getBackupInfo('com.example.plainapp')).toBe('')
  expect(backup.getBackupInfo('com.example.notinstalled')).toBeUndefined()
  expect(hostChildren()).toEqual([])
})

test('getBackupInfo of a bundle that is backing up asks its running extension, starting no other', async () => {
  install('com.example.hangsapp', 'hangs')
  let session
  const answers = []
  const hosts = []
  await new Promise((resolve) => {
    session = new backup.SessionBackup({
      onFileReady: () => {},
      onBundleBegin: (err, name) => {
        // onBackup starts right after onBundleBegin; give it a moment, then ask.
        setTimeout(() => {
          answers.push(JSON.parse(backup.getBackupInfo(name)))
          hosts.push(...hostChildren())
          session.cancel(name)
        }, 300)
      },
      onBundleEnd: () => {},
      onAllBundlesEnd: () => resolve(),
      onBackupServiceDied: () => {},
    })
    session.appendBundles(['com.example.hangsapp'])
  })
  await session.release()
  expect(answers).toEqual([{ backingUp: true, pid: expect.any(Number) }])
  expect(hosts.map((h) => Number(h.pid))).toEqual([answers[0].pid])
  // Once the bundle is over, a call starts (and stops) an instance of its own.
  expect(JSON.parse(backup.getBackupInfo('com.example.hangsapp')).backingUp).toBe(false)
  expect(hostChildren()).toEqual([])
})

describe('restore with an extension', () => {
  let out
  beforeEach(() => {
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'ext-restore-'))
  })
  afterEach(() => fs.rmSync(out, { recursive: true, force: true }))

  const readInfo = (name) => JSON.parse(fs.readFileSync(path.join(sandboxOf(root, name), 'data/storage/el2/base/temp/restoreInfo.json'), 'utf8'))

  test('onRestoreEx runs after the unpack and its result is reported before onBundleEnd', async () => {
    install('com.example.okapp', 'ok', { [`${FILES}/a.txt`]: 'restored bytes' })
    const b = await backupToDir({ bundles: ['com.example.okapp'], outDir: out })
    expect(b.bundles['com.example.okapp'].error).toBeNull()
    fs.rmSync(path.join(sandboxOf(root, 'com.example.okapp'), 'data'), { recursive: true })
    const infos = [JSON.stringify({ infos: [{ type: 'unicast', details: [{ type: 'k', detail: 'v' }] }] })]
    const r = await restoreFromDir({ inDir: out, bundles: ['com.example.okapp'], infos })
    expect(r.bundles['com.example.okapp'].error).toBeNull()
    expect(JSON.parse(r.bundles['com.example.okapp'].result).resultInfo[0].infos[0].restoreInfo).toBe('ok')
    expect(fs.readFileSync(path.join(sandboxOf(root, 'com.example.okapp'), FILES, 'a.txt'), 'utf8')).toBe('restored bytes')
    const info = readInfo('com.example.okapp')
    expect(info.bundleVersion).toEqual({ code: 1, name: '1.0.0' })
    expect(info.restoreInfo).toEqual([{ type: 'k', detail: 'v' }, { type: 'userId', detail: '100' }])
    expect(hostChildren()).toEqual([])
  })

  test('app_mapping_relation restores a backup of the source app into the installed target', async () => {
    install('com.example.oldapp', 'ok', { [`${FILES}/old.txt`]: 'from the old app' })
    await backupToDir({ bundles: ['com.example.oldapp'], outDir: out })
    install('com.example.newapp', 'ok', {})
    const mapping = { infos: [{ type: 'broadcast', details: [{ type: 'app_mapping_relation', detail: [{ source: 'com.example.oldapp', target: 'com.example.newapp' }] }] }] }
    fs.rmSync(path.join(sandboxOf(root, 'com.example.oldapp'), 'data'), { recursive: true })
    const r = await restoreFromDir({ inDir: out, bundles: ['com.example.oldapp'], infos: [JSON.stringify(mapping)] })
    expect(r.bundles['com.example.oldapp'].error).toBeNull()
    expect(fs.readFileSync(path.join(sandboxOf(root, 'com.example.newapp'), FILES, 'old.txt'), 'utf8')).toBe('from the old app')
    expect(fs.existsSync(path.join(sandboxOf(root, 'com.example.oldapp'), FILES, 'old.txt'))).toBe(false)
  })

  test('isBroadcastOnly: the bundle is only announced, not restored; a call with nothing else starts nothing', async () => {
    const A = 'com.example.announced'
    const B = 'com.example.restored'
    install(A, 'ok', { [`${FILES}/a.txt`]: 'a' })
    install(B, 'ok', { [`${FILES}/b.txt`]: 'b' })
    await backupToDir({ bundles: [A, B], outDir: out })
    for (const n of [A, B]) fs.rmSync(path.join(sandboxOf(root, n), 'data'), { recursive: true })
    const only = JSON.stringify({ infos: [{ type: 'broadcast', isBroadcastOnly: true, details: [{ type: 'app_mapping_relation', detail: [{ source: A, target: A }] }] }] })

    // Only the broadcast-only bundle: no event at all, and it is not in the session.
    const events = []
    const session = new backup.SessionRestore({
      onFileReady: (err, f) => events.push(['file', err && err.code]) && f && fs.closeSync(f.fd),
      onBundleBegin: (err, n) => events.push(['begin', err ? err.data : n]),
      onBundleEnd: (err, n) => events.push(['end', err ? err.data : n]),
      onAllBundlesEnd: () => events.push(['all']),
      onBackupServiceDied: () => {},
    })
    const cap = await backup.getLocalCapabilities()
    try {
      await session.appendBundles(cap.fd, [A], [only])
    } finally {
      fs.closeSync(cap.fd)
    }
    await new Promise((r) => setTimeout(r, 300))
    expect(events).toEqual([])
    await expect(session.getFileHandle({ bundleName: A, uri: 'manage.json' })).rejects.toMatchObject({ code: 13900020 })
    await session.release()

    // Beside a normal bundle: that one restores; the announced one is left alone.
    const r = await restoreFromDir({ inDir: out, bundles: [A, B], infos: [only, '{}'] })
    expect(r.bundles[B].error).toBeNull()
    expect(fs.readFileSync(path.join(sandboxOf(root, B), FILES, 'b.txt'), 'utf8')).toBe('b')
    expect(r.bundles[A].error).toMatchObject({ code: 13900020 })
    expect(fs.existsSync(path.join(sandboxOf(root, A), FILES, 'a.txt'))).toBe(false)
    expect(hostChildren()).toEqual([])
  })

  test('fullBackupOnly leaves the data in .backup/restore for the app, which moves it', async () => {
    const config = { allowToBackupRestore: true, fullBackupOnly: true }
    install('com.example.fullonly', 'ok', { [`${FILES}/x.txt`]: 'moved by the app' }, config)
    await backupToDir({ bundles: ['com.example.fullonly'], outDir: out })
    fs.rmSync(path.join(sandboxOf(root, 'com.example.fullonly'), 'data'), { recursive: true })
    const r = await restoreFromDir({ inDir: out, bundles: ['com.example.fullonly'] })
    expect(r.bundles['com.example.fullonly'].error).toBeNull()
    expect(readInfo('com.example.fullonly').moved).toEqual(['x.txt'])
    expect(fs.readFileSync(path.join(sandboxOf(root, 'com.example.fullonly'), FILES, 'x.txt'), 'utf8')).toBe('moved by the app')
  })

  test('restoreDeps: a bundle restores after the bundle it depends on', async () => {
    install('com.example.first', 'ok')
    install('com.example.second', 'ok', undefined, { allowToBackupRestore: true, restoreDeps: 'com.example.first' })
    await backupToDir({ bundles: ['com.example.first', 'com.example.second'], outDir: out })
    const r = await restoreFromDir({ inDir: out, bundles: ['com.example.second', 'com.example.first'] })
    expect(r.bundles['com.example.second'].error).toBeNull()
    expect(readInfo('com.example.first').at).toBeLessThan(readInfo('com.example.second').at)
  })

  test('clearBackupData "false" keeps the work area', async () => {
    install('com.example.keepapp', 'ok')
    await backupToDir({ bundles: ['com.example.keepapp'], outDir: out })
    const r = await restoreFromDir({ inDir: out, bundles: ['com.example.keepapp'], infos: [JSON.stringify({ clearBackupData: 'false' })] })
    expect(r.bundles['com.example.keepapp'].error).toBeNull()
    expect(fs.existsSync(path.join(sandboxOf(root, 'com.example.keepapp'), 'data/storage/el2/base/.backup/restore/manage.json'))).toBe(true)
  })
})

describe('cancel and release at each stage', () => {
  let out
  beforeEach(() => {
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'ext-stages-'))
  })
  afterEach(() => fs.rmSync(out, { recursive: true, force: true }))

  test('a restore bundle that published finishes after release(); one still receiving files is dropped', async () => {
    install('com.example.published', 'ok', { [`${FILES}/p.txt`]: 'published data' })
    install('com.example.receiving', 'ok', { [`${FILES}/r.txt`]: 'never published' })
    await backupToDir({ bundles: ['com.example.published', 'com.example.receiving'], outDir: out })
    for (const b of ['com.example.published', 'com.example.receiving']) fs.rmSync(path.join(sandboxOf(root, b), 'data'), { recursive: true })
    const events = []
    let session
    const written = new Set()
    await new Promise((resolve) => {
      session = new backup.SessionRestore({
        onFileReady: (err, file) => {
          const src = path.join(out, file.bundleName, file.uri)
          fs.writeSync(file.fd, fs.readFileSync(src))
          fs.closeSync(file.fd)
          fs.closeSync(file.manifestFd)
          if (file.bundleName !== 'com.example.published') return
          written.add(file.uri)
          if (written.size === fs.readdirSync(path.join(out, file.bundleName)).length) {
            session.publishFile({ bundleName: file.bundleName, uri: '' }).then(() => {
              events.push(['release'])
              session.release()
            })
          }
        },
        onBundleBegin: (err, name) => events.push(['begin', name]),
        onBundleEnd: (err, name) => events.push(['end', err ? err.code : name]),
        onAllBundlesEnd: () => {
          events.push(['all'])
          resolve()
        },
        onBackupServiceDied: () => {},
      })
      backup.getLocalCapabilities().then(async ({ fd }) => {
        await session.appendBundles(fd, ['com.example.published', 'com.example.receiving'])
        fs.closeSync(fd)
        for (const b of ['com.example.published', 'com.example.receiving']) {
          for (const uri of fs.readdirSync(path.join(out, b))) await session.getFileHandle({ bundleName: b, uri })
        }
      })
    })
    await new Promise((r) => setTimeout(r, 200))
    const after = events.slice(events.findIndex((e) => e[0] === 'release'))
    expect(after).toEqual([['release'], ['end', 'com.example.published'], ['all']])
    expect(fs.readFileSync(path.join(sandboxOf(root, 'com.example.published'), FILES, 'p.txt'), 'utf8')).toBe('published data')
    expect(fs.existsSync(path.join(sandboxOf(root, 'com.example.receiving'), FILES, 'r.txt'))).toBe(false)
    for (const b of ['com.example.published', 'com.example.receiving']) {
      expect(fs.existsSync(path.join(sandboxOf(root, b), 'data/storage/el2/base/.backup'))).toBe(false)
    }
    expect(hostChildren()).toEqual([])
  })

  test('an incremental session cancels like the others: 13500011 waiting, 13500012 unknown, 0 running', async () => {
    const names = ['com.example.inca', 'com.example.incb', 'com.example.incc', 'com.example.incd']
    for (const n of names) install(n, 'hangs')
    const codes = {}
    const ends = []
    await new Promise((resolve) => {
      let begun = 0
      const session = new backup.IncrementalBackupSession({
        onFileReady: () => {},
        onBundleBegin: (err, name) => {
          // The fourth starts once a slot frees: it is running now, so cancel gives 0.
          if (name === 'com.example.incd') codes.fourth = session.cancel(name)
          if (++begun !== 3) return
          codes.waiting = session.cancel('com.example.incd')
          codes.unknown = session.cancel('com.example.nothere')
          for (const n of names.slice(0, 3)) codes[n] = session.cancel(n)
        },
        onBundleEnd: (err, name) => ends.push([name, err && err.code]),
        onAllBundlesEnd: () => session.release().then(resolve),
        onBackupServiceDied: () => {},
      })
      session.appendBundles(names.map((bundleName) => ({ bundleName, lastIncrementalTime: 0, manifestFd: -1 })))
    })
    expect(codes.waiting).toBe(13500011)
    expect(codes.unknown).toBe(13500012)
    for (const n of names.slice(0, 3)) expect(codes[n]).toBe(0)
    expect(codes.fourth).toBe(0)
    expect(ends.map(([n]) => n).sort()).toEqual(names)
    expect(ends.every(([, code]) => code === undefined)).toBe(true)
    expect(hostChildren()).toEqual([])
  })
})

test('backupScene in infos picks the optionDir include set of the app profile', async () => {
  const config = {
    allowToBackupRestore: true,
    includes: [`${FILES}/`],
    optionDir: [{ sceneId: 'cloud', includes: [`${FILES}/cloud/`], excludes: [] }],
  }
  install('com.example.sceneapp', null, { [`${FILES}/local.txt`]: 'local only', [`${FILES}/cloud/synced.txt`]: 'for the cloud' }, config)
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'scene-'))
  const list = (dir) =>
    require('child_process')
      .execFileSync('tar', ['-tf', path.join(dir, 'com.example.sceneapp', 'part.0.tar')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n')
      .filter((l) => l.endsWith('.txt'))
  await backupToDir({ bundles: ['com.example.sceneapp'], outDir: path.join(out, 'cloud'), infos: [JSON.stringify({ backupScene: 'cloud' })] })
  await backupToDir({ bundles: ['com.example.sceneapp'], outDir: path.join(out, 'all') })
  expect(list(path.join(out, 'cloud'))).toEqual([`/${FILES}/cloud/synced.txt`])
  expect(list(path.join(out, 'all')).sort()).toEqual([`/${FILES}/cloud/synced.txt`, `/${FILES}/local.txt`])
  fs.rmSync(out, { recursive: true, force: true })
})
