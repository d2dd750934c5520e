'use strict'
// The published types, as a TypeScript user meets them: a project with the package in
// node_modules (as `backup`) and the README's tsconfig `paths` compiles every stored
// TypeScript documentation example and a program that uses each entry point, with
// `tsc --noEmit`; a program that misuses them does not compile.

const { spawnSync } = require('child_process')
const fs = require('fs')
const os = require('os')
const path = require('path')

const ROOT = path.join(__dirname, '..', '..')
const TSC = require.resolve('typescript/bin/tsc')
const EXAMPLES = path.join(ROOT, '__test__/doc-examples/examples')

// The README's tsconfig `paths`, verbatim in meaning.
const PATHS = {
  '@kit.CoreFileKit': ['./node_modules/backup/lib/kit'],
  '@kit.BasicServicesKit': ['./node_modules/backup/lib/basic-services'],
  '@ohos.file.backup': ['./node_modules/backup'],
  '@ohos.file.fs': ['./node_modules/backup/lib/fs'],
}

const PROGRAM = `
import backup from 'backup'
import { backup as kitBackup, fileIo } from 'backup/kit'
import fs = require('backup/fs')
import { backupToDir, restoreFromDir, bundleFiles } from 'backup/client'
import { createDevice, installBundle, sandboxOf, snapshotTree, diffSnapshots } from 'backup/device'
import BackupExtensionAbility = require('backup/extension')
import { incrementalBackupToDir } from 'backup/incremental-client'
import { BusinessError } from 'backup/basic-services'

class Ext extends BackupExtensionAbility {
  async onBackupEx(info: string): Promise<string> {
    return JSON.stringify({ dir: this.context.filesDir, info })
  }
}

async function main(): Promise<number> {
  const root: string = createDevice()
  installBundle(root, 'com.example.notes', { files: { 'data/storage/el2/base/files/a.txt': 'hello' } })
  const before = snapshotTree(sandboxOf(root, 'com.example.notes'))
  const b = await backupToDir({ bundles: ['com.example.notes'], outDir: '/tmp/out', root })
  const parts: string[] = b.bundles['com.example.notes'].files
  const r = await restoreFromDir({ inDir: '/tmp/out', root })
  const i = await incrementalBackupToDir({ bundles: [{ bundleName: 'com.example.notes', lastIncrementalTime: b.startedAt }], outDir: '/tmp/inc' })
  const listing: string | null = i.bundles['com.example.notes'].listing
  const file = fs.openSync('/data/storage/el2/base/x', fileIo.OpenMode.READ_ONLY)
  fs.closeSync(file)
  const session = new backup.SessionBackup({
    onFileReady: (err: BusinessError, f: backup.File) => fileIo.closeSync(f.fd),
    onBundleBegin: () => {},
    onBundleEnd: () => {},
    onAllBundlesEnd: () => {},
    onBackupServiceDied: () => {},
  })
  await session.release()
  void kitBackup.getBackupVersion()
  void new Ext()
  void listing
  return parts.length + r.files + bundleFiles('/tmp/out/com.example.notes').length + diffSnapshots(before, before).length
}
void main()
`

let work
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'backup-types-'))
  fs.mkdirSync(path.join(work, 'node_modules'))
  fs.symlinkSync(ROOT, path.join(work, 'node_modules/backup'), 'dir')
})
afterAll(() => fs.rmSync(work, { recursive: true, force: true }))

function tsc(files) {
  const config = {
    compilerOptions: {
      noEmit: true,
      target: 'es2022',
      module: 'node16',
      moduleResolution: 'node16',
      esModuleInterop: true,
      types: ['node'],
      typeRoots: [path.join(ROOT, 'node_modules/@types')],
      paths: PATHS,
    },
    files,
  }
  fs.writeFileSync(path.join(work, 'tsconfig.json'), JSON.stringify(config, null, 2))
  return spawnSync(process.execPath, [TSC, '-p', work], { cwd: work, encoding: 'utf8' })
}

test('the TypeScript documentation examples and a program using every entry point compile', () => {
  const examples = fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.ts'))
  expect(examples.length).toBeGreaterThanOrEqual(39)
  fs.writeFileSync(path.join(work, 'program.ts'), PROGRAM)
  const r = tsc([...examples.map((f) => path.join(EXAMPLES, f)), path.join(work, 'program.ts')])
  expect(r.stdout + r.stderr).toBe('')
  expect(r.status).toBe(0)
}, 180000)

test('misusing the entry points does not compile', () => {
  fs.writeFileSync(
    path.join(work, 'wrong.ts'),
    `import { backupToDir } from 'backup/client'
import { installBundle } from 'backup/device'
import fs = require('backup/fs')
void backupToDir({ bundles: 'com.example.notes', outDir: 1 })
installBundle('/tmp/dev')
fs.openSync(42)
`,
  )
  const r = tsc([path.join(work, 'wrong.ts')])
  expect(r.status).not.toBe(0)
  expect(r.stdout).toMatch(/wrong\.ts\(4,/)
  expect(r.stdout).toMatch(/wrong\.ts\(5,/)
  expect(r.stdout).toMatch(/wrong\.ts\(6,/)
}, 180000)
