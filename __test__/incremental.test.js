// Incremental backup and restore (issue 3): what travels, the reports that come with it, the
// baseline chain, and a restored chain that equals the last state.
const fs = require('fs')
const os = require('os')
const path = require('path')
const { execFileSync } = require('child_process')
const backup = require('../index.js')
const { createDevice, installBundle, sandboxOf, wipeApp, snapshotTree, diffSnapshots } = require('../lib/device.js')
const { backupToDir, restoreFromDir } = require('../lib/client.js')

const APP = 'com.example.notes'
const FILES = 'data/storage/el2/base/files'
const T0 = 1_700_000_000 // mtime of the original files
jest.setTimeout(60000)

let root, work
beforeEach(() => {
  root = createDevice()
  process.env.BACKUP_DEVICE_ROOT = root
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'incr-'))
  const files = {}
  for (let i = 0; i < 30; i++) files[`${FILES}/notes/n${i}.txt`] = { content: `note ${i}\n`.repeat(i + 1), mtime: T0 * 1000 }
  files[`${FILES}/video.mp4`] = { content: Buffer.alloc(3 << 20, 7), mtime: T0 * 1000 }
  installBundle(root, APP, { files })
})
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true })
  fs.rmSync(work, { recursive: true, force: true })
})

const file = (rel) => path.join(sandboxOf(root, APP), FILES, rel)
function change(rel, content, mtime) {
  fs.mkdirSync(path.dirname(file(rel)), { recursive: true })
  fs.writeFileSync(file(rel), content)
  fs.utimesSync(file(rel), mtime, mtime)
}
const tarList = (p) => execFileSync('tar', ['-tf', p], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n').filter(Boolean)
const reportPaths = (p) => fs.readFileSync(p, 'utf8').split('\n').slice(2).filter(Boolean).map((l) => l.split(';')[0])

async function run(name, lastIncrementalTime, baseline) {
  const dir = path.join(work, name)
  const r = await backupToDir({ bundles: [{ bundleName: APP, lastIncrementalTime, baseline }], outDir: dir })
  expect(r.bundles[APP].error).toBeNull()
  return { dir: path.join(dir, APP), files: r.bundles[APP].files, listing: r.bundles[APP].listing }
}

test('only changed and new files travel, each output with its report; unchanged files are not read', async () => {
  const base = await run('base', 0)
  expect(base.files[base.files.length - 1]).toBe('manage.json')
  expect(base.files.some((u) => /^\d{13}_part\.0\.tar$/.test(u))).toBe(true)
  expect(base.files.some((u) => /^[0-9a-f]{16}$/.test(u))).toBe(true) // the big file, no extension

  change('notes/n1.txt', 'changed one', T0 + 200)
  change('notes/n2.txt', 'changed two', T0 + 200)
  change('notes/n3.txt', 'changed three', T0 + 200)
  change('notes/new.txt', 'a new note', T0 + 200)
  fs.rmSync(file('notes/n4.txt'))
  // Same size and mtime as in the baseline, other bytes: trusted unchanged, so never read.
  change('notes/n9.txt', 'NOTE 9\n'.repeat(10), T0)

  const inc = await run('inc', T0 + 100, base.listing)
  const tars = inc.files.filter((u) => u.endsWith('.tar'))
  expect(tars).toHaveLength(1)
  expect(tarList(path.join(inc.dir, tars[0])).sort()).toEqual(['n1.txt', 'n2.txt', 'n3.txt', 'new.txt'].map((n) => `/${FILES}/notes/${n}`))
  expect(inc.files).toEqual([tars[0], 'manage.json']) // the big file did not change
  // Every output came with a readable report; the tar's lists exactly its files.
  for (const u of inc.files) expect(fs.existsSync(path.join(inc.dir, `${u}.rp`))).toBe(true)
  expect(reportPaths(path.join(inc.dir, `${tars[0]}.rp`)).sort()).toEqual(tarList(path.join(inc.dir, tars[0])).sort())
  // The full listing: n4 is gone, n9 kept the baseline's hash.
  const listing = fs.readFileSync(inc.listing, 'utf8').split('\n')
  const baseListing = fs.readFileSync(base.listing, 'utf8').split('\n')
  expect(listing.some((l) => l.includes('/notes/n4.txt;'))).toBe(false)
  const n9 = (lines) => lines.find((l) => l.includes('/notes/n9.txt;'))
  expect(n9(listing)).toBe(n9(baseListing))

  const none = await run('none', T0 + 300, inc.listing)
  expect(none.files).toEqual(['manage.json'])
})

test('full → incremental → incremental restores to the last state; deletions only when asked', async () => {
  const full = await run('full', 0)
  change('notes/n1.txt', 'first change', T0 + 200)
  fs.rmSync(file('notes/n2.txt'))
  const inc1 = await run('inc1', T0 + 100, full.listing)
  change('video.mp4', Buffer.alloc(3 << 20, 9), T0 + 400)
  change('later/added.txt', 'added later', T0 + 400)
  const inc2 = await run('inc2', T0 + 300, inc1.listing)
  const last = snapshotTree(sandboxOf(root, APP))

  for (const deletions of [false, true]) {
    wipeApp(root, APP)
    for (const step of ['full', 'inc1', 'inc2']) {
      const infos = deletions ? [JSON.stringify({ applyDeletions: true })] : undefined
      const r = await restoreFromDir({ inDir: path.join(work, step), bundles: [APP], infos })
      expect(r.bundles[APP].error).toBeNull()
    }
    const got = snapshotTree(sandboxOf(root, APP))
    const n2 = path.join(FILES, 'notes/n2.txt')
    if (deletions) {
      expect(diffSnapshots(last, got)).toEqual([])
    } else {
      // OpenHarmony never deletes: n2 comes back from the full backup, the rest is the last state.
      expect(got.has(n2)).toBe(true)
      got.delete(n2)
      expect(diffSnapshots(last, got)).toEqual([])
    }
  }
  expect(inc2.files.length).toBeGreaterThan(1)
})

test('bad IncrementalBackupData elements throw 401; a corrupt baseline ends only that bundle', async () => {
  const s = new backup.IncrementalBackupSession({ onFileReady: () => {}, onBundleBegin: () => {}, onBundleEnd: () => {}, onAllBundlesEnd: () => {}, onBackupServiceDied: () => {} })
  for (const bad of [['x'], [{}], [{ bundleName: APP }], [{ bundleName: APP, lastIncrementalTime: 'yesterday' }], [{ bundleName: 7, lastIncrementalTime: 0 }], [{ bundleName: APP, lastIncrementalTime: 0, manifestFd: 'fd' }]]) {
    let thrown
    try {
      s.appendBundles(bad)
    } catch (e) {
      thrown = e
    }
    expect(thrown).toBeInstanceOf(Error)
    expect(thrown.code).toBe(401)
  }
  await s.release()

  installBundle(root, 'com.example.other', { files: { [`${FILES}/o.txt`]: 'other' } })
  const garbage = path.join(work, 'garbage.rp')
  fs.writeFileSync(garbage, 'this;is;not\na report at all\n')
  const events = []
  await new Promise((resolve) => {
    const session = new backup.IncrementalBackupSession({
      onFileReady: (err, f) => f && (fs.closeSync(f.fd), fs.closeSync(f.manifestFd)),
      onBundleBegin: () => {},
      onBundleEnd: (err, name) => events.push([err ? err.data : name, err && err.code]),
      onAllBundlesEnd: () => (session.release(), resolve()),
      onBackupServiceDied: () => {},
    })
    const fd = fs.openSync(garbage, 'r')
    session.appendBundles([{ bundleName: APP, lastIncrementalTime: 0, manifestFd: fd }, { bundleName: 'com.example.other', lastIncrementalTime: 0, manifestFd: -1 }]).finally(() => fs.closeSync(fd))
  })
  expect(events).toContainEqual([APP, 13900020])
  expect(events).toContainEqual(['com.example.other', undefined])
})

test('getLocalCapabilities(dataList) reports increSpaceOccupied for the listed bundle', async () => {
  change('notes/fresh.txt', 'x'.repeat(1000), T0 + 500)
  const { fd } = await backup.getLocalCapabilities([{ bundleName: APP, lastIncrementalTime: T0 + 100 }])
  const caps = JSON.parse(fs.readFileSync(`/proc/self/fd/${fd}`, 'utf8'))
  fs.closeSync(fd)
  const info = caps.bundleInfos.find((b) => b.name === APP)
  expect(info.increSpaceOccupied).toBe(1000)
  expect(info.spaceOccupied).toBeGreaterThan(3 << 20)
})
