'use strict'
// Real app projects (issue 9): fixture projects in DevEco Studio's layout are installed with
// installProject and backed up and restored by the real service; their ArkTS/TypeScript
// extensions run unchanged. Each test checks the app's own log lines, the result reports, the
// bundle version handed to onRestore and the data.

const fs = require('fs')
const path = require('path')
const device = require('backup/device')
const { CLIENTS, useWorkDir, copyProject, cli, appLog } = require('./support.js')

jest.setTimeout(120000)

const work = useWorkDir()
const FILES = 'data/storage/el2/base/files'
const CLIENT = path.join(CLIENTS, 'notes-client.ets')

function setup(projectName) {
  const root = device.createDevice(path.join(work.dir, 'device'))
  const project = copyProject(projectName, work.dir)
  const cache = path.join(work.dir, 'transpiled')
  const out = path.join(work.dir, 'out')
  return { root, project, cache, out }
}

/**
 * `ohos-backup <verb> <dir> <name> --json` with the test's transpile cache (`dir`: the test's
 * out folder unless given); it must succeed for the bundle. Gives the CLI's result.
 */
function cliBundle({ root, cache, out }, verb, name, dir = out) {
  const r = cli(['--root', root, verb, dir, name, '--json'], { cache })
  expect(r.status).toBe(0)
  expect(r.json.bundles[name].error).toBeNull()
  return r
}

/** The app's data of a sandbox (el1 and el2, without the service's work area and temp). */
const dataOf = (root, name) =>
  device.snapshotTree(path.join(device.sandboxOf(root, name), 'data/storage'), { exclude: ['el2/base/.backup', 'el2/base/temp'] })

test('the DevEco Studio template: its .ets extension logs through hilog; onRestore gets the version that was backed up', async () => {
  const { root, project, cache } = setup('template')
  const name = device.installProject(root, project)
  expect(name).toBe('com.example.myapplication')
  const info = device.bundleInfo(root, name)
  expect([info.versionCode, info.versionName]).toEqual([1000000, '1.0.0'])
  expect(info.config).toEqual({ allowToBackupRestore: true })
  expect(info.extension.name).toBe('EntryBackupAbility')
  device.writeFiles(root, name, { [`${FILES}/notes/today.txt`]: 'buy milk\n', 'data/storage/el2/database/rdb/notes.db': { size: 8192, seed: 7 } })
  const before = dataOf(root, name)

  // A client module in ArkTS backs it up into its own files dir...
  const b = cli(['run', '--root', root, CLIENT, 'backupInto', name], { cache })
  expect(b.stderr).not.toMatch(/ohos-backup:/)
  expect(b.status).toBe(0)
  expect(JSON.parse(b.stdout)).toEqual({ [name]: ['part.0.tar', 'manage.json'] })
  expect(appLog(b.stderr, name)).toEqual(['I A00000/testTag: onBackup ok'])

  // ... the app is updated (a new version of the project is installed) and its data lost ...
  const appJson = path.join(project, 'AppScope/app.json5')
  fs.writeFileSync(appJson, fs.readFileSync(appJson, 'utf8').replace('1000000', '1000001').replace('"1.0.0"', '"1.0.1"'))
  expect(device.installProject(root, project)).toBe(name)
  expect(device.bundleInfo(root, name).versionCode).toBe(1000001)
  device.wipeApp(root, name)

  // ... and the restore hands the app the version of the backup.
  const r = cli(['run', '--root', root, CLIENT, 'restoreFrom', name], { cache })
  expect(r.status).toBe(0)
  expect(JSON.parse(r.stdout)).toEqual({ [name]: 2 })
  expect(appLog(r.stderr, name)).toEqual(['I A00000/testTag: onRestore ok {"code":1000000,"name":"1.0.0"}'])
  expect(device.diffSnapshots(before, dataOf(root, name))).toEqual([])
})

test('an .ets extension importing @ohos.application.BackupExtensionAbility and a relative Logger module using @ohos.hilog', async () => {
  const ctx = setup('logger-app')
  const { root, project } = ctx
  const name = device.installProject(root, project)
  expect(name).toBe('com.example.loggerapp')
  expect(device.bundleInfo(root, name).config).toEqual({ allowToBackupRestore: true, includes: [`${FILES}/`] })
  device.writeFiles(root, name, { [`${FILES}/notes.txt`]: 'three notes\n', [`${FILES}/img/a.png`]: { size: 3000 } })
  const before = dataOf(root, name)

  const b = cliBundle(ctx, 'backup', name)
  // A plain onBackup: no result report.
  expect(b.json.bundles[name].result).toBeUndefined()
  expect(appLog(b.stderr, name)).toEqual([
    'I A0F00D/NotesBackup: onBackup: packing notes.txt',
    // %{private}s and a plain %s (private by default) are hidden, as on a device; %{public}d is printed.
    'W A0F00D/NotesBackup: token <private>, user <private>, 3 notes',
  ])

  device.wipeApp(root, name)
  const r = cliBundle(ctx, 'restore', name)
  expect(appLog(r.stderr, name)).toEqual(['I A0F00D/NotesBackup: onRestore: from version 2.0.3 (2000003)', 'D A0F00D/NotesBackup: restored notes.txt'])
  expect(device.diffSnapshots(before, dataOf(root, name))).toEqual([])
})

test('an older .ts project (srcEntrance) whose extension is a plain class runs as on a device', async () => {
  const ctx = setup('legacy-ts')
  const { root, project } = ctx
  const name = device.installProject(root, project)
  expect(name).toBe('com.example.legacyapp')
  expect(device.bundleInfo(root, name).extension.srcEntry).toBe(path.join(project, 'entry/src/main/ets/ServiceExtAbility/BackupExtension.ts'))
  device.writeFiles(root, name, { [`${FILES}/legacy.txt`]: 'from API 9' })
  const before = dataOf(root, name)

  const b = cliBundle(ctx, 'backup', name)
  expect(appLog(b.stderr, name)).toEqual(['I A00001/LegacyBackup: onBackup, legacy.txt has 10 bytes'])

  device.wipeApp(root, name)
  const r = cliBundle(ctx, 'restore', name)
  expect(appLog(r.stderr, name)).toEqual(['I A00001/LegacyBackup: onRestore {"code":1,"name":"1.0.0"}', 'I A00001/LegacyBackup: restored text: from API 9'])
  expect(device.diffSnapshots(before, dataOf(root, name))).toEqual([])
})

test('fileIo with sandbox paths, context.area, onBackupEx/onRestoreEx results and onRelease', async () => {
  const ctx = setup('fileio-app')
  const { root, project, out } = ctx
  const name = device.installProject(root, project)
  expect(name).toBe('com.example.fileioapp')
  device.writeFiles(root, name, {
    [`${FILES}/notes/a.txt`]: 'first note',
    [`${FILES}/notes/b.txt`]: 'second note',
    [`${FILES}/notes/skip.md`]: 'not a note',
    [`${FILES}/cache-1.bin`]: 'excluded by the profile',
    'data/storage/el1/base/files/device.key': 'K3Y',
  })
  const sandbox = device.sandboxOf(root, name)
  const released = path.join(sandbox, 'data/storage/el2/base/temp/released.log')

  const b = cliBundle(ctx, 'backup', name)
  const backedUp = b.json.bundles[name]
  expect(JSON.parse(backedUp.result)).toEqual({
    resultInfo: [
      { type: 'ErrorInfo', errorCode: 0, errorInfo: '' },
      { type: 'CountInfo', infos: [{ backupInfo: 'notes', successCount: 2, failedCount: 0, details: [] }] },
    ],
  })
  const exported = JSON.stringify({ notes: { 'a.txt': 'first note', 'b.txt': 'second note' }, deviceKey: 'K3Y' })
  expect(appLog(b.stderr, name)).toEqual([
    `I A03300/DataBackup: onBackupEx: 2 notes, ${Buffer.byteLength(exported)} bytes to notes.json`,
    'I A03300/DataBackup: onRelease(1): export removed',
  ])
  // The export travelled (written through a sandbox path), el1 too (found through context.area);
  // onRelease(1) then removed the export from the app.
  const listed = require('child_process').execFileSync('tar', ['-tf', path.join(out, name, 'part.0.tar')], { encoding: 'utf8' }).split('\n')
  expect(listed).toEqual(expect.arrayContaining([`/${FILES}/export/notes.json`, '/data/storage/el1/base/files/device.key', `/${FILES}/notes/a.txt`]))
  expect(listed).not.toContain(`/${FILES}/cache-1.bin`)
  expect(fs.existsSync(path.join(sandbox, FILES, 'export'))).toBe(false)
  expect(fs.readFileSync(released, 'utf8')).toBe('onRelease 1\n')

  device.wipeApp(root, name)
  const r = cliBundle(ctx, 'restore', name)
  const restored = r.json.bundles[name]
  expect(JSON.parse(restored.result).resultInfo[1]).toEqual({ type: 'CountInfo', infos: [{ restoreInfo: 'notes', successCount: 2, failedCount: 0, details: [] }] })
  expect(appLog(r.stderr, name)).toEqual(['I A03300/DataBackup: onRestoreEx from 3.0.1 (30001)', 'I A03300/DataBackup: onRelease(2): export removed'])
  // The app put every exported note in place and copied the key fd to fd inside el1.
  const read = (rel) => fs.readFileSync(path.join(sandbox, rel), 'utf8')
  expect(read(`${FILES}/notes/a.txt`)).toBe('first note')
  expect(read(`${FILES}/imported/a.txt`)).toBe('first note')
  expect(read(`${FILES}/imported/b.txt`)).toBe('second note')
  expect(fs.existsSync(path.join(sandbox, FILES, 'imported/skip.md'))).toBe(false)
  expect(read('data/storage/el1/base/files/device.key.imported')).toBe('K3Y')
  expect(fs.existsSync(path.join(sandbox, FILES, 'export'))).toBe(false)
  expect(fs.existsSync(path.join(sandbox, FILES, 'cache-1.bin'))).toBe(false)
  expect(fs.readFileSync(released, 'utf8')).toBe('onRelease 2\n')
})

test('sources are transpiled once per content: a later session reads the cache; an edit is seen by the next session', async () => {
  const ctx = setup('template')
  const { root, project, cache, out } = ctx
  const name = device.installProject(root, project)
  const backupOnce = (dir) => appLog(cliBundle(ctx, 'backup', name, path.join(out, dir)).stderr, name)
  expect(backupOnce('1')).toEqual(['I A00000/testTag: onBackup ok'])
  const entries = fs.readdirSync(cache, { recursive: true }).filter((f) => f.endsWith('.js'))
  expect(entries).toHaveLength(1) // the extension's one source (the kit's modules are plain JS)
  // The next session runs what the cache holds, without transpiling again: a marked entry shows it.
  const entry = path.join(cache, entries[0])
  fs.writeFileSync(entry, fs.readFileSync(entry, 'utf8').replace("'onBackup ok'", "'onBackup ok (from the cache)'"))
  expect(backupOnce('2')).toEqual(['I A00000/testTag: onBackup ok (from the cache)'])

  const src = path.join(project, 'entry/src/main/ets/entrybackupability/EntryBackupAbility.ets')
  fs.writeFileSync(src, fs.readFileSync(src, 'utf8').replace("'onBackup ok'", "'onBackup edited'"))
  expect(backupOnce('3')).toEqual(['I A00000/testTag: onBackup edited'])
  expect(fs.readdirSync(cache, { recursive: true }).filter((f) => f.endsWith('.js'))).toHaveLength(2)
})
