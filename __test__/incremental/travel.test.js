// What an incremental backup sends (ohos-behaviour.md §1.3, §3.2, §3.4): after a baseline,
// exactly the changed and new files travel, each output comes with a readable report, files
// whose size and mtime match the baseline are trusted and never read, and a run with nothing
// changed sends manage.json alone. Tars are checked with GNU tar, as a user would.
const crypto = require('crypto')
const fs = require('fs')
const os = require('os')
const path = require('path')
const { execFileSync } = require('child_process')
const backup = require('../../index.js')
const { createDevice, installBundle, writeFiles, sandboxOf, snapshotTree } = require('../../lib/device.js')
const { incrementalBackupToDir } = require('../../lib/incremental-client.js')
const { readFd } = require('../support/fds.js')

jest.setTimeout(60000)

const APP = 'com.example.journal'
const FILES = 'data/storage/el2/base/files'
const DB = 'data/storage/el2/database'
const T0 = 1_700_000_000 // seconds: mtime of every file at the baseline
const LAST = T0 + 500 // lastIncrementalTime of the incremental run
const T1 = T0 + 1000 // mtime of what changed after the baseline
const BIG = (3 << 20) + 5 // over 2 MiB: travels as a big file

let root, work
beforeEach(() => {
  root = createDevice()
  process.env.BACKUP_DEVICE_ROOT = root
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'inc-travel-'))
  const files = {}
  for (let i = 0; i < 10; i++) files[`${FILES}/notes/n${i}.txt`] = { content: `note ${i}: ${'x'.repeat(40 + i)}\n`, mtime: T0 * 1000 }
  files[`${FILES}/photos/big.jpg`] = { content: { size: BIG, seed: 'photo-v1' }, mtime: T0 * 1000 }
  files[`${DB}/rdb/journal.db`] = { content: Buffer.alloc(8192, 0x5a), mtime: T0 * 1000 }
  installBundle(root, APP, { files })
})
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true })
  fs.rmSync(work, { recursive: true, force: true })
})

const abs = (rel) => path.join(sandboxOf(root, APP), rel)
const sha = (buf) => crypto.createHash('sha256').update(buf).digest('hex').toUpperCase()

// Writes a sandbox file with the given bytes and whole-second mtime.
function put(rel, content, mtimeSec) {
  fs.mkdirSync(path.dirname(abs(rel)), { recursive: true })
  fs.writeFileSync(abs(rel), content)
  fs.utimesSync(abs(rel), mtimeSec, mtimeSec)
}

// Data lines of a .rp report, by path.
function parseReport(text) {
  const lines = text.split('\n')
  expect(lines[0]).toBe('version=1.0&attrNum=8')
  expect(lines[1]).toBe('path;mode;dir;size;mtime;hash;usertar;encodeFlag')
  const out = new Map()
  for (const l of lines.slice(2).filter(Boolean)) {
    const [p, mode, dir, size, mtime, hash, flag, enc] = l.split(';')
    out.set(p, { mode: Number(mode), dir: dir === '1', size: Number(size), mtime: Number(mtime), hash, flag, enc, line: l })
  }
  return out
}

// GNU tar's listing of an archive (its notice about leading '/' kept out of the output).
const tarList = (file) => execFileSync('tar', ['-tf', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n').filter(Boolean)

// One IncrementalBackupSession, recording every event; each delivered file is read whole
// (data and report) and both fds are closed. Resolves after release.
function runRaw(list) {
  return new Promise((resolve, reject) => {
    const events = []
    const session = new backup.IncrementalBackupSession({
      onFileReady(err, file) {
        if (err) return events.push({ name: 'onFileReady', code: err.code, data: err.data })
        const rec = { name: 'onFileReady', bundleName: file.bundleName, uri: file.uri, manifestFd: file.manifestFd }
        rec.data = readFd(file.fd)
        try {
          rec.reportIsFile = fs.fstatSync(file.manifestFd).isFile()
          rec.report = readFd(file.manifestFd).toString('utf8')
        } catch (e) {
          rec.reportError = e.code
        }
        fs.closeSync(file.fd)
        if (typeof file.manifestFd === 'number' && file.manifestFd >= 0) fs.closeSync(file.manifestFd)
        events.push(rec)
      },
      onBundleBegin: (err, name) => events.push({ name: 'onBundleBegin', code: err && err.code, bundle: err ? err.data : name }),
      onBundleEnd: (err, name) => events.push({ name: 'onBundleEnd', code: err && err.code, bundle: err ? err.data : name }),
      onAllBundlesEnd: (err) => {
        events.push({ name: 'onAllBundlesEnd', code: err && err.code })
        session.release().then(() => resolve(events), reject)
      },
      onBackupServiceDied: () => reject(new Error('service died')),
    })
    session.appendBundles(list).catch(reject)
  })
}

async function baseline() {
  const r = await incrementalBackupToDir({ bundles: [{ bundleName: APP, lastIncrementalTime: 0 }], outDir: path.join(work, 'base') })
  expect(r.bundles[APP].error).toBeNull()
  return r.bundles[APP]
}

test('after a baseline, exactly the 3 changed and 1 new file travel; the deleted and the untouched do not', async () => {
  const base = await baseline()
  const baseListing = parseReport(fs.readFileSync(base.listing, 'utf8'))

  put(`${FILES}/notes/n1.txt`, 'n1 rewritten, and longer than before\n', T1) // changed size
  const n2 = Buffer.from(fs.readFileSync(abs(`${FILES}/notes/n2.txt`), 'utf8').toUpperCase())
  put(`${FILES}/notes/n2.txt`, n2, T1) // same size, other bytes, newer mtime
  writeFiles(root, APP, { [`${FILES}/photos/big.jpg`]: { content: { size: BIG, seed: 'photo-v2' }, mtime: T1 * 1000 } }) // big, same size
  put(`${FILES}/notes/new.txt`, 'a note written after the baseline\n', T1) // new
  fs.rmSync(abs(`${FILES}/notes/n3.txt`)) // deleted
  put(`${FILES}/notes/n6.txt`, fs.readFileSync(abs(`${FILES}/notes/n6.txt`)), T1) // touched, same bytes

  const manifest = fs.openSync(base.listing, 'r')
  let events
  try {
    events = await runRaw([{ bundleName: APP, lastIncrementalTime: LAST, manifestFd: manifest }])
  } finally {
    fs.closeSync(manifest)
  }

  expect(events.filter((e) => e.code)).toEqual([])
  expect(events.map((e) => e.name)).toEqual(['onBundleBegin', 'onFileReady', 'onFileReady', 'onFileReady', 'onBundleEnd', 'onAllBundlesEnd'])
  const files = events.filter((e) => e.name === 'onFileReady')
  // Every file came with a report fd that is a readable regular file.
  for (const f of files) {
    expect(typeof f.manifestFd).toBe('number')
    expect(f.reportError).toBeUndefined()
    expect(f.reportIsFile).toBe(true)
  }
  expect(files[files.length - 1].uri).toBe('manage.json')
  const tars = files.filter((f) => /^\d{13}_part\.\d+\.tar$/.test(f.uri))
  const bigs = files.filter((f) => /^[0-9a-f]{16}$/.test(f.uri))
  expect(tars).toHaveLength(1)
  expect(bigs).toHaveLength(1)

  // The tar: exactly the small changed and new files, with their current bytes.
  const tarFile = path.join(work, tars[0].uri)
  fs.writeFileSync(tarFile, tars[0].data)
  const expected = [`/${FILES}/notes/n1.txt`, `/${FILES}/notes/n2.txt`, `/${FILES}/notes/new.txt`]
  expect(tarList(tarFile).sort()).toEqual(expected)
  const out = path.join(work, 'extracted')
  fs.mkdirSync(out)
  execFileSync('tar', ['-xf', tarFile, '-C', out], { stdio: ['ignore', 'ignore', 'ignore'] })
  for (const p of expected) expect(fs.readFileSync(path.join(out, p))).toEqual(fs.readFileSync(abs(p)))
  // Its report lists exactly those files, with what they are now.
  const tarReport = parseReport(tars[0].report)
  expect([...tarReport.keys()].sort()).toEqual(expected)
  for (const p of expected) {
    const st = fs.statSync(abs(p))
    expect(tarReport.get(p)).toMatchObject({ dir: false, size: st.size, mtime: T1, mode: st.mode, hash: sha(fs.readFileSync(abs(p))) })
  }

  // The big file: itself, with a one-line report naming where it goes back.
  const bigNow = fs.readFileSync(abs(`${FILES}/photos/big.jpg`))
  expect(sha(bigs[0].data)).toBe(sha(bigNow))
  const bigReport = parseReport(bigs[0].report)
  expect([...bigReport.keys()]).toEqual([`/${FILES}/photos/big.jpg`])
  expect(bigReport.get(`/${FILES}/photos/big.jpg`)).toMatchObject({ size: BIG, mtime: T1, hash: sha(bigNow) })

  // manage.json indexes the tar and the big file.
  const manage = JSON.parse(files[files.length - 1].data.toString('utf8'))
  expect(manage.map((m) => m.fileName).sort()).toEqual([tars[0].uri, bigs[0].uri].sort())
  const bigEntry = manage.find((m) => m.fileName === bigs[0].uri)
  expect(bigEntry.isBigFile).toBe(true)
  expect(bigEntry.information.path).toBe(`/${FILES}/photos/big.jpg`)

  // Its report is the full listing: every file now in scope with its current hash, n3 gone.
  const listing = parseReport(files[files.length - 1].report)
  const now = [...snapshotTree(sandboxOf(root, APP))].filter(([, v]) => v.type === 'file')
  expect([...listing.keys()].filter((p) => !listing.get(p).dir).sort()).toEqual(now.map(([k]) => `/${k}`).sort())
  expect(listing.has(`/${FILES}/notes/n3.txt`)).toBe(false)
  for (const [k] of now) expect(listing.get(`/${k}`).hash).toBe(sha(fs.readFileSync(abs(k))))
  // n6 was touched with identical bytes: same hash as in the baseline, so it did not travel.
  expect(listing.get(`/${FILES}/notes/n6.txt`).hash).toBe(baseListing.get(`/${FILES}/notes/n6.txt`).hash)
})

test('a file with the baseline size and mtime is trusted unchanged: never read, never sent, baseline hash kept', async () => {
  const base = await baseline()
  const baseListing = parseReport(fs.readFileSync(base.listing, 'utf8'))
  const rel = `${FILES}/notes/n5.txt`
  const before = fs.readFileSync(abs(rel))
  const after = Buffer.from(before.toString('utf8').replace(/x/g, 'y'))
  expect(after.length).toBe(before.length)
  expect(sha(after)).not.toBe(sha(before))
  put(rel, after, T0) // different bytes, same size, mtime put back to the baseline's
  put(`${FILES}/notes/n7.txt`, 'a real change\n', T1) // so that something travels

  // lastIncrementalTime 0: every file is a candidate, only the baseline decides.
  const r = await incrementalBackupToDir({ bundles: [{ bundleName: APP, lastIncrementalTime: 0, baseline: base.listing }], outDir: path.join(work, 'inc') })
  const inc = r.bundles[APP]
  expect(inc.error).toBeNull()
  const tars = inc.files.filter((u) => u.endsWith('.tar'))
  expect(inc.files).toEqual([...tars, 'manage.json'])
  expect(tars).toHaveLength(1)
  expect(tarList(path.join(work, 'inc', APP, tars[0]))).toEqual([`/${FILES}/notes/n7.txt`])
  const listing = parseReport(fs.readFileSync(inc.listing, 'utf8'))
  // Had the engine read n5, its listing would carry sha(after) and n5 would have travelled.
  expect(listing.get(`/${rel}`).hash).toBe(baseListing.get(`/${rel}`).hash)
  expect(listing.get(`/${rel}`).hash).toBe(sha(before))
  expect(listing.get(`/${rel}`).hash).not.toBe(sha(after))
})

test('with nothing changed only manage.json travels, with an empty index and the same listing', async () => {
  const base = await baseline()
  for (const last of [0, LAST]) {
    const r = await incrementalBackupToDir({ bundles: [{ bundleName: APP, lastIncrementalTime: last, baseline: base.listing }], outDir: path.join(work, `none-${last}`) })
    const s = r.bundles[APP]
    expect(s.error).toBeNull()
    expect(s.files).toEqual(['manage.json'])
    expect(JSON.parse(fs.readFileSync(path.join(work, `none-${last}`, APP, 'manage.json'), 'utf8'))).toEqual([])
    expect(fs.readFileSync(s.listing, 'utf8')).toBe(fs.readFileSync(base.listing, 'utf8'))
  }
})

test('manifestFd -1, an absent manifestFd and an empty manifest all mean no baseline: every file in scope travels', async () => {
  const empty = path.join(work, 'empty.rp')
  fs.writeFileSync(empty, '')
  const emptyFd = fs.openSync(empty, 'r')
  const scope = [...snapshotTree(sandboxOf(root, APP))].filter(([, v]) => v.type === 'file').map(([k]) => `/${k}`)
  try {
    for (const extra of [{ manifestFd: -1 }, {}, { manifestFd: emptyFd }]) {
      const events = await runRaw([{ bundleName: APP, lastIncrementalTime: 0, ...extra }])
      expect(events.filter((e) => e.code)).toEqual([])
      const files = events.filter((e) => e.name === 'onFileReady')
      const travelled = []
      for (const f of files) {
        if (f.uri === 'manage.json') continue
        for (const [p, e] of parseReport(f.report)) if (!e.dir) travelled.push(p)
      }
      expect(travelled.sort()).toEqual(scope.sort())
    }
    // The caller's fd was read, not taken: still open (DESIGN.md §5.9).
    expect(fs.fstatSync(emptyFd).isFile()).toBe(true)
  } finally {
    fs.closeSync(emptyFd)
  }
})

test('only files newer than lastIncrementalTime are candidates, even without a baseline', async () => {
  put(`${FILES}/notes/n8.txt`, 'newer than the time\n', T1)
  const events = await runRaw([{ bundleName: APP, lastIncrementalTime: LAST, manifestFd: -1 }])
  const tars = events.filter((e) => e.name === 'onFileReady' && e.uri.endsWith('.tar'))
  expect(tars).toHaveLength(1)
  const tarFile = path.join(work, 'only.tar')
  fs.writeFileSync(tarFile, tars[0].data)
  // Of the files, only n8 (directories made at install time are newer too, and new to a run
  // without a baseline, so they travel as entries).
  expect(tarList(tarFile).filter((p) => !p.endsWith('/'))).toEqual([`/${FILES}/notes/n8.txt`])
  expect(events.filter((e) => e.name === 'onFileReady').map((e) => e.uri)).toEqual([tars[0].uri, 'manage.json'])
})
