'use strict'
// The two transports of the protocol (DESIGN.md §2) side by side: the in-process service
// (BACKUP_SERVICE=inprocess) and the device's service process (BACKUP_SERVICE=process).
//
//   node bench/transport.js [--runs 5] [--trips 2000]
//
// Cases, each run on both transports alternately after one untimed warm-up of each:
// - backup-small: a full backup of bundle A of bench/generate.js (20,000 files of 1-16 KiB),
//   the client reading every delivered fd to EOF (bench/api.js); median seconds;
// - event round trip: appendBundles([an app that is not installed]) until its onBundleBegin
//   callback runs (request out, the service refuses the bundle and emits, the JS callback
//   runs), one at a time; median and p90 in µs;
// - file round trip: a restore session's getFileHandle() until its onFileReady callback runs
//   (the service also creates the file and its report in the app's work area); median in µs;
// - cancel(): the synchronous request/reply round trip; median in µs.
// Prints a table and writes bench/out/transport.json. Numbers of a debug build mean little:
// build with `npm run build` first.

const fs = require('fs')
const path = require('path')
const { parseArgs } = require('util')
const { ensureData, specFor } = require('./generate')

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, trips: { type: 'string', default: '2000' } } })
const RUNS = Number(values.runs)
const TRIPS = Number(values.trips)
const TRANSPORTS = ['inprocess', 'process']

// The data set of bench/run.js (only bundle A is used here): the cache keeps one set, so a
// set of its own would make the next run.js generate its gigabyte again.
const data = ensureData({ spec: specFor(), log: (m) => console.error(m) })
process.env.BACKUP_DEVICE_ROOT = data.root
process.env.BACKUP_EXTENSION_LOG = 'off'

const backup = require('..')
const device = require('../lib/device')
const { runBackup } = require('./api')

const now = () => Number(process.hrtime.bigint()) / 1e3 // µs
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]

function use(transport) {
  process.env.BACKUP_SERVICE = transport
}

async function backupOnce() {
  const t0 = now()
  const stats = await runBackup({ bundles: [data.bundles.small.bundle] })
  const t = (now() - t0) / 1e6
  if (stats.errors.length) throw new Error(`backup errors: ${stats.errors.slice(0, 3).join('; ')}`)
  if (stats.bytes < data.bundles.small.bytes) throw new Error('the backup delivered fewer bytes than the tree holds')
  return t
}

// The round-trip bundle: a plain app with nothing to restore; its handles are only created.
const TRIP_APP = 'com.bench.roundtrip'
if (!device.listBundles(data.root).includes(TRIP_APP)) device.installBundle(data.root, TRIP_APP, { files: {} })

async function roundTrips(n) {
  let waiting = null
  const session = new backup.SessionRestore({
    onFileReady(err, file) {
      const t = now()
      if (file) {
        fs.closeSync(file.fd)
        fs.closeSync(file.manifestFd)
      }
      waiting(t)
    },
    onBundleBegin() {},
    onBundleEnd() {},
    onAllBundlesEnd() {},
    onBackupServiceDied() {},
  })
  const caps = await backup.getLocalCapabilities()
  await session.appendBundles(caps.fd, [TRIP_APP])
  fs.closeSync(caps.fd)
  const files = []
  for (let i = 0; i < n; i++) {
    const arrived = new Promise((r) => (waiting = r))
    const t0 = now()
    session.getFileHandle({ bundleName: TRIP_APP, uri: `f${i}.bin` })
    files.push((await arrived) - t0)
  }
  const cancels = []
  for (let i = 0; i < Math.min(n, 500); i++) {
    const t0 = now()
    session.cancel('com.bench.nosuchapp')
    cancels.push(now() - t0)
  }
  await session.release()

  // Request to event with next to no work in the service: an unknown bundle is refused.
  const events = []
  const probe = new backup.SessionBackup({
    onFileReady() {},
    onBundleBegin() {
      waiting(now())
    },
    onBundleEnd() {},
    onAllBundlesEnd() {},
    onBackupServiceDied() {},
  })
  for (let i = 0; i < n; i++) {
    const arrived = new Promise((r) => (waiting = r))
    const t0 = now()
    probe.appendBundles([`com.bench.absent${i}`])
    events.push((await arrived) - t0)
  }
  await probe.release()
  return { files, events, cancels }
}

async function main() {
  const results = {}
  for (const t of TRANSPORTS) {
    use(t)
    await backupOnce() // warm-up: page cache, service start
    results[t] = { backup: [], events: [], files: [], cancels: [] }
  }
  for (let i = 0; i < RUNS; i++) {
    for (const t of TRANSPORTS) {
      use(t)
      results[t].backup.push(await backupOnce())
    }
  }
  for (const t of TRANSPORTS) {
    use(t)
    await roundTrips(200) // warm-up
    Object.assign(results[t], await roundTrips(TRIPS))
  }
  const rows = TRANSPORTS.map((t) => {
    const r = results[t]
    return {
      transport: t,
      backupSmallMedianS: Number(median(r.backup).toFixed(3)),
      eventRoundTripMedianUs: Math.round(median(r.events)),
      eventRoundTripP90Us: Math.round(pct(r.events, 0.9)),
      fileRoundTripMedianUs: Math.round(median(r.files)),
      cancelMedianUs: Math.round(median(r.cancels)),
    }
  })
  console.table(rows)
  const ratio = rows[1].backupSmallMedianS / rows[0].backupSmallMedianS
  console.log(`backup-small through the service process: ${((ratio - 1) * 100).toFixed(1)}% vs in-process (${RUNS} runs each)`)
  fs.mkdirSync(path.join(__dirname, 'out'), { recursive: true })
  fs.writeFileSync(path.join(__dirname, 'out', 'transport.json'), JSON.stringify({ rows, ratio, runs: RUNS, trips: TRIPS, raw: results }, null, 2))
  device.stopService(data.root)
}

main().catch((e) => {
  console.error(e)
  try {
    device.stopService(data.root)
  } catch {}
  process.exit(1)
})
