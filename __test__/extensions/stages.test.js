'use strict'
// cancel() and release() at every stage of a bundle (issue 4, ohos-behaviour.md §1.1): waiting
// (13500011, nothing happens), running (0, then onBundleEnd without error), a restore bundle
// receiving files or published and running its app's onRestore (release lets a published one
// finish), in all session kinds. Whatever ends leaves no extension process and no temp data.

const fs = require('fs')
const os = require('os')
const path = require('path')
const backup = require('backup')
const { sandboxOf } = require('backup/device')
const { backupToDir } = require('backup/client')
const { FILES, installApp, extRecord, leftoverChildren, alive, sleep, recordSession, backupApps, startRestore, useFreshDevice, until, workAreaLeft } = require('./support.js')

jest.setTimeout(40000)

const dev = useFreshDevice()

test('backup: cancel of a waiting bundle (13500011) and a running one (0, ends clean); release stops the rest', async () => {
  const names = ['com.example.hangsone', 'com.example.hangstwo', 'com.example.hangsthree', 'com.example.hangsfour']
  for (const n of names) installApp(dev.root, n, 'hangs-app')
  const [one, two, three, four] = names
  const s = recordSession('backup')
  await s.session.appendBundles(names)
  // Three run at once; each app's onBackup has started (and never ends).
  await until(() => [one, two, three].every((n) => extRecord(dev.root, n, 'onBackup')))
  expect(s.kinds(four)).toEqual([])

  expect(s.session.cancel(four)).toBe(13500011) // waiting: nothing happens to it
  expect(s.session.cancel(one)).toBe(0)
  await until(() => s.kinds(one).includes('end'))
  expect(s.of(one).map((e) => [e.ev, e.err])).toEqual([
    ['begin', undefined],
    ['end', undefined],
  ])
  expect(alive(extRecord(dev.root, one, 'onBackup').pid)).toBe(false)
  expect(workAreaLeft(dev.root, one)).toEqual([])
  // Its slot went to the waiting bundle, which the earlier cancel did not touch.
  // Its onBundleBegin too: events still in flight when release() is called never arrive.
  await until(() => extRecord(dev.root, four, 'onBackup') && s.kinds(four).includes('begin'))

  await s.session.release()
  const seen = s.events.length
  await sleep(300)
  expect(s.events.length).toBe(seen) // no event after release
  expect(s.count('all')).toBe(0)
  for (const n of [two, three, four]) {
    expect(s.kinds(n)).toEqual(['begin'])
    expect(alive(extRecord(dev.root, n, 'onBackup').pid)).toBe(false)
    expect(workAreaLeft(dev.root, n)).toEqual([])
  }
  expect(leftoverChildren()).toEqual([])
})

test('restore: cancel while receiving files, after publishing (the app\'s onRestore is cut short) and while waiting', async () => {
  const receiving = 'com.example.receiving'
  const published = 'com.example.published'
  const busy = 'com.example.busyapp'
  const waiting = 'com.example.waitingapp'
  const names = [receiving, published, busy, waiting]
  for (const n of names) installApp(dev.root, n, null)
  const b = await backupApps('backup', names)
  installApp(dev.root, receiving, 'result-app', { files: {} })
  installApp(dev.root, published, 'hangs-app', { files: {} })
  installApp(dev.root, busy, 'hangs-app', { files: {} })
  installApp(dev.root, waiting, 'result-app', { files: {} })

  // Only `published` publishes; the others keep their files unpublished.
  const s = await startRestore(b.received, names, { publish: false })
  const count = (n) => s.of(n).filter((e) => e.ev === 'file').length
  await until(() => [receiving, published, busy].every((n) => count(n) === b.received.get(n).size))
  await s.session.publishFile({ bundleName: published, uri: '' })
  await until(() => extRecord(dev.root, published, 'onRestore'))
  expect(s.kinds(waiting)).toEqual([])

  expect(s.session.cancel(waiting)).toBe(13500011)
  expect(s.session.cancel(receiving)).toBe(0)
  expect(s.session.cancel(published)).toBe(0)
  await until(() => s.kinds(receiving).includes('end') && s.kinds(published).includes('end'))
  for (const n of [receiving, published]) {
    const mine = s.of(n).filter((e) => e.ev !== 'file')
    expect(mine.map((e) => [e.ev, e.err])).toEqual([
      ['begin', undefined],
      ['end', undefined],
    ])
    expect(workAreaLeft(dev.root, n)).toEqual([])
  }
  expect(alive(extRecord(dev.root, published, 'onRestore').pid)).toBe(false)

  await s.session.release()
  expect(workAreaLeft(dev.root, busy)).toEqual([])
  expect(leftoverChildren()).toEqual([])
})

test('a restore bundle that published finishes its unpack after release(), with no event after it; one still receiving files is dropped', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'ext-stages-'))
  try {
    installApp(dev.root, 'com.example.published', 'ok', { files: { [`${FILES}/p.txt`]: 'published data' } })
    installApp(dev.root, 'com.example.receiving', 'ok', { files: { [`${FILES}/r.txt`]: 'never published' } })
    await backupToDir({ bundles: ['com.example.published', 'com.example.receiving'], outDir: out })
    for (const b of ['com.example.published', 'com.example.receiving']) fs.rmSync(path.join(sandboxOf(dev.root, b), 'data'), { recursive: true })
    const events = []
    let session
    const written = new Set()
    // Resolves once release() has: nothing reaches the callbacks after it (DESIGN.md §5.13).
    await new Promise((resolve) => {
      session = new backup.SessionRestore({
        onFileReady: (err, file) => {
          const src = path.join(out, file.bundleName, file.uri)
          fs.writeSync(file.fd, fs.readFileSync(src))
          fs.closeSync(file.fd)
          fs.closeSync(file.manifestFd)
          if (file.bundleName !== 'com.example.published') return
          written.add(file.uri)
          if (written.size === fs.readdirSync(path.join(out, file.bundleName)).length) {
            session.publishFile({ bundleName: file.bundleName, uri: '' }).then(() => {
              events.push(['release'])
              session.release().then(resolve)
            })
          }
        },
        onBundleBegin: (err, name) => events.push(['begin', name]),
        onBundleEnd: (err, name) => events.push(['end', err ? err.code : name]),
        onAllBundlesEnd: () => events.push(['all']),
        onBackupServiceDied: () => {},
      })
      backup.getLocalCapabilities().then(async ({ fd }) => {
        await session.appendBundles(fd, ['com.example.published', 'com.example.receiving'])
        fs.closeSync(fd)
        for (const b of ['com.example.published', 'com.example.receiving']) {
          for (const uri of fs.readdirSync(path.join(out, b))) await session.getFileHandle({ bundleName: b, uri })
        }
      })
    })
    // The published bundle is restored all the same, and its work area goes.
    const restored = path.join(sandboxOf(dev.root, 'com.example.published'), FILES, 'p.txt')
    const workArea = path.join(sandboxOf(dev.root, 'com.example.published'), 'data/storage/el2/base/.backup')
    await until(() => fs.existsSync(restored) && !fs.existsSync(workArea))
    expect(fs.readFileSync(restored, 'utf8')).toBe('published data')
    await sleep(200)
    expect(events.slice(events.findIndex((e) => e[0] === 'release'))).toEqual([['release']])
    expect(fs.existsSync(path.join(sandboxOf(dev.root, 'com.example.receiving'), FILES, 'r.txt'))).toBe(false)
    for (const b of ['com.example.published', 'com.example.receiving']) {
      expect(fs.existsSync(path.join(sandboxOf(dev.root, b), 'data/storage/el2/base/.backup'))).toBe(false)
    }
    expect(leftoverChildren()).toEqual([])
  } finally {
    fs.rmSync(out, { recursive: true, force: true })
  }
})

test('an incremental session cancels like the others: 13500011 waiting, 13500012 unknown, 0 running', async () => {
  const names = ['com.example.inca', 'com.example.incb', 'com.example.incc', 'com.example.incd']
  for (const n of names) installApp(dev.root, n, 'hangs-app')
  const codes = {}
  const ends = []
  await new Promise((resolve) => {
    let begun = 0
    const session = new backup.IncrementalBackupSession({
      onFileReady: () => {},
      onBundleBegin: (err, name) => {
        // The fourth starts once a slot frees: it is running now, so cancel gives 0.
        if (name === 'com.example.incd') codes.fourth = session.cancel(name)
        if (++begun !== 3) return
        codes.waiting = session.cancel('com.example.incd')
        codes.unknown = session.cancel('com.example.nothere')
        for (const n of names.slice(0, 3)) codes[n] = session.cancel(n)
      },
      onBundleEnd: (err, name) => ends.push([name, err && err.code]),
      onAllBundlesEnd: () => session.release().then(resolve),
      onBackupServiceDied: () => {},
    })
    session.appendBundles(names.map((bundleName) => ({ bundleName, lastIncrementalTime: 0, manifestFd: -1 })))
  })
  expect(codes.waiting).toBe(13500011)
  expect(codes.unknown).toBe(13500012)
  for (const n of names.slice(0, 3)) expect(codes[n]).toBe(0)
  expect(codes.fourth).toBe(0)
  expect(ends.map(([n]) => n).sort()).toEqual(names)
  expect(ends.every(([, code]) => code === undefined)).toBe(true)
  expect(leftoverChildren()).toEqual([])
})
