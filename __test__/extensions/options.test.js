'use strict'
// Restore and backup options with an app extension (issue 4): app_mapping_relation,
// isBroadcastOnly, fullBackupOnly (the app moves its data out of backupDir), restoreDeps order,
// clearBackupData "false", and the backupScene that picks an optionDir include set.

const fs = require('fs')
const os = require('os')
const path = require('path')
const backup = require('backup')
const { sandboxOf } = require('backup/device')
const { backupToDir, restoreFromDir } = require('backup/client')
const { FILES, installApp, leftoverChildren, useFreshDevice } = require('./support.js')
const { sleep } = require('../support/wait.js')

jest.setTimeout(60000)

const dev = useFreshDevice()
const install = (name, fixture, files = { [`${FILES}/note.txt`]: `data of ${name}` }, config) => installApp(dev.root, name, fixture, { files, config })

describe('restore with an extension', () => {
  let out
  beforeEach(() => {
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'ext-restore-'))
  })
  afterEach(() => fs.rmSync(out, { recursive: true, force: true }))

  const readInfo = (name) => JSON.parse(fs.readFileSync(path.join(sandboxOf(dev.root, name), 'data/storage/el2/base/temp/restoreInfo.json'), 'utf8'))

  test('app_mapping_relation restores a backup of the source app into the installed target', async () => {
    install('com.example.oldapp', 'ok', { [`${FILES}/old.txt`]: 'from the old app' })
    await backupToDir({ bundles: ['com.example.oldapp'], outDir: out })
    install('com.example.newapp', 'ok', {})
    const mapping = { infos: [{ type: 'broadcast', details: [{ type: 'app_mapping_relation', detail: [{ source: 'com.example.oldapp', target: 'com.example.newapp' }] }] }] }
    fs.rmSync(path.join(sandboxOf(dev.root, 'com.example.oldapp'), 'data'), { recursive: true })
    const r = await restoreFromDir({ inDir: out, bundles: ['com.example.oldapp'], infos: [JSON.stringify(mapping)] })
    expect(r.bundles['com.example.oldapp'].error).toBeNull()
    expect(fs.readFileSync(path.join(sandboxOf(dev.root, 'com.example.newapp'), FILES, 'old.txt'), 'utf8')).toBe('from the old app')
    expect(fs.existsSync(path.join(sandboxOf(dev.root, 'com.example.oldapp'), FILES, 'old.txt'))).toBe(false)
  })

  test('isBroadcastOnly: the bundle is only announced, not restored; a call with nothing else starts nothing', async () => {
    const A = 'com.example.announced'
    const B = 'com.example.restored'
    install(A, 'ok', { [`${FILES}/a.txt`]: 'a' })
    install(B, 'ok', { [`${FILES}/b.txt`]: 'b' })
    await backupToDir({ bundles: [A, B], outDir: out })
    for (const n of [A, B]) fs.rmSync(path.join(sandboxOf(dev.root, n), 'data'), { recursive: true })
    const only = JSON.stringify({ infos: [{ type: 'broadcast', isBroadcastOnly: true, details: [{ type: 'app_mapping_relation', detail: [{ source: A, target: A }] }] }] })

    // Only the broadcast-only bundle: no event at all, and it is not in the session.
    const events = []
    const session = new backup.SessionRestore({
      onFileReady: (err, f) => events.push(['file', err && err.code]) && f && fs.closeSync(f.fd),
      onBundleBegin: (err, n) => events.push(['begin', err ? err.data : n]),
      onBundleEnd: (err, n) => events.push(['end', err ? err.data : n]),
      onAllBundlesEnd: () => events.push(['all']),
      onBackupServiceDied: () => {},
    })
    const cap = await backup.getLocalCapabilities()
    try {
      await session.appendBundles(cap.fd, [A], [only])
    } finally {
      fs.closeSync(cap.fd)
    }
    await sleep(300)
    expect(events).toEqual([])
    await expect(session.getFileHandle({ bundleName: A, uri: 'manage.json' })).rejects.toMatchObject({ code: 13900020 })
    await session.release()

    // Beside a normal bundle: that one restores; the announced one is left alone.
    const r = await restoreFromDir({ inDir: out, bundles: [A, B], infos: [only, '{}'] })
    expect(r.bundles[B].error).toBeNull()
    expect(fs.readFileSync(path.join(sandboxOf(dev.root, B), FILES, 'b.txt'), 'utf8')).toBe('b')
    expect(r.bundles[A].error).toMatchObject({ code: 13900020 })
    expect(fs.existsSync(path.join(sandboxOf(dev.root, A), FILES, 'a.txt'))).toBe(false)
    expect(leftoverChildren()).toEqual([])
  })

  test('fullBackupOnly leaves the data in .backup/restore for the app, which moves it', async () => {
    const config = { allowToBackupRestore: true, fullBackupOnly: true }
    install('com.example.fullonly', 'ok', { [`${FILES}/x.txt`]: 'moved by the app' }, config)
    await backupToDir({ bundles: ['com.example.fullonly'], outDir: out })
    fs.rmSync(path.join(sandboxOf(dev.root, 'com.example.fullonly'), 'data'), { recursive: true })
    const r = await restoreFromDir({ inDir: out, bundles: ['com.example.fullonly'] })
    expect(r.bundles['com.example.fullonly'].error).toBeNull()
    expect(readInfo('com.example.fullonly').moved).toEqual(['x.txt'])
    expect(fs.readFileSync(path.join(sandboxOf(dev.root, 'com.example.fullonly'), FILES, 'x.txt'), 'utf8')).toBe('moved by the app')
  })

  test('restoreDeps: a bundle restores after the bundle it depends on', async () => {
    install('com.example.first', 'ok')
    install('com.example.second', 'ok', undefined, { allowToBackupRestore: true, restoreDeps: 'com.example.first' })
    await backupToDir({ bundles: ['com.example.first', 'com.example.second'], outDir: out })
    const r = await restoreFromDir({ inDir: out, bundles: ['com.example.second', 'com.example.first'] })
    expect(r.bundles['com.example.second'].error).toBeNull()
    expect(readInfo('com.example.first').at).toBeLessThan(readInfo('com.example.second').at)
  })

  test('clearBackupData "false" keeps the work area', async () => {
    install('com.example.keepapp', 'ok')
    await backupToDir({ bundles: ['com.example.keepapp'], outDir: out })
    const r = await restoreFromDir({ inDir: out, bundles: ['com.example.keepapp'], infos: [JSON.stringify({ clearBackupData: 'false' })] })
    expect(r.bundles['com.example.keepapp'].error).toBeNull()
    expect(fs.existsSync(path.join(sandboxOf(dev.root, 'com.example.keepapp'), 'data/storage/el2/base/.backup/restore/manage.json'))).toBe(true)
  })
})

test('backupScene in infos picks the optionDir include set of the app profile', async () => {
  const config = {
    allowToBackupRestore: true,
    includes: [`${FILES}/`],
    optionDir: [{ sceneId: 'cloud', includes: [`${FILES}/cloud/`], excludes: [] }],
  }
  install('com.example.sceneapp', null, { [`${FILES}/local.txt`]: 'local only', [`${FILES}/cloud/synced.txt`]: 'for the cloud' }, config)
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'scene-'))
  const list = (dir) =>
    require('child_process')
      .execFileSync('tar', ['-tf', path.join(dir, 'com.example.sceneapp', 'part.0.tar')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n')
      .filter((l) => l.endsWith('.txt'))
  try {
    await backupToDir({ bundles: ['com.example.sceneapp'], outDir: path.join(out, 'cloud'), infos: [JSON.stringify({ backupScene: 'cloud' })] })
    await backupToDir({ bundles: ['com.example.sceneapp'], outDir: path.join(out, 'all') })
    expect(list(path.join(out, 'cloud'))).toEqual([`/${FILES}/cloud/synced.txt`])
    expect(list(path.join(out, 'all')).sort()).toEqual([`/${FILES}/cloud/synced.txt`, `/${FILES}/local.txt`])
  } finally {
    fs.rmSync(out, { recursive: true, force: true })
  }
})
