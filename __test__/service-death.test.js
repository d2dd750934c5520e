'use strict'
// onBackupServiceDied (ohos-behaviour.md §1.1 "Service death"), driven by the testing aid
// `simulateServiceDeath` of backup/device (with BACKUP_SERVICE=process it kills the service
// process; __test__/service/ kills it with kill -9 itself): the session with work in flight
// gets onBackupServiceDied(undefined, undefined) and nothing after it, its later calls fail
// with 13900020, no extension is left, no temp data once the next session has started, and
// the device takes a new session.
const { spawn } = require('child_process')
const { performance } = require('perf_hooks')
const device = require('backup/device')
const { installApp, extRecord, leftoverChildren, alive, sleep, recordSession, backupApps, startRestore, useFreshDevice, until, workAreaLeft } = require('./extensions/support.js')

jest.setTimeout(30000)

const dev = useFreshDevice()

for (const kind of ['backup', 'incremental']) {
  test(`${kind}: a running and a waiting bundle; the service dies: onBackupServiceDied last, then 13900020`, async () => {
    const names = ['com.example.hangsone', 'com.example.hangstwo', 'com.example.hangsthree', 'com.example.waitingapp']
    for (const n of names) installApp(dev.root, n, 'hangs-app')
    const s = recordSession(kind)
    const list = kind === 'incremental' ? names.map((n) => ({ bundleName: n, lastIncrementalTime: 0, manifestFd: -1 })) : names
    await s.session.appendBundles(list)
    await until(() => names.slice(0, 3).every((n) => extRecord(dev.root, n, 'onBackup')))

    expect(device.simulateServiceDeath()).toBe(true)
    await until(() => s.count('died') === 1)
    await sleep(200)
    const died = s.events.findIndex((e) => e.ev === 'died')
    expect(died).toBe(s.events.length - 1) // nothing after it
    expect(s.events.filter((e) => e.ev === 'end' || e.ev === 'all')).toEqual([])
    // A service process's extension hosts die with it (PDEATHSIG), a moment later.
    for (const n of names.slice(0, 3)) await until(() => !alive(extRecord(dev.root, n, 'onBackup').pid))
    expect(extRecord(dev.root, 'com.example.waitingapp', 'onBackup')).toBeNull()
    expect(leftoverChildren()).toEqual([])

    // The session is gone: its calls fail; the device takes a new session.
    await expect(s.session.appendBundles(list.slice(0, 1))).rejects.toMatchObject({ code: 13900020 })
    await expect(s.session.release()).rejects.toMatchObject({ code: 13900020 })
    expect(device.simulateServiceDeath()).toBe(false) // no session any more
    installApp(dev.root, 'com.example.plainapp', null)
    const after = await backupApps('backup', ['com.example.plainapp'])
    expect(after.kinds('com.example.plainapp')).toEqual(['begin', 'file', 'file', 'end'])
    for (const n of names.slice(0, 3)) expect(workAreaLeft(dev.root, n)).toEqual([])
  })
}

test('restore: a bundle receiving files; the service dies: its files are removed, onBackupServiceDied last', async () => {
  const name = 'com.example.resultapp'
  installApp(dev.root, name, null)
  const b = await backupApps('backup', [name])
  installApp(dev.root, name, 'result-app', { files: {} })
  const s = await startRestore(b.received, [name], { publish: false })
  await until(() => s.of(name).filter((e) => e.ev === 'file').length === b.received.get(name).size)
  expect(workAreaLeft(dev.root, name).length).toBeGreaterThan(0)

  expect(device.simulateServiceDeath(dev.root)).toBe(true)
  await until(() => s.count('died') === 1)
  await sleep(200)
  expect(s.events[s.events.length - 1].ev).toBe('died')
  expect(s.kinds(name).filter((k) => k !== 'file')).toEqual(['begin'])
  expect(leftoverChildren()).toEqual([])
  await expect(s.session.publishFile({ bundleName: name, uri: '' })).rejects.toMatchObject({ code: 13900020 })
  // Once the next session has started, the files the dead service took in are gone.
  const next = recordSession('backup')
  expect(workAreaLeft(dev.root, name)).toEqual([])
  await next.session.release()
})

// Over the process transport simulateServiceDeath is a kill -9 of the service process; over the
// in-process one the service drops its sessions as if it had died.
describe.each(['process', 'inprocess'])('over the %s transport', (transport) => {
  const saved = process.env.BACKUP_SERVICE
  beforeEach(() => {
    process.env.BACKUP_SERVICE = transport
  })
  afterEach(() => {
    if (saved === undefined) delete process.env.BACKUP_SERVICE
    else process.env.BACKUP_SERVICE = saved
  })

  test('a session idle after onAllBundlesEnd and never released: the service dies, onBackupServiceDied within a second, last, then 13900020', async () => {
    installApp(dev.root, 'com.example.plainapp', null)
    const s = recordSession('backup')
    await s.session.appendBundles(['com.example.plainapp'])
    await s.allEnded
    await sleep(100) // idle: nothing in flight, no work left
    const killedAt = performance.now() - s.t0
    expect(device.simulateServiceDeath()).toBe(true) // the session still holds the device
    await until(() => s.count('died') === 1)
    const died = s.events[s.events.length - 1]
    expect(died.ev).toBe('died')
    expect(died.t - killedAt).toBeLessThan(1000)
    await sleep(200)
    expect(s.events[s.events.length - 1]).toBe(died) // nothing after it
    await expect(s.session.appendBundles(['com.example.plainapp'])).rejects.toMatchObject({ code: 13900020 })
    await expect(s.session.release()).rejects.toMatchObject({ code: 13900020 })
    // The device takes a new session.
    const next = recordSession('backup')
    await next.session.release()
  })
})

/** Runs `script` in a node process of its own on this device: { code, signal, text } (stdout). */
function runScript(script) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['-e', script], { env: { ...process.env, BACKUP_DEVICE_ROOT: dev.root }, stdio: ['ignore', 'pipe', 'inherit'] })
    let text = ''
    p.stdout.on('data', (d) => (text += d))
    const timer = setTimeout(() => p.kill('SIGKILL'), 10000)
    p.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, text })
    })
  })
}

test('a script whose idle, unreleased session sees its service die: onBackupServiceDied reaches it and the process exits by itself', async () => {
  installApp(dev.root, 'com.example.plainapp', null)
  const out = await runScript(`
    const backup = require(${JSON.stringify(require.resolve('backup'))})
    const device = require(${JSON.stringify(require.resolve('backup/device'))})
    const s = new backup.SessionBackup({
      onFileReady(err, f) { require('fs').closeSync(f.fd) }, onBundleBegin() {}, onBundleEnd() {},
      onAllBundlesEnd() {
        console.log('all')
        // Idle now; the timers are what keeps this script alive until the death arrives.
        setTimeout(() => device.simulateServiceDeath(), 200)
        setTimeout(() => {}, 1500)
      },
      onBackupServiceDied(...args) { console.log('died ' + JSON.stringify(args)) },
    })
    s.appendBundles(['com.example.plainapp'])`)
  expect(out).toEqual({ code: 0, signal: null, text: 'all\ndied [null,null]\n' })
})

test('a script whose service dies while it waits: onBackupServiceDied reaches it and the process exits by itself', async () => {
  installApp(dev.root, 'com.example.hangsapp', 'hangs-app')
  const script = `
    const backup = require(${JSON.stringify(require.resolve('backup'))})
    const device = require(${JSON.stringify(require.resolve('backup/device'))})
    const s = new backup.SessionBackup({
      onFileReady() {}, onBundleEnd() {}, onAllBundlesEnd() { console.log('all') },
      onBundleBegin(err, name) { setTimeout(() => device.simulateServiceDeath(), 200) },
      onBackupServiceDied(...args) { console.log('died ' + JSON.stringify(args)) },
    })
    s.appendBundles(['com.example.hangsapp'])`
  const out = await runScript(script)
  expect(out).toEqual({ code: 0, signal: null, text: 'died [null,null]\n' })
})
