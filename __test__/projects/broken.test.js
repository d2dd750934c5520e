'use strict'
// Broken app projects (issue 9): a missing or broken file is an Error naming the file and the
// problem, and nothing is installed (an installed earlier version stays as it was); an
// extension source that does not parse ends its bundle with 13500002 at session time, naming
// the file, line and the parser's words, while the other bundles of the session go on.

const fs = require('fs')
const path = require('path')
const device = require('backup/device')
const { useWorkDir, copyProject, cli } = require('./support.js')

jest.setTimeout(120000)

const work = useWorkDir()
const NAME = 'com.example.myapplication'
const ENTRY = 'entry/src/main/ets/entrybackupability/EntryBackupAbility.ets'

function setup() {
  return { root: device.createDevice(path.join(work.dir, 'device')), project: copyProject('template', work.dir) }
}

const edit = (file, from, to) => {
  const text = fs.readFileSync(file, 'utf8')
  expect(text).toContain(from)
  fs.writeFileSync(file, text.replace(from, to))
}

/** installProject's error (it must throw), after checking that nothing was installed. */
function installError(root, project) {
  let err
  try {
    device.installProject(root, project)
  } catch (e) {
    err = e
  }
  expect(err).toBeInstanceOf(Error)
  expect(device.listBundles(root)).toEqual([])
  expect(fs.existsSync(path.join(root, 'bundles', NAME))).toBe(false)
  return err
}

test('no AppScope/app.json5', () => {
  const { root, project } = setup()
  fs.rmSync(path.join(project, 'AppScope/app.json5'))
  const err = installError(root, project)
  expect(err.message).toBe(`${path.join(project, 'AppScope/app.json5')}: missing (every project has AppScope/app.json5)`)
})

test('bad JSON5 in module.json5: the file, line and column', () => {
  const { root, project } = setup()
  const file = path.join(project, 'entry/src/main/module.json5')
  edit(file, '"type": "backup",', '"type": "backup"')
  const err = installError(root, project)
  expect(err.message).toMatch(new RegExp(`^${file.replace(/[.]/g, '\\.')}: not valid JSON5: line 42, column 9: invalid character`))
})

test('bad JSON5 in app.json5, and an app.json5 without a valid bundle name', () => {
  const { root, project } = setup()
  const file = path.join(project, 'AppScope/app.json5')
  const good = fs.readFileSync(file, 'utf8')
  fs.writeFileSync(file, good.replace('"app": {', '"app": {{'))
  expect(installError(root, project).message).toMatch(/app\.json5: not valid JSON5: line 2, column 11: invalid character '\{'/)
  fs.writeFileSync(file, good.replace('com.example.myapplication', 'my app'))
  expect(installError(root, project).message).toMatch(/app\.json5: invalid bundle name "my app"/)
  fs.writeFileSync(file, good.replace('"versionCode": 1000000', '"versionCode": "1"'))
  expect(installError(root, project).message).toBe(`${file}: app.versionCode must be a non-negative integer`)
})

test('a srcEntry that does not exist, and a profile that does not exist', () => {
  const { root, project } = setup()
  const moduleJson = path.join(project, 'entry/src/main/module.json5')
  fs.renameSync(path.join(project, ENTRY), path.join(project, ENTRY.replace('.ets', '.old')))
  expect(installError(root, project).message).toBe(
    `${moduleJson}: srcEntry "./ets/entrybackupability/EntryBackupAbility.ets" of "EntryBackupAbility" does not exist (looked for ${path.join(project, ENTRY)})`,
  )
  fs.renameSync(path.join(project, ENTRY.replace('.ets', '.old')), path.join(project, ENTRY))
  fs.rmSync(path.join(project, 'entry/src/main/resources/base/profile/backup_config.json'))
  expect(installError(root, project).message).toMatch(/profile\/backup_config\.json: missing \(the backup profile \$profile:backup_config\)$/)
})

test('a broken reinstall leaves the installed version as it was; the CLI says what is wrong and exits 1', () => {
  const { root, project } = setup()
  expect(device.installProject(root, project)).toBe(NAME)
  const before = fs.readFileSync(path.join(root, 'bundles', NAME, 'bundle.json'), 'utf8')
  const file = path.join(project, 'AppScope/app.json5')
  edit(file, '"versionCode": 1000000,', '"versionCode": 1000001,,')
  expect(() => device.installProject(root, project)).toThrow(/app\.json5: not valid JSON5/)
  const r = cli(['--root', root, 'install', '--project', project])
  expect(r.status).toBe(1)
  expect(r.stderr).toMatch(new RegExp(`^ohos-backup: ${file.replace(/[.]/g, '\\.')}: not valid JSON5: line 5, column 28: invalid character ','`))
  expect(fs.readFileSync(path.join(root, 'bundles', NAME, 'bundle.json'), 'utf8')).toBe(before)
  expect(device.listBundles(root)).toEqual([NAME])
})

test('an .ets that does not parse: 13500002 naming the file, line and the parser\'s words; the other bundle goes on', () => {
  const { root, project } = setup()
  const src = path.join(project, ENTRY)
  // The closing brace of onBackup is gone.
  edit(src, "await Promise.resolve();\n  }\n\n  async onRestore", "await Promise.resolve();\n\n  async onRestore")
  expect(device.installProject(root, project)).toBe(NAME) // sources are read when a session starts
  device.writeFiles(root, NAME, { 'data/storage/el2/base/files/keep.txt': 'untouched' })
  device.installBundle(root, 'com.example.healthy', { files: { 'data/storage/el2/base/files/h.txt': 'healthy' } })
  const out = path.join(work.dir, 'out')
  const r = cli(['--root', root, 'backup', out, NAME, 'com.example.healthy', '--json'], { cache: path.join(work.dir, 'cache') })
  expect(r.status).toBe(1)
  const { error } = r.json.bundles[NAME]
  expect(error.code).toBe(13500002)
  // Line 11 is `async onRestore(...)`, now inside onBackup's body.
  expect(error.message).toContain(`${src}:11:3: Unexpected keyword or identifier.`)
  expect(r.json.bundles['com.example.healthy'].error).toBeNull()
  expect(r.json.bundles['com.example.healthy'].files).toEqual(['part.0.tar', 'manage.json'])
  expect(fs.readFileSync(path.join(device.sandboxOf(root, NAME), 'data/storage/el2/base/files/keep.txt'), 'utf8')).toBe('untouched')
})
