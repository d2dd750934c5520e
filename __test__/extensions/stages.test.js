'use strict'
// cancel() and release() at every stage of a bundle (issue 4, ohos-behaviour.md §1.1): waiting
// (13500011, nothing happens), running (0, then onBundleEnd without error), a restore bundle
// receiving files or published and running its app's onRestore. Whatever ends leaves no
// extension process and no temp data behind.

const { installApp, extRecord, leftoverChildren, alive, sleep, recordSession, backupApps, startRestore, useFreshDevice, until, workAreaLeft } = require('./support.js')

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
