'use strict'
// Process lifetime (DESIGN.md §1): a session with work keeps Node alive until its
// onAllBundlesEnd; after that, or once released, or when it never had work, it must not hold
// the event loop open, even when the script never calls release(). Each case runs a small
// script from fixtures/lifetime/ in its own node process; it logs one JSON line per event.

const path = require('path')
const { spawn } = require('child_process')
const { installBundle } = require('backup/device')
const { tempDevices, addSparseBigFiles } = require('./support/devices.js')

// Generous: a hang is what these tests look for, not speed.
const EXIT_DEADLINE_MS = 45000
jest.setTimeout(EXIT_DEADLINE_MS + 15000)

const FIXTURES = path.join(__dirname, 'fixtures', 'lifetime')
const FILES = 'data/storage/el2/base/files'
const A = 'com.example.alpha'
const B = 'com.example.bravo'
const SLOW = 'com.example.slow'

const newDevice = tempDevices()

/** A device with two ordinary bundles and one that needs over a second to send its files
 * (90 big sparse files at the default 60 files per second). */
function device() {
  const root = newDevice()
  for (const name of [A, B]) {
    installBundle(root, name, {
      files: { [`${FILES}/a.txt`]: `data of ${name}`, [`${FILES}/big.bin`]: { size: (2 << 20) + 10 } },
    })
  }
  installBundle(root, SLOW, { files: { [`${FILES}/`]: {} } })
  addSparseBigFiles(root, SLOW, 90)
  return root
}

/** Runs a fixture; resolves { code, signal, events, stderr, timedOut }. */
function run(script, bundles, { nodeArgs = [], env = {} } = {}) {
  const root = device()
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...nodeArgs, path.join(FIXTURES, script)], {
      env: { ...process.env, BACKUP_DEVICE_ROOT: root, FIXTURE_BUNDLES: bundles.join(','), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, EXIT_DEADLINE_MS)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const events = stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          try {
            return JSON.parse(l)
          } catch {
            return ['unparsed', l]
          }
        })
      resolve({ code, signal, events, stderr, timedOut })
    })
  })
}

/** The process ended by itself, with code 0, its last line being its exit. */
function expectCleanExit(r) {
  expect({ timedOut: r.timedOut, code: r.code, signal: r.signal, stderr: r.stderr }).toEqual({
    timedOut: false,
    code: 0,
    signal: null,
    stderr: '',
  })
  expect(r.events[r.events.length - 1]).toEqual(['exit', 0])
}

/** The uris the slow bundle delivered: its 90 big files and manage.json must be among them. */
function expectAllSlowFiles(events) {
  const uris = events.filter((e) => e[0] === 'file' && e[1] === SLOW).map((e) => e[2])
  expect(uris.filter((u) => u !== 'manage.json' && !/^part\.\d+\.tar$/.test(u))).toHaveLength(90)
  expect(uris[uris.length - 1]).toBe('manage.json')
}

const count = (events, ...prefix) => events.filter((e) => prefix.every((p, i) => e[i] === p)).length

describe('a script that never calls release()', () => {
  // The idle session keeps its event queue (a death of the service would still reach it),
  // unref'd: over either transport it does not hold the process.
  test.each(['process', 'inprocess'])('a backup (%s transport): the process exits 0 by itself after onAllBundlesEnd', async (transport) => {
    const r = await run('backup-no-release.js', [A, B], { env: { BACKUP_SERVICE: transport } })
    expectCleanExit(r)
    expect(count(r.events, 'end', A)).toBe(1)
    expect(count(r.events, 'end', B)).toBe(1)
    expect(count(r.events, 'all', null)).toBe(1)
    // When the append promise settles relative to the events is not part of the contract.
    const events = r.events.filter((e) => e[0] !== 'appended')
    expect(events[events.length - 2]).toEqual(['all', null])
  })

  test('work that outlasts the script keeps the process alive until onAllBundlesEnd', async () => {
    const r = await run('backup-no-release.js', [SLOW, A])
    expectCleanExit(r)
    // Every file of the slow bundle arrived, then its end, then the drain, then the exit.
    expectAllSlowFiles(r.events)
    expect(count(r.events, 'end', SLOW)).toBe(1)
    expect(r.events.slice(-2)).toEqual([['all', null], ['exit', 0]])
  })

  test('a session constructed without work: the process exits at once', async () => {
    const r = await run('session-idle.js', [])
    expectCleanExit(r)
    expect(r.events).toEqual([['constructed'], ['exit', 0]])
  })

  test('every bundle refused at append: the process exits after onAllBundlesEnd', async () => {
    const r = await run('backup-no-release.js', ['com.example.notinstalled'])
    expectCleanExit(r)
    expect(count(r.events, 'begin', 13500005)).toBe(1)
    expect(count(r.events, 'all', null)).toBe(1)
  })

  test('a session object that became garbage mid-work: every event arrives, then the process exits', async () => {
    const r = await run('garbage-session.js', [SLOW, A], { nodeArgs: ['--expose-gc'] })
    expectCleanExit(r)
    expectAllSlowFiles(r.events)
    expect(count(r.events, 'end', SLOW)).toBe(1)
    expect(count(r.events, 'end', A)).toBe(1)
    expect(r.events.slice(-2)).toEqual([['all', null], ['exit', 0]])
  })

  test('a restore whose session is never released: the process exits after the restore drains', async () => {
    const r = await run('restore-no-release.js', [A, B])
    expectCleanExit(r)
    expect(count(r.events, 'backup-all', null)).toBe(1)
    expect(count(r.events, 'published', A)).toBe(1)
    expect(count(r.events, 'published', B)).toBe(1)
    // The restore's own events: each bundle begins and ends without error, then the drain.
    const afterBackup = r.events.slice(r.events.findIndex((e) => e[0] === 'backup-all') + 1)
    expect(count(afterBackup, 'end', A)).toBe(1)
    expect(count(afterBackup, 'end', B)).toBe(1)
    expect(afterBackup.filter((e) => e[0] !== 'exit' && typeof e[1] === 'number')).toEqual([])
    expect(count(afterBackup, 'all', null)).toBe(1)
  })
})

describe('a script that releases', () => {
  test('after onAllBundlesEnd, with the session still referenced: the process exits', async () => {
    const r = await run('released-but-referenced.js', [A])
    expectCleanExit(r)
    // When the append promise settles relative to the events is not part of the contract.
    const events = r.events.filter((e) => e[0] !== 'appended')
    expect(events.slice(-3)).toEqual([['all', null], ['released'], ['exit', 0]])
  })

  test('in the middle of the work: the process exits, with no bundle event after release', async () => {
    const r = await run('release-mid-backup.js', [SLOW, A, B])
    expectCleanExit(r)
    const at = r.events.findIndex((e) => e[0] === 'released')
    expect(at).toBeGreaterThan(0)
    // Released backup bundles end silently (ohos-behaviour.md §1.1).
    expect(r.events.slice(at + 1).filter((e) => ['begin', 'end', 'all'].includes(e[0]))).toEqual([])
    expect(count(r.events, 'end', SLOW)).toBe(0)
  })
})
