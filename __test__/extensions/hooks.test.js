'use strict'
// App extensions (issues 4 and 9): what a backup client sees when an app's BackupExtensionAbility
// succeeds, reports progress, throws, rejects, dies, hangs or cannot load, in all three session
// kinds; a plain class (no `extends`) runs as on a device, a default export that is not a
// constructor is refused; the other bundles of the session carry on, and no extension process
// outlives its bundle.

const fs = require('fs')
const path = require('path')
const backup = require('backup')
const device = require('backup/device')
const { FILES, WORK_AREA, installApp, extRecord, leftoverChildren, alive, recordSession, backupApps, startRestore, useFreshDevice } = require('./support.js')

jest.setTimeout(40000)

const dev = useFreshDevice()
// onProcess every 150 ms instead of 5 s, so slow hooks show several reports quickly.
beforeEach(() => {
  process.env.BACKUP_ONPROCESS_INTERVAL_MS = '150'
})
afterEach(() => {
  delete process.env.BACKUP_ONPROCESS_INTERVAL_MS
})

const ResultApp = require('../fixtures/extensions/result-app.js')
const BIG = (3 << 20) + 11
const appFiles = (name) => ({
  [`${FILES}/note.txt`]: `notes of ${name}\n`,
  [`${FILES}/photos/big.jpg`]: { size: BIG, seed: name },
  'data/storage/el2/database/app.db': { size: 4096, seed: `${name}-db` },
})
const unicast = (details) => JSON.stringify({ infos: [{ type: 'unicast', details }] })
const processPayload = (e) => {
  const p = JSON.parse(e.process)
  expect(Object.keys(p)).toEqual(['processResult'])
  expect(Object.keys(p.processResult).sort()).toEqual(['resultInfo', 'timeInfo'])
  expect(p.processResult.timeInfo).toMatch(/^\d+$/)
  expect(Math.abs(Number(p.processResult.timeInfo) - Date.now() / 1000)).toBeLessThan(120)
  return JSON.parse(p.processResult.resultInfo)
}
const expectOneAllLast = (s) => {
  expect(s.count('all')).toBe(1)
  expect(s.events[s.events.length - 1].ev).toBe('all')
  expect(s.events[s.events.length - 1].err).toBeUndefined()
}
/** Checks a per-bundle error event: a BusinessError with the bundle name in `data`. */
const expectBundleError = (e, code, name) => {
  expect(e.err).toBeInstanceOf(Error)
  expect(e.err.code).toBe(code)
  expect(e.err.data).toBe(name)
  expect(typeof e.err.message).toBe('string')
}

describe.each(['backup', 'incremental'])('%s: an app that succeeds with a result string', (kind) => {
  test('onResultReport carries the string verbatim before any file; the app got the unicast details plus userId', async () => {
    const name = 'com.example.resultapp'
    installApp(dev.root, name, 'result-app', { files: appFiles(name) })
    const details = [{ type: 'cloud', detail: 'nightly' }, { type: 'quota', detail: { gb: 5 } }]
    const s = await backupApps(kind, [name], { infos: [unicast(details)] })

    const mine = s.of(name)
    const kinds = s.kinds(name)
    expect(kinds[0]).toBe('begin')
    expect(mine[0].err).toBeUndefined()
    expect(kinds.filter((k) => k === 'result')).toHaveLength(1)
    const result = mine.find((e) => e.ev === 'result')
    expect(result.result).toBe(ResultApp.BACKUP_RESULT)
    // Reported when onBackupEx returns, before the data travels.
    const firstFile = kinds.indexOf('file')
    expect(kinds.indexOf('result')).toBeLessThan(firstFile)
    expect(kinds.slice(firstFile, -1).every((k) => k === 'file')).toBe(true)
    expect(kinds[kinds.length - 1]).toBe('end')
    expect(mine[mine.length - 1].err).toBeUndefined()
    // The first progress report comes before the hook runs, so before the result.
    expect(kinds.indexOf('process')).toBeGreaterThan(0)
    expect(kinds.indexOf('process')).toBeLessThan(kinds.indexOf('result'))
    expect(processPayload(mine.find((e) => e.ev === 'process')).progressInfo[0].name).toBe(name)
    // The files are the app's: the big file by itself, the rest in a tar, manage.json last.
    const uris = mine.filter((e) => e.ev === 'file').map((e) => e.uri)
    expect(uris[uris.length - 1]).toBe('manage.json')
    expect(mine.filter((e) => e.ev === 'file').some((e) => e.size === BIG)).toBe(true)
    expectOneAllLast(s)

    const seen = extRecord(dev.root, name, 'onBackupEx')
    expect(typeof seen.backupInfo).toBe('string')
    expect(JSON.parse(seen.backupInfo)).toEqual([...details, { type: 'userId', detail: '100' }])
    expect(alive(seen.pid)).toBe(false)
    expect(leftoverChildren()).toEqual([])
  })
})

test('without infos the app gets just the userId entry', async () => {
  const name = 'com.example.resultapp'
  installApp(dev.root, name, 'result-app')
  const s = await backupApps('backup', [name])
  expect(s.kinds(name)).toContain('result')
  expect(JSON.parse(extRecord(dev.root, name, 'onBackupEx').backupInfo)).toEqual([{ type: 'userId', detail: '100' }])
})

test('restore: onRestoreEx gets the old version and the unicast details; its result comes right before onBundleEnd', async () => {
  const name = 'com.example.resultapp'
  installApp(dev.root, name, 'result-app', { files: appFiles(name), versionCode: 7, versionName: '7.0.1' })
  const sandbox = device.sandboxOf(dev.root, name)
  const before = device.snapshotTree(path.join(sandbox, 'data/storage/el2'), { exclude: ['base/.backup', 'base/temp'] })
  const b = await backupApps('backup', [name])
  device.wipeApp(dev.root, name)

  const details = [{ type: 'restoreFrom', detail: 'phone-clone' }]
  const s = await startRestore(b.received, [name], { infos: [unicast(details)] })
  await s.allEnded
  await Promise.all(s.published)
  await s.session.release()

  const kinds = s.kinds(name)
  expect(kinds[0]).toBe('begin')
  expect(kinds.filter((k) => k === 'file')).toHaveLength(b.received.get(name).size)
  expect(kinds.slice(-2)).toEqual(['result', 'end'])
  const mine = s.of(name)
  expect(mine[mine.length - 2].result).toBe(ResultApp.RESTORE_RESULT)
  expect(mine[mine.length - 1].err).toBeUndefined()
  // Progress while onRestoreEx runs: after the files, before the result.
  const proc = kinds.indexOf('process')
  expect(proc).toBeGreaterThan(kinds.lastIndexOf('file'))
  expect(proc).toBeLessThan(kinds.indexOf('result'))
  processPayload(mine[proc])
  expectOneAllLast(s)

  const seen = extRecord(dev.root, name, 'onRestoreEx')
  expect(seen.bundleVersion).toEqual({ code: 7, name: '7.0.1' })
  expect(JSON.parse(seen.restoreInfo)).toEqual([...details, { type: 'userId', detail: '100' }])
  // The unpack happened before the app's hook, to the real paths: none of its data waited
  // in its backupDir (that is fullBackupOnly's way, restore-options.test.js).
  expect(seen.sawInBackupDir.filter((f) => f.startsWith('data/'))).toEqual([])
  const after = device.snapshotTree(path.join(sandbox, 'data/storage/el2'), { exclude: ['base/.backup', 'base/temp'] })
  expect(device.diffSnapshots(before, after)).toEqual([])
  expect(alive(seen.pid)).toBe(false)
  expect(leftoverChildren()).toEqual([])
})

test('a slow hook is polled for progress: several onProcess reports, in order, before the files', async () => {
  const name = 'com.example.slowapp'
  installApp(dev.root, name, 'slow-app', { options: { delayMs: 1200 } })
  const s = await backupApps('backup', [name])
  const mine = s.of(name)
  const progress = mine.filter((e) => e.ev === 'process')
  expect(progress.length).toBeGreaterThanOrEqual(3)
  const steps = progress.map((e) => processPayload(e).progressInfo[0].processed)
  expect(steps).toEqual(steps.map((_, i) => i + 1))
  // Progress is reported while the app's hook runs, not while the data travels.
  const kinds = s.kinds(name)
  expect(kinds.lastIndexOf('process')).toBeLessThan(kinds.indexOf('file'))
  // A plain onBackup (no Ex): no onResultReport.
  expect(kinds.filter((k) => k !== 'process')).toEqual(['begin', 'file', 'file', 'end'])
  expect(mine[mine.length - 1].err).toBeUndefined()
  expectOneAllLast(s)
  expect(leftoverChildren()).toEqual([])
})

test('backup: throw, reject, exit and a broken module end only their own bundle; the others complete', async () => {
  const apps = {
    'com.example.throwsapp': 'throws-app',
    'com.example.rejectsapp': 'rejects-app',
    'com.example.exitsapp': 'exits-app',
    'com.example.loadfails': 'load-fails-app',
    'com.example.notctor': 'not-a-constructor-app',
    'com.example.resultapp': 'result-app',
    'com.example.plainclass': 'plain-class-app',
    'com.example.plainapp': null,
  }
  for (const [name, fixture] of Object.entries(apps)) installApp(dev.root, name, fixture)
  const s = await backupApps('backup', Object.keys(apps))

  for (const [name, text] of [
    ['com.example.throwsapp', 'throws-app: the notes database is locked'],
    ['com.example.rejectsapp', 'rejects-app: export failed'],
  ]) {
    expect(s.kinds(name)).toEqual(['begin', 'result', 'end'])
    const [begin, result, end] = s.of(name)
    expect(begin.err).toBeUndefined()
    const report = JSON.parse(result.result)
    expect(report).toEqual({ resultInfo: { errorCode: 13500007, errorInfo: expect.stringContaining(text), type: 'ErrorInfo' } })
    expectBundleError(end, 13500007, name)
  }
  expect(s.kinds('com.example.exitsapp')).toEqual(['begin', 'end'])
  expectBundleError(s.of('com.example.exitsapp')[1], 13500004, 'com.example.exitsapp')
  expect(s.of('com.example.exitsapp')[1].err.message).toMatch(/out of memory, giving up/) // the app's last words are quoted

  for (const name of ['com.example.loadfails', 'com.example.notctor']) {
    // The extension never came up: onBundleBegin with the error, and no onBundleEnd.
    expect(s.kinds(name)).toEqual(['begin'])
    expectBundleError(s.of(name)[0], 13500002, name)
  }
  expect(s.of('com.example.notctor')[0].err.message).toMatch(/does not export a BackupExtensionAbility class: its default export is an object/)

  for (const name of ['com.example.resultapp', 'com.example.plainclass', 'com.example.plainapp']) {
    const kinds = s.kinds(name).filter((k) => k !== 'process' && k !== 'result')
    expect(kinds).toEqual(['begin', 'file', 'file', 'end'])
    expect(s.of(name).every((e) => e.err === undefined)).toBe(true)
    expect(s.of(name).filter((e) => e.ev === 'file').map((e) => e.uri)).toEqual(['part.0.tar', 'manage.json'])
  }
  // The plain class ran, with its context set.
  expect(extRecord(dev.root, 'com.example.plainclass', 'onBackup').hasContext).toBe(true)
  expectOneAllLast(s)
  expect(leftoverChildren()).toEqual([])
})

test('restore: throw, reject, exit and a broken module end only their own bundle; the others complete', async () => {
  const apps = {
    'com.example.throwsapp': 'throws-app',
    'com.example.rejectsapp': 'rejects-app',
    'com.example.exitsapp': 'exits-app',
    'com.example.loadfails': 'load-fails-app',
    'com.example.resultapp': 'result-app',
    'com.example.plainclass': 'plain-class-app',
    'com.example.plainapp': null,
  }
  // Backed up by a version of each app without extension code; the new version's code runs
  // on restore.
  for (const name of Object.keys(apps)) installApp(dev.root, name, null)
  const b = await backupApps('backup', Object.keys(apps))
  for (const [name, fixture] of Object.entries(apps)) installApp(dev.root, name, fixture, { files: {} })

  const s = await startRestore(b.received, Object.keys(apps))
  await s.allEnded
  await Promise.all(s.published)
  await s.session.release()

  for (const [name, text] of [
    ['com.example.throwsapp', 'throws-app: cannot import the notes'],
    ['com.example.rejectsapp', 'rejects-app: import failed'],
  ]) {
    const kinds = s.kinds(name)
    expect(kinds.slice(-2)).toEqual(['result', 'end'])
    const mine = s.of(name)
    expect(JSON.parse(mine[mine.length - 2].result)).toEqual({
      resultInfo: { errorCode: 13500007, errorInfo: expect.stringContaining(text), type: 'ErrorInfo' },
    })
    expectBundleError(mine[mine.length - 1], 13500007, name)
  }
  const exits = s.of('com.example.exitsapp')
  expect(exits[exits.length - 1].ev).toBe('end')
  expectBundleError(exits[exits.length - 1], 13500004, 'com.example.exitsapp')
  expect(s.kinds('com.example.exitsapp')).not.toContain('result')

  expect(s.kinds('com.example.loadfails')).toEqual(['begin'])
  expectBundleError(s.of('com.example.loadfails')[0], 13500002, 'com.example.loadfails')

  expect(extRecord(dev.root, 'com.example.plainclass', 'onRestore').bundleVersion).toEqual({ code: 1, name: '1.0.0' })
  for (const name of ['com.example.resultapp', 'com.example.plainclass', 'com.example.plainapp']) {
    const mine = s.of(name)
    expect(mine[0].ev).toBe('begin')
    expect(mine[mine.length - 1].ev).toBe('end')
    expect(mine.every((e) => e.err === undefined)).toBe(true)
    expect(fs.readFileSync(path.join(device.sandboxOf(dev.root, name), FILES, 'note.txt'), 'utf8')).toBe(`notes of ${name}\n`)
  }
  expectOneAllLast(s)
  expect(leftoverChildren()).toEqual([])
})

test('updateTimer: a hook that hangs past 1000 ms ends with 13500003; 0 ends it at once; the other bundle completes', async () => {
  installApp(dev.root, 'com.example.hangsone', 'hangs-app')
  installApp(dev.root, 'com.example.hangstwo', 'hangs-app')
  installApp(dev.root, 'com.example.plainapp', null)
  const set = {}
  const s = await backupApps('backup', ['com.example.hangsone', 'com.example.hangstwo', 'com.example.plainapp'], {
    onEvent: (e) => {
      if (e.ev !== 'begin' || e.err) return
      if (e.bundle === 'com.example.hangsone') set.one = backup.updateTimer(e.bundle, 1000)
      if (e.bundle === 'com.example.hangstwo') set.two = backup.updateTimer(e.bundle, 0)
    },
  })
  expect(set).toEqual({ one: true, two: true })
  for (const name of ['com.example.hangsone', 'com.example.hangstwo']) {
    expect(s.kinds(name)).toEqual(['begin', 'end'])
    expectBundleError(s.of(name)[1], 13500003, name)
    expect(alive(extRecord(dev.root, name, 'onBackup').pid)).toBe(false)
  }
  const took = (name) => s.of(name)[1].t - s.of(name)[0].t
  expect(took('com.example.hangsone')).toBeGreaterThanOrEqual(900)
  expect(took('com.example.hangsone')).toBeLessThan(15000) // not the default 15 minutes
  expect(took('com.example.hangstwo')).toBeLessThan(took('com.example.hangsone'))
  expect(s.kinds('com.example.plainapp')).toEqual(['begin', 'file', 'file', 'end'])
  expectOneAllLast(s)
  // Once the session is over the bundle is not in one any more.
  expect(backup.updateTimer('com.example.hangsone', 1000)).toBe(false)
  expect(leftoverChildren()).toEqual([])
})

test('updateTimer before publishFile applies to the app\'s onRestore: a hanging onRestore ends with 13500003', async () => {
  installApp(dev.root, 'com.example.hangsapp', null)
  installApp(dev.root, 'com.example.plainapp', null)
  const b = await backupApps('backup', ['com.example.hangsapp', 'com.example.plainapp'])
  installApp(dev.root, 'com.example.hangsapp', 'hangs-app', { files: {} })
  let set
  const s = await startRestore(b.received, ['com.example.hangsapp', 'com.example.plainapp'], {
    onEvent: (e) => {
      if (e.ev === 'begin' && e.bundle === 'com.example.hangsapp') set = backup.updateTimer(e.bundle, 1000)
    },
  })
  await s.allEnded
  await s.session.release()
  expect(set).toBe(true)
  const mine = s.of('com.example.hangsapp')
  expectBundleError(mine[mine.length - 1], 13500003, 'com.example.hangsapp')
  expect(extRecord(dev.root, 'com.example.hangsapp', 'onRestore')).not.toBeNull()
  expect(s.of('com.example.plainapp').every((e) => e.err === undefined)).toBe(true)
  expect(s.kinds('com.example.plainapp').slice(-1)).toEqual(['end'])
  expectOneAllLast(s)
  expect(leftoverChildren()).toEqual([])
})

test('an extension that dies while the client sends files: the work area is wiped before onBundleEnd(13500004)', async () => {
  const name = 'com.example.resultapp'
  installApp(dev.root, name, null)
  const b = await backupApps('backup', [name])
  installApp(dev.root, name, 'result-app', { files: {} })
  const restoreDir = path.join(device.sandboxOf(dev.root, name), WORK_AREA, 'restore')
  let leftAtEnd
  const s = await startRestore(b.received, [name], {
    publish: false,
    onEvent: (e) => {
      if (e.ev === 'end') leftAtEnd = fs.existsSync(restoreDir) ? fs.readdirSync(restoreDir) : []
    },
  })
  // Every file is in the work area, unpublished; then the app's process is killed.
  const count = b.received.get(name).size
  await s.until(() => s.of(name).filter((e) => e.ev === 'file').length === count)
  expect(fs.readdirSync(restoreDir)).toEqual(expect.arrayContaining([...b.received.get(name).keys()]))
  const hosts = leftoverChildren()
  expect(hosts).toHaveLength(1)
  process.kill(hosts[0].pid, 'SIGKILL')
  await s.allEnded
  await s.session.release()
  const mine = s.of(name)
  expectBundleError(mine[mine.length - 1], 13500004, name)
  expect(leftAtEnd).toEqual([])
  expect(leftoverChildren()).toEqual([])
})

test('three late onProcess answers in a row end the bundle with 13500003', async () => {
  process.env.BACKUP_ONPROCESS_INTERVAL_MS = '100'
  process.env.BACKUP_ONPROCESS_TIMEOUT_MS = '50'
  try {
    installApp(dev.root, 'com.example.lateapp', 'late-progress')
    installApp(dev.root, 'com.example.plainapp', null)
    const s = await backupApps('backup', ['com.example.lateapp', 'com.example.plainapp'])
    const late = s.of('com.example.lateapp')
    expect(s.kinds('com.example.lateapp')).toEqual(['begin', 'process', 'end'])
    expectBundleError(late[2], 13500003, 'com.example.lateapp')
    expect(late[2].err.message).toMatch(/onProcess/)
    expect(late[2].t - late[0].t).toBeLessThan(2500) // well before its onBackup would finish
    expect(s.of('com.example.plainapp').pop().err).toBeUndefined()
    expect(leftoverChildren()).toEqual([])
  } finally {
    delete process.env.BACKUP_ONPROCESS_TIMEOUT_MS
  }
})

test('a client that takes no file within the framework timer ends the bundle with 13500003', async () => {
  process.env.BACKUP_FRAMEWORK_TIMEOUT_MS = '600'
  try {
    const name = 'com.example.stuckapp'
    installApp(dev.root, name, 'slow-app', { files: { [`${FILES}/big.bin`]: { size: (2 << 20) + 1, seed: 1 } } })
    const s = await backupApps('backup', [name], { onEvent: (e) => e.ev === 'begin' && !e.err && backup.updateSendRate(e.bundle, 0) })
    const mine = s.of(name)
    expect(s.kinds(name).filter((k) => k !== 'process')).toEqual(['begin', 'end'])
    expectBundleError(mine[mine.length - 1], 13500003, name)
    expect(fs.existsSync(path.join(device.sandboxOf(dev.root, name), WORK_AREA))).toBe(false)
  } finally {
    delete process.env.BACKUP_FRAMEWORK_TIMEOUT_MS
  }
})

test('onRelease(scenario): 1 after a backup or an incremental backup, 2 after a restore, each before onBundleEnd', async () => {
  const name = 'com.example.releaseapp'
  installApp(dev.root, name, 'release-app')
  const callsAtEnd = []
  const onEvent = (e) => e.ev === 'end' && callsAtEnd.push(extRecord(dev.root, name, 'onRelease').calls.slice())
  const b = await backupApps('backup', [name], { onEvent })
  await backupApps('incremental', [name], { onEvent })
  device.wipeApp(dev.root, name)
  const s = await startRestore(b.received, [name], { onEvent })
  await s.allEnded
  await s.session.release()
  expect(callsAtEnd).toEqual([[1], [1, 1], [2]])
  for (const run of [b, s]) expect(run.of(name).every((e) => e.err === undefined)).toBe(true)
  expect(fs.readFileSync(path.join(device.sandboxOf(dev.root, name), FILES, 'note.txt'), 'utf8')).toBe(`notes of ${name}\n`)
  expect(leftoverChildren()).toEqual([])
})

test('an onRelease that never finishes gets its 5 s; then the bundle ends without error and the extension is stopped', async () => {
  const name = 'com.example.releaseapp'
  installApp(dev.root, name, 'release-app', { options: { hangOnRelease: true } })
  const s = await backupApps('backup', [name])
  expect(s.kinds(name)).toEqual(['begin', 'file', 'file', 'end'])
  expect(s.of(name).every((e) => e.err === undefined)).toBe(true)
  const seen = extRecord(dev.root, name, 'onRelease')
  expect(seen.calls).toEqual([1])
  const [lastFile, end] = s.of(name).slice(-2)
  expect(end.t - lastFile.t).toBeGreaterThanOrEqual(4900)
  expect(alive(seen.pid)).toBe(false)
  expect(leftoverChildren()).toEqual([])
})

describe('cancel of a running bundle: the app gets onRelease, then the bundle ends without error (ohos-behaviour.md §1.1)', () => {
  const name = 'com.example.releaseapp'

  test('restore, while the client is still sending files: onRelease(2), the files are cleared, the extension stops', async () => {
    installApp(dev.root, name, 'release-app', { files: appFiles(name) })
    const b = await backupApps('backup', [name])
    expect(extRecord(dev.root, name, 'onRelease').calls).toEqual([1])
    device.wipeApp(dev.root, name) // its temp dir too: the record starts afresh
    const codes = []
    let callsAtEnd
    const s = await startRestore(b.received, [name], {
      publish: false,
      onEvent: (e, rec) => {
        // Cancel once the first file arrived: the bundle runs and waits for the rest.
        if (e.ev === 'file' && !e.err && codes.length === 0) codes.push(rec.session.cancel(name))
        if (e.ev === 'end') callsAtEnd = extRecord(dev.root, name, 'onRelease').calls.slice()
      },
    })
    await s.allEnded
    await s.session.release()
    expect(codes).toEqual([0])
    expect(s.kinds(name).filter((k) => k !== 'file')).toEqual(['begin', 'end'])
    expect(s.of(name).every((e) => e.err === undefined)).toBe(true)
    expect(callsAtEnd).toEqual([2]) // the cancelled restore's, before onBundleEnd
    expect(alive(extRecord(dev.root, name, 'onRelease').pid)).toBe(false)
    expect(fs.existsSync(path.join(device.sandboxOf(dev.root, name), WORK_AREA, 'restore'))).toBe(false)
    expect(leftoverChildren()).toEqual([])
  })

  test('backup, with its files held back by a send rate of 0: onRelease(1) before onBundleEnd, no error', async () => {
    installApp(dev.root, name, 'release-app', { files: appFiles(name) })
    const codes = []
    let callsAtEnd
    const s = await backupApps('backup', [name], {
      onEvent: (e, rec) => {
        if (e.ev === 'begin' && !e.err) {
          backup.updateSendRate(name, 0)
          setTimeout(() => codes.push(rec.session.cancel(name)), 300)
        }
        if (e.ev === 'end') callsAtEnd = extRecord(dev.root, name, 'onRelease').calls.slice()
      },
    })
    expect(codes).toEqual([0])
    expect(s.kinds(name).filter((k) => k !== 'file')).toEqual(['begin', 'end'])
    expect(s.of(name).every((e) => e.err === undefined)).toBe(true)
    expect(callsAtEnd).toEqual([1])
    expect(alive(extRecord(dev.root, name, 'onRelease').pid)).toBe(false)
    expect(leftoverChildren()).toEqual([])
  })
})

describe('backup.getBackupInfo', () => {
  test('starts the app\'s extension, returns what its getBackupInfo() returns, and stops it', () => {
    installApp(dev.root, 'com.example.resultapp', 'result-app')
    expect(backup.getBackupInfo('com.example.resultapp')).toBe(ResultApp.BACKUP_INFO)
    const seen = extRecord(dev.root, 'com.example.resultapp', 'getBackupInfo')
    expect(seen).not.toBeNull() // the app's code ran, in a process of its own
    expect(seen.pid).not.toBe(process.pid)
    expect(alive(seen.pid)).toBe(false)
    expect(leftoverChildren()).toEqual([])
  })

  test('"" for an app whose extension has no module, undefined for a bundle that is not installed', () => {
    installApp(dev.root, 'com.example.plainapp', null)
    expect(backup.getBackupInfo('com.example.plainapp')).toBe('')
    expect(backup.getBackupInfo('com.example.notinstalled')).toBeUndefined()
  })

  test('of a bundle that is backing up: its running extension answers, no other is started', async () => {
    const name = 'com.example.hangsapp'
    installApp(dev.root, name, 'hangs-app')
    const answers = []
    const hosts = []
    const s = recordSession('backup', {
      onEvent: (e) => {
        if (e.ev !== 'begin' || e.err) return
        // onBackup starts right after onBundleBegin; give it a moment, then ask.
        setTimeout(() => {
          answers.push(JSON.parse(backup.getBackupInfo(name)))
          hosts.push(...leftoverChildren())
          s.session.cancel(name)
        }, 300)
      },
    })
    await s.session.appendBundles([name])
    await s.allEnded
    await s.session.release()
    expect(answers).toEqual([{ backingUp: true, pid: expect.any(Number) }])
    expect(hosts.map((h) => h.pid)).toEqual([answers[0].pid])
    // Once the bundle is over, a call starts (and stops) an instance of its own.
    expect(JSON.parse(backup.getBackupInfo(name)).backingUp).toBe(false)
    expect(leftoverChildren()).toEqual([])
  })

  test('a non-string bundle name throws 401', () => {
    for (const args of [[], [42], [null]]) {
      let err
      try {
        backup.getBackupInfo(...args)
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(Error)
      expect(err.code).toBe(401)
    }
  })
})
