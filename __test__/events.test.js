'use strict'
// The events a client sees: their order per bundle, refusals at append time, exactly one
// onAllBundlesEnd per drain, at most three bundles at once, scheduling by priority (larger
// first, ties in call order), duplicates ignored, the one-session-per-device rule and the
// return values of cancel (DESIGN.md §5.4–5.6, ohos-behaviour.md §1).

const fs = require('fs')
const path = require('path')
const backup = require('backup')
const { installBundle, sandboxOf } = require('backup/device')
const { tempDevices, addSparseBigFiles } = require('./support/devices.js')
const { readFd, writeFd } = require('./support/fds.js')
const { sleep } = require('./support/wait.js')

jest.setTimeout(60000)

const FILES = 'data/storage/el2/base/files'
const newDevice = tempDevices()

/** A fresh device in use (BACKUP_DEVICE_ROOT) with `bundles` installed: name -> opts. */
function device(bundles = {}) {
  const root = newDevice()
  for (const [name, opts] of Object.entries(bundles)) installBundle(root, name, opts)
  process.env.BACKUP_DEVICE_ROOT = root
  return root
}

/** A few small files plus one big (> 2 MiB) file, so a backup yields a part, a big file and manage.json. */
function someFiles(tag) {
  return {
    [`${FILES}/${tag}.txt`]: `hello from ${tag}`,
    [`${FILES}/sub/${tag}-2.txt`]: { size: 5000 },
    [`${FILES}/${tag}-big.bin`]: { size: (2 << 20) + 4096 },
  }
}

/** A bundle that cannot finish in under 2 s at the default send rate (60 files/s): 125
 * sparse big files, each delivered as its own file. */
function installSlow(root, name) {
  installBundle(root, name, { files: { [`${FILES}/`]: {} } })
  addSparseBigFiles(root, name, 125)
}

const brief = (err) =>
  err === undefined || err === null
    ? undefined
    : { code: err.code, data: err.data, message: err.message, isError: Object.prototype.toString.call(err) === '[object Error]' }

/**
 * GeneralCallbacks that record every event (closing every fd handed over) and resolve
 * `drained` at each onAllBundlesEnd. `hooks` may add behaviour per event.
 */
function recorder(hooks = {}) {
  const events = []
  let waiters = []
  const drains = []
  const closeFile = (file) => {
    fs.closeSync(file.fd)
    if (typeof file.manifestFd === 'number' && file.manifestFd >= 0) fs.closeSync(file.manifestFd)
  }
  const callbacks = {
    onFileReady: (...args) => {
      const [err, file] = args
      if (err) events.push({ ev: 'file', err: brief(err), argc: args.length })
      else {
        events.push({ ev: 'file', name: file.bundleName, uri: file.uri, argc: args.length })
        if (hooks.onFile) hooks.onFile(file)
        else closeFile(file)
      }
    },
    onBundleBegin: (...args) => {
      const [err, name] = args
      events.push({ ev: 'begin', name: err ? err.data : name, err: brief(err), argc: args.length })
      if (hooks.onBegin) hooks.onBegin(err, name)
    },
    onBundleEnd: (...args) => {
      const [err, name] = args
      events.push({ ev: 'end', name: err ? err.data : name, err: brief(err), argc: args.length })
      if (hooks.onEnd) hooks.onEnd(err, name)
    },
    onAllBundlesEnd: (...args) => {
      events.push({ ev: 'all', err: brief(args[0]) })
      drains.push(events.length)
      const w = waiters
      waiters = []
      for (const resolve of w) resolve()
    },
    onBackupServiceDied: () => events.push({ ev: 'died' }),
  }
  /** Resolves once `n` onAllBundlesEnd have arrived in total. */
  const drained = (n = 1) =>
    new Promise((resolve) => {
      const check = () => (drains.length >= n ? resolve() : waiters.push(check))
      check()
    })
  return { events, callbacks, drained, closeFile }
}

const of = (events, name) => events.filter((e) => e.name === name)
const alls = (events) => events.filter((e) => e.ev === 'all')

/** The events of one bundle that was backed up successfully: begin, its files (manage.json last), end. */
function expectCompleteBackup(events, name) {
  const mine = of(events, name)
  expect(mine[0]).toEqual({ ev: 'begin', name, err: undefined, argc: 2 })
  expect(mine[mine.length - 1]).toEqual({ ev: 'end', name, err: undefined, argc: 2 })
  const files = mine.slice(1, -1)
  expect(files.length).toBeGreaterThanOrEqual(2)
  for (const f of files) {
    expect(f).toMatchObject({ ev: 'file', name, argc: 2 })
    expect(f.err).toBeUndefined()
    expect(f.uri).toMatch(/^[A-Za-z0-9_.]+$/)
  }
  expect(files[files.length - 1].uri).toBe('manage.json')
  expect(files.filter((f) => f.uri === 'manage.json')).toHaveLength(1)
  expect(new Set(files.map((f) => f.uri)).size).toBe(files.length)
}

// ---- backup: refusals and event order ---------------------------------------------------

describe('SessionBackup events', () => {
  const A = 'com.example.alpha'
  const UNKNOWN = 'com.example.unknown'
  const NOEXT = 'com.example.noext'
  const DENIED = 'com.example.denied'

  test('per-bundle order, refusals at append time, one onAllBundlesEnd at the very end', async () => {
    device({
      [A]: { files: someFiles('a') },
      [NOEXT]: { extension: false, files: someFiles('n') },
      [DENIED]: { config: { allowToBackupRestore: false }, files: someFiles('d') },
    })
    const rec = recorder()
    const session = new backup.SessionBackup(rec.callbacks)
    try {
      await expect(session.appendBundles([A, UNKNOWN, NOEXT, DENIED])).resolves.toBeUndefined()
      await rec.drained()
    } finally {
      await session.release()
    }
    const { events } = rec

    // Refused bundles: one onBundleBegin(err) each, the name in err.data, nothing else.
    expect(of(events, UNKNOWN)).toEqual([{ ev: 'begin', name: UNKNOWN, err: expect.objectContaining({ code: 13500005, data: UNKNOWN, isError: true }), argc: 1 }])
    expect(of(events, NOEXT)).toEqual([{ ev: 'begin', name: NOEXT, err: expect.objectContaining({ code: 13500005, data: NOEXT, isError: true }), argc: 1 }])
    expect(of(events, DENIED)).toEqual([{ ev: 'begin', name: DENIED, err: expect.objectContaining({ code: 13500001, data: DENIED, isError: true }), argc: 1 }])
    const denied = of(events, DENIED)[0].err
    expect(denied.message.startsWith('The application is not added to the backup or restore.')).toBe(true)

    expectCompleteBackup(events, A)

    // Exactly one onAllBundlesEnd, without error, and it is the last event.
    expect(alls(events)).toEqual([{ ev: 'all', err: undefined }])
    expect(events[events.length - 1].ev).toBe('all')
    expect(events.some((e) => e.ev === 'died')).toBe(false)
  })

  test('a callback error is an instance of the caller’s Error', async () => {
    device()
    let seen
    const rec = recorder({ onBegin: (err) => (seen = err) })
    const session = new backup.SessionBackup(rec.callbacks)
    try {
      await session.appendBundles([UNKNOWN])
      await rec.drained()
    } finally {
      await session.release()
    }
    expect(seen && seen.code).toBe(13500005)
    expect(seen instanceof Error).toBe(true)
  })

  test('every bundle refused: the session still ends with exactly one onAllBundlesEnd', async () => {
    device({
      [NOEXT]: { extension: false },
      [DENIED]: { config: { allowToBackupRestore: false } },
    })
    const rec = recorder()
    const session = new backup.SessionBackup(rec.callbacks)
    try {
      await session.appendBundles([UNKNOWN, NOEXT, DENIED])
      await rec.drained()
    } finally {
      await session.release()
    }
    expect(rec.events.map((e) => [e.ev, e.name, e.err && e.err.code])).toEqual([
      ['begin', UNKNOWN, 13500005],
      ['begin', NOEXT, 13500005],
      ['begin', DENIED, 13500001],
      ['all', undefined, undefined],
    ])
  })

  test('the callback form of appendBundles is called once with (undefined, undefined)', async () => {
    device({ [A]: { files: someFiles('a') } })
    const rec = recorder()
    const session = new backup.SessionBackup(rec.callbacks)
    try {
      const args = await new Promise((resolve) => {
        const ret = session.appendBundles([A], (...a) => resolve(a))
        expect(ret).toBeUndefined()
      })
      expect(args).toEqual([undefined, undefined])
      await rec.drained()
    } finally {
      await session.release()
    }
    expectCompleteBackup(rec.events, A)
  })

  test('duplicates in one call are ignored', async () => {
    const B = 'com.example.bravo'
    device({ [A]: { files: someFiles('a') }, [B]: { files: someFiles('b') } })
    const rec = recorder()
    const session = new backup.SessionBackup(rec.callbacks)
    try {
      await session.appendBundles([A, A, B, A, B])
      await rec.drained()
    } finally {
      await session.release()
    }
    expectCompleteBackup(rec.events, A)
    expectCompleteBackup(rec.events, B)
    expect(rec.events.filter((e) => e.ev === 'begin')).toHaveLength(2)
    expect(rec.events.filter((e) => e.ev === 'end')).toHaveLength(2)
    expect(alls(rec.events)).toHaveLength(1)
  })

  test('at most 3 bundles at once; equal priorities run in call order, not name order', async () => {
    const names = ['com.example.zulu', 'com.example.yankee', 'com.example.xray', 'com.example.whiskey', 'com.example.victor']
    device(Object.fromEntries(names.map((n) => [n, { files: someFiles(n.split('.').pop()) }])))
    let running = 0
    let max = 0
    const rec = recorder({
      onBegin: (err) => {
        if (!err) max = Math.max(max, ++running)
      },
      onEnd: () => running--,
    })
    const session = new backup.SessionBackup(rec.callbacks)
    try {
      await session.appendBundles(names)
      await rec.drained()
    } finally {
      await session.release()
    }
    expect(max).toBeLessThanOrEqual(3)
    expect(running).toBe(0)
    expect(rec.events.filter((e) => e.ev === 'begin').map((e) => e.name)).toEqual(names)
    for (const n of names) expectCompleteBackup(rec.events, n)
    expect(alls(rec.events)).toHaveLength(1)
  })

  test('appendBundles after the drain starts new work and a second onAllBundlesEnd', async () => {
    const B = 'com.example.bravo'
    device({ [A]: { files: someFiles('a') }, [B]: { files: someFiles('b') } })
    const rec = recorder()
    const session = new backup.SessionBackup(rec.callbacks)
    try {
      await session.appendBundles([A])
      await rec.drained(1)
      const firstDrain = rec.events.length
      await session.appendBundles([B])
      await rec.drained(2)
      expect(rec.events.slice(0, firstDrain).some((e) => e.name === B)).toBe(false)
      expectCompleteBackup(rec.events.slice(firstDrain), B)
    } finally {
      await session.release()
    }
    expectCompleteBackup(rec.events, A)
    expect(alls(rec.events)).toHaveLength(2)
    expect(rec.events[rec.events.length - 1].ev).toBe('all')
  })

  test('with three bundles held running: a fourth waits; cancel answers 13500011 / 13500012 / 0; re-appending is ignored', async () => {
    const slow = ['com.example.slow1', 'com.example.slow2', 'com.example.slow3']
    const W1 = 'com.example.wait1'
    const W2 = 'com.example.wait2'
    const root = device({ [W1]: { files: someFiles('w1') }, [W2]: { files: someFiles('w2') } })
    for (const s of slow) installSlow(root, s)

    const paused = {}
    let heldResolve
    const held = new Promise((r) => (heldResolve = r))
    let w1Resolve
    const w1Began = new Promise((r) => (w1Resolve = r))
    const rec = recorder({
      onBegin: (err, name) => {
        if (!err && name === W1) w1Resolve()
        // Pause each slow bundle as it starts: it cannot have finished (125 files at 60/s).
        if (!err && slow.includes(name)) {
          paused[name] = backup.updateSendRate(name, 0)
          if (Object.keys(paused).length === slow.length) heldResolve()
        }
      },
    })
    const session = new backup.SessionBackup(rec.callbacks)
    try {
      await session.appendBundles([...slow, W1, W2])
      await held
      expect(paused).toEqual(Object.fromEntries(slow.map((s) => [s, true])))

      // Three run, so the other two wait: nothing can end while the three are paused.
      expect(rec.events.filter((e) => e.ev === 'begin').map((e) => e.name).sort()).toEqual([...slow].sort())
      expect(session.cancel(W1)).toBe(13500011)
      expect(session.cancel('com.example.notinsession')).toBe(13500012)

      // Appending bundles that are already in the session changes nothing.
      await session.appendBundles([slow[1], W2])

      // Cancelling a running bundle answers 0 and ends it without an error; its slot goes
      // to the first waiting bundle (the other two are still paused).
      expect(session.cancel(slow[0])).toBe(0)
      await w1Began
      const idx = (ev, n) => rec.events.findIndex((e) => e.ev === ev && e.name === n)
      expect(idx('end', slow[0])).toBeGreaterThan(-1)
      expect(idx('end', slow[0])).toBeLessThan(idx('begin', W1))
      for (const s of slow.slice(1)) expect(backup.updateSendRate(s, 800)).toBe(true)
      await rec.drained()
    } finally {
      for (const s of slow) backup.updateSendRate(s, 800)
      await session.release()
    }
    const { events } = rec
    expect(events.filter((e) => e.ev === 'begin' && e.err)).toEqual([])
    for (const n of [...slow, W1, W2]) {
      expect(of(events, n).filter((e) => e.ev === 'begin')).toHaveLength(1)
      expect(of(events, n).filter((e) => e.ev === 'end')).toEqual([{ ev: 'end', name: n, err: undefined, argc: 2 }])
    }
    // The waiting bundles run in call order.
    const idx = (ev, n) => events.findIndex((e) => e.ev === ev && e.name === n)
    expect(idx('begin', W1)).toBeLessThan(idx('begin', W2))
    for (const n of [slow[1], slow[2], W1, W2]) expectCompleteBackup(events, n)
    expect(alls(events)).toEqual([{ ev: 'all', err: undefined }])
    expect(events[events.length - 1].ev).toBe('all')
  })
})

// ---- priority -----------------------------------------------------------------------------

describe('IncrementalBackupSession priority', () => {
  test('larger priority first, ties in call order; at most 3 at once', async () => {
    const list = [
      ['com.example.zulu', 0],
      ['com.example.alpha', 0],
      ['com.example.mike', 5],
      ['com.example.bravo', -1],
      ['com.example.yankee', 5],
      ['com.example.charlie', 10],
    ]
    device(Object.fromEntries(list.map(([n]) => [n, { files: someFiles(n.split('.').pop()) }])))
    let running = 0
    let max = 0
    const rec = recorder({
      onBegin: (err) => {
        if (!err) max = Math.max(max, ++running)
      },
      onEnd: () => running--,
    })
    const session = new backup.IncrementalBackupSession(rec.callbacks)
    try {
      await session.appendBundles(list.map(([bundleName, priority]) => ({ bundleName, lastIncrementalTime: 0, priority })))
      await rec.drained()
    } finally {
      await session.release()
    }
    expect(rec.events.filter((e) => e.ev === 'begin').map((e) => e.name)).toEqual([
      'com.example.charlie',
      'com.example.mike',
      'com.example.yankee',
      'com.example.zulu',
      'com.example.alpha',
      'com.example.bravo',
    ])
    expect(max).toBeLessThanOrEqual(3)
    for (const [n] of list) {
      expect(of(rec.events, n).filter((e) => e.ev === 'end')).toEqual([{ ev: 'end', name: n, err: undefined, argc: 2 }])
    }
    expect(alls(rec.events)).toEqual([{ ev: 'all', err: undefined }])
  })
})

// ---- restore event order ------------------------------------------------------------------

describe('SessionRestore events', () => {
  test('begin, one onFileReady per getFileHandle, end after publishFile, then onAllBundlesEnd', async () => {
    const A = 'com.example.alpha'
    const UNKNOWN = 'com.example.unknown'
    const NOEXT = 'com.example.noext'
    const root = device({ [A]: { files: someFiles('a') }, [NOEXT]: { extension: false } })

    // Back up A, keeping every file in memory (they are small enough here).
    const saved = new Map()
    const brec = recorder({
      onFile: (file) => {
        saved.set(file.uri, readFd(file.fd))
        fs.closeSync(file.fd)
      },
    })
    const b = new backup.SessionBackup(brec.callbacks)
    try {
      await b.appendBundles([A])
      await brec.drained()
    } finally {
      await b.release()
    }
    expect(saved.has('manage.json')).toBe(true)
    fs.rmSync(path.join(sandboxOf(root, A), 'data'), { recursive: true, force: true })

    let begun
    const begin = new Promise((r) => (begun = r))
    const handed = []
    const rec = recorder({
      onBegin: (err, name) => {
        if (!err && name === A) begun()
      },
      onFile: (file) => {
        handed.push(file.uri)
        writeFd(file.fd, saved.get(file.uri))
        rec.closeFile(file)
      },
    })
    const r = new backup.SessionRestore(rec.callbacks)
    const cap = await r.getLocalCapabilities()
    try {
      await r.appendBundles(cap.fd, [A, UNKNOWN, NOEXT])
      await begin
      for (const uri of saved.keys()) await r.getFileHandle({ bundleName: A, uri })
      // Every handle has been used before the bundle is published.
      await new Promise((resolve) => {
        const poll = () => (handed.length === saved.size ? resolve() : setImmediate(poll))
        poll()
      })
      await r.publishFile({ bundleName: A, uri: '' })
      await rec.drained()
    } finally {
      fs.closeSync(cap.fd)
      await r.release()
    }
    const { events } = rec
    expect(of(events, UNKNOWN)).toEqual([{ ev: 'begin', name: UNKNOWN, err: expect.objectContaining({ code: 13500005, data: UNKNOWN }), argc: 1 }])
    // Restore into an app without an extension is forbidden (13500001, reference §1.4).
    expect(of(events, NOEXT)).toEqual([{ ev: 'begin', name: NOEXT, err: expect.objectContaining({ code: 13500001, data: NOEXT }), argc: 1 }])
    const mine = of(events, A)
    expect(mine[0]).toEqual({ ev: 'begin', name: A, err: undefined, argc: 2 })
    expect(mine.slice(1, -1).map((e) => e.uri).sort()).toEqual([...saved.keys()].sort())
    expect(mine.slice(1, -1).every((e) => e.ev === 'file' && !e.err)).toBe(true)
    expect(mine[mine.length - 1]).toEqual({ ev: 'end', name: A, err: undefined, argc: 2 })
    expect(alls(events)).toEqual([{ ev: 'all', err: undefined }])
    expect(events[events.length - 1].ev).toBe('all')
    expect(fs.readFileSync(path.join(sandboxOf(root, A), FILES, 'a.txt'), 'utf8')).toBe('hello from a')
  })
})

// ---- one session per device, cancel -------------------------------------------------------

describe('one active session per device', () => {
  test('a second session while one is active: 13500013 with the reference JSON message', async () => {
    device()
    const first = new backup.SessionBackup(recorder().callbacks)
    try {
      for (const Kind of ['SessionBackup', 'SessionRestore', 'IncrementalBackupSession']) {
        let e
        try {
          new backup[Kind](recorder().callbacks)
        } catch (err) {
          e = err
        }
        expect(e).toBeDefined()
        expect(e.code).toBe(13500013)
        expect(Object.prototype.toString.call(e)).toBe('[object Error]')
        const info = JSON.parse(e.message).sessionInfo
        expect(info).toEqual({
          error: 'Session Conflict',
          userId: expect.any(String),
          name: expect.any(String),
          activeTime: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d:\d{3}$/),
          scenario: 'BACKUP',
        })
        expect(info.name.length).toBeGreaterThan(0)
      }
    } finally {
      await first.release()
    }
    // Released: the device is free again, and the holder's scenario is reported.
    const second = new backup.SessionRestore(recorder().callbacks)
    let e
    try {
      new backup.SessionBackup(recorder().callbacks)
    } catch (err) {
      e = err
    } finally {
      await second.release()
    }
    expect(e && e.code).toBe(13500013)
    expect(JSON.parse(e.message).sessionInfo.scenario).toBe('RESTORE')
  })

  test('sessions on two different devices do not conflict', async () => {
    device()
    const a = new backup.SessionBackup(recorder().callbacks)
    device()
    try {
      const b = new backup.SessionBackup(recorder().callbacks)
      await b.release()
    } finally {
      await a.release()
    }
  })

  test('a session held by another process: 13500013 naming it; free once it releases or dies', async () => {
    const { spawn } = require('child_process')
    const root = device()
    // A script that opens a session on the same device, says so, and waits for a command.
    const holder = () => {
      const script = `
        const backup = require(${JSON.stringify(require.resolve('backup'))})
        const s = new backup.SessionRestore({ onFileReady() {}, onBundleBegin() {}, onBundleEnd() {}, onAllBundlesEnd() {}, onBackupServiceDied() {} })
        console.log('holding')
        process.stdin.once('data', () => s.release().then(() => process.exit(0)))`
      const p = spawn(process.execPath, ['-e', script], { env: { ...process.env, BACKUP_DEVICE_ROOT: root }, stdio: ['pipe', 'pipe', 'inherit'] })
      const ready = new Promise((resolve) => p.stdout.once('data', resolve))
      const exited = new Promise((resolve) => p.once('exit', resolve))
      return { p, ready, exited }
    }
    const tryOpen = () => {
      try {
        new backup.SessionBackup(recorder().callbacks).release()
        return null
      } catch (e) {
        return e
      }
    }

    const one = holder()
    await one.ready
    const e = tryOpen()
    expect(e && e.code).toBe(13500013)
    const info = JSON.parse(e.message).sessionInfo
    expect(info).toEqual(expect.objectContaining({ error: 'Session Conflict', scenario: 'RESTORE' }))
    expect(info.name).toContain(String(one.p.pid))
    one.p.stdin.write('release\n')
    await one.exited
    expect(tryOpen()).toBeNull()

    // A holder killed outright does not leave the device blocked.
    const two = holder()
    await two.ready
    expect(tryOpen()).toEqual(expect.objectContaining({ code: 13500013 }))
    two.p.kill('SIGKILL')
    await two.exited
    // The service ends a dead client's session as soon as it sees the connection close.
    let after = tryOpen()
    for (let i = 0; after && after.code === 13500013 && i < 500; i++) {
      await sleep(10)
      after = tryOpen()
    }
    expect(after).toBeNull()
  })

  test('cancel of a bundle that is not in the session answers 13500012', async () => {
    device({ 'com.example.alpha': { files: someFiles('a') } })
    const s = new backup.SessionBackup(recorder().callbacks)
    try {
      expect(s.cancel('com.example.alpha')).toBe(13500012)
      expect(s.cancel('com.example.unknown')).toBe(13500012)
    } finally {
      await s.release()
    }
  })
})
