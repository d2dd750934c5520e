'use strict'
// The service process of a device root (DESIGN.md §2, ohos-behaviour.md §1.1): one per root,
// shared by every client process; its death (kill -9) is what onBackupServiceDied reports, and
// a client's death ends that client's session. Every test runs with BACKUP_SERVICE=process.
const fs = require('fs')
const path = require('path')
const { execFileSync } = require('child_process')
const { performance } = require('perf_hooks')
const backup = require('backup')
const { installApp, extRecord, recordSession, backupApps, startRestore } = require('../extensions/support.js')
const { sleep, alive, until, serviceProcesses, workAreaLeft, startClient, useProcessDevice } = require('./support.js')
const { addSparseBigFiles } = require('../support/devices.js')

jest.setTimeout(60000)

const dev = useProcessDevice()
const SLOW = 'com.example.slowsender'
const HANGS = 'com.example.hangsapp'
const PLAIN = 'com.example.plainapp'

/** A bundle that takes a while to send: 90 big sparse files at the default 60 files per second. */
function installSlow(root) {
  installApp(root, SLOW, null)
  addSparseBigFiles(root, SLOW, 90)
}

const residue = (root, name) => fs.existsSync(path.join(root, 'service', 'residue', name))

/** Opens a session as soon as the device is free; the session, and how long that took. */
async function openWhenFree() {
  const t0 = Date.now()
  for (;;) {
    try {
      const s = recordSession('backup')
      return { s, ms: Date.now() - t0 }
    } catch (e) {
      if (e.code !== 13500013) throw e
      await sleep(10)
    }
  }
}

test('two client processes race to start the service of one root: one service, one session, the other gets 13500013 naming the holder', async () => {
  expect(serviceProcesses(dev.root)).toEqual([])
  const a = startClient(dev.root, 'backup', [], { HOLD_MS: '4000' })
  const b = startClient(dev.root, 'backup', [], { HOLD_MS: '4000' })
  await until(() => [a, b].every((c) => c.saw('opened') || c.saw('refused')))
  const [winner, loser] = a.saw('opened') ? [a, b] : [b, a]
  expect(winner.saw('opened')).toBe(true)
  const refused = loser.lines.find((l) => l.ev === 'refused')
  expect(refused.code).toBe(13500013)
  const info = JSON.parse(refused.message).sessionInfo
  expect(info).toMatchObject({ error: 'Session Conflict', scenario: 'BACKUP', name: `node[${winner.proc.pid}]` })
  expect(serviceProcesses(dev.root)).toHaveLength(1)
  // `service status` names the holder.
  const out = execFileSync(process.execPath, [path.join(__dirname, '..', '..', 'lib', 'cli.js'), 'service', 'status', '--root', dev.root], { encoding: 'utf8' })
  const status = JSON.parse(out)
  expect(status).toMatchObject({ running: true, pid: serviceProcesses(dev.root)[0], holder: { name: `node[${winner.proc.pid}]`, scenario: 'BACKUP' } })
  expect(status.uptimeMs).toBeGreaterThanOrEqual(0)
  await winner.done
  expect(winner.saw('released')).toBe(true)
})

test('a service with no client and no session exits by itself', async () => {
  process.env.BACKUP_SERVICE_IDLE_MS = '300'
  try {
    const s = new backup.SessionBackup({ onFileReady() {}, onBundleBegin() {}, onBundleEnd() {}, onAllBundlesEnd() {}, onBackupServiceDied() {} })
    const [pid] = serviceProcesses(dev.root)
    expect(pid).toBeDefined()
    await s.release()
    await until(() => !alive(pid))
    expect(serviceProcesses(dev.root)).toEqual([])
    expect(fs.existsSync(path.join(dev.root, 'service', 'service.sock'))).toBe(false)
  } finally {
    delete process.env.BACKUP_SERVICE_IDLE_MS
  }
})

// ---- the service dies -----------------------------------------------------------------------

/** Starts work of `what` in this process; resolves { s, bundle, hostPid } once it is under way. */
async function startWork(what) {
  if (what === 'backup') {
    installSlow(dev.root)
    const s = recordSession('backup', { read: false })
    await s.session.appendBundles([SLOW])
    await until(() => s.count('file') >= 1)
    // Paused, so the bundle is surely mid-way when the service dies.
    expect(backup.updateSendRate(SLOW, 0)).toBe(true)
    return { s, bundle: SLOW }
  }
  if (what === 'restore') {
    installApp(dev.root, PLAIN, null)
    const b = await backupApps('backup', [PLAIN])
    const s = await startRestore(b.received, [PLAIN], { publish: false })
    await until(() => s.of(PLAIN).filter((e) => e.ev === 'file').length === b.received.get(PLAIN).size)
    expect(workAreaLeft(dev.root, PLAIN).length).toBeGreaterThan(0)
    return { s, bundle: PLAIN }
  }
  installApp(dev.root, HANGS, 'hangs-app')
  const s = recordSession('backup')
  await s.session.appendBundles([HANGS])
  await until(() => extRecord(dev.root, HANGS, 'onBackup'))
  return { s, bundle: HANGS, hostPid: extRecord(dev.root, HANGS, 'onBackup').pid }
}

describe.each(['backup', 'restore', 'extension hook'])('kill -9 of the service during a %s', (what) => {
  test('onBackupServiceDied is the last event, no process is left, the next session finds no temp data', async () => {
    const { s, bundle, hostPid } = await startWork(what)
    const [pid] = serviceProcesses(dev.root)
    expect(residue(dev.root, bundle)).toBe(true)
    const killedAt = performance.now() - s.t0
    process.kill(pid, 'SIGKILL')
    await until(() => s.count('died') === 1)
    await sleep(300)
    const died = s.events[s.events.length - 1]
    expect(died.ev).toBe('died')
    expect(died.t - killedAt).toBeLessThan(1000) // within a second of the death
    expect(s.events.filter((e) => e.ev === 'end' || e.ev === 'all')).toEqual([])
    await until(() => !alive(pid))
    if (hostPid) await until(() => !alive(hostPid)) // the extension host died with its parent
    // The session is gone: its calls fail with 13900020.
    await expect(s.session.release()).rejects.toMatchObject({ code: 13900020 })
    expect(s.session.cancel(bundle)).toBe(13500011)

    // The next session starts a new service, which clears what the dead one left.
    const next = recordSession('backup')
    const [second] = serviceProcesses(dev.root)
    expect(second).not.toBe(pid)
    expect(workAreaLeft(dev.root, bundle)).toEqual([])
    expect(residue(dev.root, bundle)).toBe(false)
    await next.session.release()
  })
})

test('simulateServiceDeath() of backup/device kills the real service', async () => {
  const { s } = await startWork('extension hook')
  const [pid] = serviceProcesses(dev.root)
  expect(require('backup/device').simulateServiceDeath()).toBe(true)
  expect(alive(pid)).toBe(false)
  await until(() => s.count('died') === 1)
  expect(require('backup/device').simulateServiceDeath()).toBe(false) // none runs any more
})

// ---- a client dies --------------------------------------------------------------------------

describe.each(['backup', 'restore', 'extension hook'])('kill -9 of a client during a %s', (what) => {
  test('the service ends its session: the device is free, no extension host and no temp data are left', async () => {
    let c
    let bundle
    if (what === 'backup') {
      installSlow(dev.root)
      bundle = SLOW
      c = startClient(dev.root, 'backup', [SLOW])
      await until(() => c.lines.some((l) => l.ev === 'file'))
    } else if (what === 'restore') {
      installApp(dev.root, PLAIN, null)
      bundle = PLAIN
      c = startClient(dev.root, 'restore', [PLAIN])
      await until(() => c.lines.filter((l) => l.ev === 'file').length === 2)
      expect(workAreaLeft(dev.root, PLAIN).length).toBeGreaterThan(0)
    } else {
      installApp(dev.root, HANGS, 'hangs-app')
      bundle = HANGS
      c = startClient(dev.root, 'backup', [HANGS])
      await until(() => extRecord(dev.root, HANGS, 'onBackup'))
    }
    const hostPid = what === 'extension hook' ? extRecord(dev.root, HANGS, 'onBackup').pid : null
    const [pid] = serviceProcesses(dev.root)
    await c.kill9()
    const { s, ms } = await openWhenFree()
    // How long the device stayed taken after the client's death: a second at most.
    console.log(`kill -9 of a client during a ${what}: the next session opened after ${ms} ms`)
    expect(ms).toBeLessThan(1000)
    if (hostPid) expect(alive(hostPid)).toBe(false)
    expect(workAreaLeft(dev.root, bundle)).toEqual([])
    // The same service serves the next session.
    expect(serviceProcesses(dev.root)).toEqual([pid])
    await s.session.release()
  })
})

// ---- requests in call order -----------------------------------------------------------------

describe.each(['process', 'inprocess'])('over the %s transport', (transport) => {
  beforeEach(() => {
    process.env.BACKUP_SERVICE = transport
  })

  test('appendBundles([a, b, c, d]); cancel(d) answers 13500011 (d still waits), 50 times out of 50', async () => {
    const names = ['com.example.racea', 'com.example.raceb', 'com.example.racec', 'com.example.raced']
    // a, b and c have more big files than one second's send rate lets go: they are still
    // running when the cancel is served, whatever the machine's speed.
    for (const n of names) installApp(dev.root, n, null)
    for (const n of names.slice(0, 3)) addSparseBigFiles(dev.root, n, 65, { grow: 1, prefix: 'f' })
    const answers = []
    for (let i = 0; i < 50; i++) {
      const s = recordSession('backup', { read: false })
      const appended = s.session.appendBundles(names)
      answers.push(s.session.cancel(names[3]))
      await appended
      await s.session.release()
    }
    expect(answers).toEqual(Array(50).fill(13500011))
  })

  test('a caller that closes its capability fd at once loses nothing: the fd was dup-ed at the call', async () => {
    installApp(dev.root, PLAIN, null)
    const b = await backupApps('backup', [PLAIN])
    const caps = await backup.getLocalCapabilities()
    const s = recordSession('restore', {
      onRestoreFile(file) {
        fs.writeFileSync(file.fd, b.received.get(PLAIN).get(file.uri))
        fs.closeSync(file.fd)
        fs.closeSync(file.manifestFd)
      },
    })
    const appended = s.session.appendBundles(caps.fd, [PLAIN])
    fs.closeSync(caps.fd)
    await appended
    expect(s.events.filter((e) => e.err)).toEqual([])
    await until(() => s.count('begin') === 1)
    await s.session.release()
  })
})
