// A chain full → incremental → incremental, made with backup/incremental-client the way a
// nightly job would (each run's startedAt and listing feed the next), restored in order onto a
// wiped app with backup/client's restoreFromDir (ohos-behaviour.md §2, "Incremental restore
// difference"): the app ends up as it was at the last backup, files compared by content,
// size, mode and mtime. Deleted files come back unless the restore infos say
// {"applyDeletions": true}.
const fs = require('fs')
const os = require('os')
const path = require('path')
const { createDevice, installBundle, writeFiles, sandboxOf, wipeApp, snapshotTree, diffSnapshots } = require('../../lib/device.js')
const { incrementalBackupToDir } = require('../../lib/incremental-client.js')
const { restoreFromDir } = require('../../lib/client.js')
const { sleep } = require('../support/wait.js')

jest.setTimeout(90000)

const APP = 'com.example.planner'
const FILES = 'data/storage/el2/base/files'
const DB = 'data/storage/el2/database'
const PREFS = 'data/storage/el2/base/preferences'
const T0 = Date.UTC(2024, 0, 1) // ms: the original files
const BIG = (3 << 20) + 11

let root, work, chain
beforeAll(async () => {
  root = createDevice()
  process.env.BACKUP_DEVICE_ROOT = root
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'inc-chain-'))
  installBundle(root, APP, {
    files: {
      [`${FILES}/notes/a.txt`]: { content: 'a, first version\n', mtime: T0 },
      [`${FILES}/notes/b.txt`]: { content: 'b, deleted in inc1\n', mtime: T0 },
      [`${FILES}/notes/c.txt`]: { content: 'c, changed in inc2\n', mtime: T0 },
      [`${FILES}/old/gone1.txt`]: { content: 'the whole old/ folder goes in inc2\n', mtime: T0 },
      [`${FILES}/old/gone2.txt`]: { content: 'me too\n', mtime: T0 },
      [`${FILES}/media/clip.mp4`]: { content: { size: BIG, seed: 'clip-v1' }, mtime: T0 },
      [`${FILES}/empty/`]: { mode: 0o700 },
      [`${DB}/rdb/planner.db`]: { content: { size: 64 * 1024, seed: 'db-v1' }, mode: 0o600, mtime: T0 },
      [`${PREFS}/settings.xml`]: { content: '<settings theme="dark"/>\n', mode: 0o640, mtime: T0 },
    },
  })
  const sandbox = sandboxOf(root, APP)
  chain = { snapshots: {} }

  const step = async (name, prev) => {
    const r = await incrementalBackupToDir({
      bundles: [{ bundleName: APP, lastIncrementalTime: prev ? prev.startedAt : 0, baseline: prev ? prev.bundles[APP].listing : undefined }],
      outDir: path.join(work, name),
    })
    expect(r.bundles[APP].error).toBeNull()
    expect(r.bundles[APP].listing).toBe(path.join(work, name, APP, 'manage.json.rp'))
    chain.snapshots[name] = snapshotTree(sandbox)
    chain[name] = r
    // The next changes get a later mtime than this run's start, as in real life.
    await sleep(1100)
    return r
  }

  const full = await step('full')
  // inc1: a changes (content and mode), b is deleted, d is new, the big clip changes, a new
  // folder with a file appears; one file is written the ordinary way (sub-second mtime).
  writeFiles(root, APP, {
    [`${FILES}/notes/a.txt`]: { content: 'a, second version, longer\n', mode: 0o640 },
    [`${FILES}/notes/d.txt`]: 'd, new in inc1\n',
    [`${FILES}/media/clip.mp4`]: { size: BIG, seed: 'clip-v2' },
    [`${FILES}/drafts/x.txt`]: 'x, deleted in inc2 (its folder stays)\n',
  })
  fs.rmSync(path.join(sandbox, FILES, 'notes/b.txt'))
  fs.writeFileSync(path.join(sandbox, FILES, 'notes/precise.txt'), 'written with a sub-second mtime\n')
  const inc1 = await step('inc1', full)
  // inc2: a changes again, c changes, old/ is removed, drafts/x.txt is removed.
  writeFiles(root, APP, {
    [`${FILES}/notes/a.txt`]: { content: 'a, third version\n', mode: 0o600 },
    [`${FILES}/notes/c.txt`]: 'c, second version\n',
  })
  fs.rmSync(path.join(sandbox, FILES, 'old'), { recursive: true })
  fs.rmSync(path.join(sandbox, FILES, 'drafts/x.txt'))
  await step('inc2', inc1)
})
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true })
  fs.rmSync(work, { recursive: true, force: true })
})

async function restoreChain(infos) {
  wipeApp(root, APP)
  for (const step of ['full', 'inc1', 'inc2']) {
    const r = await restoreFromDir({ inDir: path.join(work, step), bundles: [APP], infos })
    expect(r.bundles[APP].error).toBeNull()
  }
  return snapshotTree(sandboxOf(root, APP))
}

test('the chain carries only what changed at each step', () => {
  const dataFiles = (name) => chain[name].bundles[APP].files
  expect(dataFiles('full').length).toBeGreaterThan(2)
  // inc1: one tar (a, d, precise, drafts/ and x) and the changed clip.
  expect(dataFiles('inc1')).toHaveLength(3)
  expect(dataFiles('inc1').filter((u) => /^[0-9a-f]{16}$/.test(u))).toHaveLength(1)
  // inc2: one tar (a and c), no big file.
  expect(dataFiles('inc2')).toEqual([expect.stringMatching(/^\d{13}_part\.0\.tar$/), 'manage.json'])
})

test('restored in order with {"applyDeletions": true}, the app equals its state at the last backup', async () => {
  const got = await restoreChain([JSON.stringify({ applyDeletions: true })])
  expect(diffSnapshots(chain.snapshots.inc2, got)).toEqual([])
})

test('restored in order without applyDeletions, the deleted files come back as they were backed up', async () => {
  const got = await restoreChain(undefined)
  // The last state plus each deleted file as its last backup had it (OpenHarmony never deletes).
  const expected = new Map(chain.snapshots.inc2)
  const from = (snap, rel) => expected.set(rel, chain.snapshots[snap].get(rel))
  from('full', `${FILES}/notes/b.txt`)
  from('full', `${FILES}/old`)
  from('full', `${FILES}/old/gone1.txt`)
  from('full', `${FILES}/old/gone2.txt`)
  from('inc1', `${FILES}/drafts/x.txt`)
  for (const k of [`${FILES}/notes/b.txt`, `${FILES}/old/gone1.txt`, `${FILES}/drafts/x.txt`]) expect(expected.get(k)).toBeDefined()
  expect(diffSnapshots(new Map([...expected].sort(([a], [b]) => (a < b ? -1 : 1))), got)).toEqual([])
})

test('the reports written back into manifestFd steer the restore: a tar report filters, a big-file report names the destination', async () => {
  // A copy of inc1 whose tar report lists d.txt only and whose clip report names another path.
  const tampered = path.join(work, 'inc1-tampered')
  fs.cpSync(path.join(work, 'inc1'), tampered, { recursive: true })
  const dir = path.join(tampered, APP)
  const tar = fs.readdirSync(dir).find((n) => n.endsWith('.tar'))
  const big = fs.readdirSync(dir).find((n) => /^[0-9a-f]{16}$/.test(n))
  const keep = (file, pred, edit = (l) => l) => {
    const lines = fs.readFileSync(file, 'utf8').split('\n')
    fs.writeFileSync(file, [...lines.slice(0, 2), ...lines.slice(2).filter((l) => l && pred(l)).map(edit), ''].join('\n'))
  }
  keep(path.join(dir, `${tar}.rp`), (l) => l.startsWith(`/${FILES}/notes/d.txt;`))
  keep(path.join(dir, `${big}.rp`), () => true, (l) => l.replace(`/${FILES}/media/clip.mp4;`, `/${FILES}/media/moved.mp4;`))

  wipeApp(root, APP)
  for (const inDir of [path.join(work, 'full'), tampered]) {
    const r = await restoreFromDir({ inDir, bundles: [APP] })
    expect(r.bundles[APP].error).toBeNull()
  }
  const got = snapshotTree(sandboxOf(root, APP))
  const full = chain.snapshots.full
  const inc1 = chain.snapshots.inc1
  expect(got.get(`${FILES}/notes/d.txt`)).toEqual(inc1.get(`${FILES}/notes/d.txt`)) // listed: extracted
  expect(got.get(`${FILES}/notes/a.txt`)).toEqual(full.get(`${FILES}/notes/a.txt`)) // not listed: left as the full backup had it
  expect(got.has(`${FILES}/notes/precise.txt`)).toBe(false)
  expect(got.get(`${FILES}/media/clip.mp4`)).toEqual(full.get(`${FILES}/media/clip.mp4`))
  expect(got.get(`${FILES}/media/moved.mp4`)).toEqual(inc1.get(`${FILES}/media/clip.mp4`)) // the new clip, where its report said
})

// A backup made under a `backupScene` whose optionDir covers files/a/ only lists files/a/;
// restoring it with applyDeletions must not delete files/b/, which it never covered.
test('applyDeletions never deletes files that were outside the backup scope (backupScene)', async () => {
  const app = 'com.example.scenes'
  installBundle(root, app, {
    config: { allowToBackupRestore: true, optionDir: [{ sceneId: 's1', includes: [`${FILES}/a/`], excludes: [] }] },
    files: { [`${FILES}/a/1.txt`]: 'in the scene', [`${FILES}/b/2.txt`]: 'outside the scene: never backed up' },
  })
  const out = path.join(work, 'scene')
  const r = await incrementalBackupToDir({ bundles: [{ bundleName: app, lastIncrementalTime: 0 }], outDir: out, infos: [JSON.stringify({ backupScene: 's1' })] })
  expect(r.bundles[app].error).toBeNull()
  const restored = await restoreFromDir({ inDir: out, bundles: [app], infos: [JSON.stringify({ applyDeletions: true })] })
  expect(restored.bundles[app].error).toBeNull()
  expect(fs.readFileSync(path.join(sandboxOf(root, app), FILES, 'b/2.txt'), 'utf8')).toBe('outside the scene: never backed up')
})
