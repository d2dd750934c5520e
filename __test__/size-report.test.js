// getBackupDataSize / onBackupSizeReport (issue 3): shape, cadence, precise against a known
// tree, imprecise estimates, unknown bundles, one scan at a time.
const fs = require('fs')
const path = require('path')
const backup = require('../index.js')
const { createDevice, installBundle } = require('../lib/device.js')

const FILES = 'data/storage/el2/base/files'
const T0 = 1_700_000_000
jest.setTimeout(30000)

let root
beforeEach(() => {
  root = createDevice()
  process.env.BACKUP_DEVICE_ROOT = root
  installBundle(root, 'com.example.sized', {
    files: {
      [`${FILES}/old.bin`]: { content: Buffer.alloc(3000, 1), mtime: T0 * 1000 },
      [`${FILES}/new.bin`]: { content: Buffer.alloc(500, 2), mtime: (T0 + 100) * 1000 },
      // Outside the default includes: not counted by a precise scan.
      'data/storage/el2/base/cache/c.bin': { content: Buffer.alloc(7000, 3), mtime: T0 * 1000 },
    },
  })
})
afterEach(() => {
  delete process.env.BACKUP_SIZE_REPORT_INTERVAL_MS
  fs.rmSync(root, { recursive: true, force: true })
})

function scan(Session, precise, dataList) {
  return new Promise((resolve, reject) => {
    const reports = []
    const session = new Session({
      onFileReady: () => {},
      onBundleBegin: () => {},
      onBundleEnd: () => {},
      onAllBundlesEnd: () => {},
      onBackupServiceDied: () => {},
      onBackupSizeReport: (text) => {
        reports.push({ at: Date.now(), json: JSON.parse(text) })
        if (JSON.parse(text).scanning === '' && reports.some((r) => r.json.scaned.length)) {
          session.release()
          resolve(reports)
        }
      },
    })
    session.getBackupDataSize(precise, dataList).catch(reject)
  })
}

const results = (reports) => reports.flatMap((r) => r.json.scaned)

test.each([
  ['SessionBackup', backup.SessionBackup],
  ['IncrementalBackupSession', backup.IncrementalBackupSession],
])('%s: a precise scan counts the backup scope and what is newer than lastIncrementalTime', async (_, Session) => {
  const reports = await scan(Session, true, [
    { bundleName: 'com.example.sized', lastIncrementalTime: T0 + 50 },
    { bundleName: 'com.example.nothere', lastIncrementalTime: 0 },
  ])
  for (const r of reports) expect(Object.keys(r.json).sort()).toEqual(['scaned', 'scanning'])
  expect(reports[reports.length - 1].json.scanning).toBe('')
  const got = Object.fromEntries(results(reports).map((s) => [s.bundleName, [s.dataSize, s.incDataSize]]))
  expect(got).toEqual({ 'com.example.sized': [3500, 500], 'com.example.nothere': [-1, -1] })
})

test('an imprecise scan estimates the sandbox without incremental sizes; lastIncrementalTime 0 gives -1', async () => {
  const imprecise = results(await scan(backup.SessionBackup, false, [{ bundleName: 'com.example.sized', lastIncrementalTime: T0 + 50 }]))
  expect(imprecise).toHaveLength(1)
  expect(imprecise[0].dataSize).toBeGreaterThanOrEqual(10500) // the whole sandbox, cache included
  expect(imprecise[0].incDataSize).toBe(-1)
  const full = results(await scan(backup.SessionBackup, true, [{ bundleName: 'com.example.sized', lastIncrementalTime: 0 }]))
  expect(full[0]).toEqual({ bundleName: 'com.example.sized', dataSize: 3500, incDataSize: -1 })
})

test('reports come periodically while a scan runs, and a second scan is refused meanwhile', async () => {
  process.env.BACKUP_SIZE_REPORT_INTERVAL_MS = '1'
  // Enough bundles that the scan outlives a few intervals.
  const names = []
  for (let i = 0; i < 12; i++) {
    const name = `com.example.many${i}`
    names.push(name)
    const files = {}
    for (let f = 0; f < 300; f++) files[`${FILES}/d${f % 10}/f${f}`] = `x${f}`
    installBundle(root, name, { files })
  }
  const session = new backup.SessionBackup({ onFileReady: () => {}, onBundleBegin: () => {}, onBundleEnd: () => {}, onAllBundlesEnd: () => {}, onBackupServiceDied: () => {}, onBackupSizeReport: (t) => reports.push(JSON.parse(t)) })
  const reports = []
  const list = names.map((bundleName) => ({ bundleName, lastIncrementalTime: 0 }))
  await session.getBackupDataSize(true, list)
  await expect(session.getBackupDataSize(true, list)).rejects.toMatchObject({ code: 13900020 })
  while (!reports.some((r) => r.scanning === '')) await new Promise((r) => setTimeout(r, 20))
  session.release()
  const seen = reports.flatMap((r) => r.scaned.map((s) => s.bundleName))
  expect(seen.sort()).toEqual([...names].sort()) // each bundle reported exactly once
  expect(reports.filter((r) => r.scanning === '')).toHaveLength(1)
  expect(reports.length).toBeGreaterThanOrEqual(3) // periodic reports before the final one
  expect(reports.slice(0, -1).some((r) => r.scanning.startsWith('com.example.many'))).toBe(true)
  expect(reports[reports.length - 1].scanning).toBe('')
})
