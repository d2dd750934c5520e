'use strict'
// The package under both of its names, what the loader says when no binary fits, and the
// prepack guard that keeps an unloadable tree from being packed.

const { spawnSync } = require('child_process')
const fs = require('fs')
const os = require('os')
const path = require('path')
const { createDevice, installBundle } = require('backup/device')
const { backupToDir } = require('@ohos-node/backup/client')

const ROOT = path.join(__dirname, '..', '..')
const { name: PACKAGE, version: VERSION } = require('../../package.json')

let work
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'backup-names-'))
})
afterEach(() => fs.rmSync(work, { recursive: true, force: true }))

test("an app's extension, outside any node_modules, requires the package under both names", async () => {
  const ext = path.join(work, 'BothNames.js')
  fs.writeFileSync(
    ext,
    `const Scoped = require('${PACKAGE}/extension')
const Plain = require('backup/extension')
const kit = require('backup/kit')
const scopedKit = require('${PACKAGE}/kit')
module.exports = class extends Plain {
  async onBackupEx() {
    return JSON.stringify({ sameBase: Scoped === Plain, sameKit: kit === scopedKit, kit: typeof kit.fileIo.openSync })
  }
}
`,
  )
  const root = createDevice(path.join(work, 'device'))
  installBundle(root, 'com.example.names', { extension: 'BothNames.js', extensionSource: ext, files: { 'data/storage/el2/base/files/a.txt': 'a' } })
  const r = await backupToDir({ bundles: ['com.example.names'], outDir: path.join(work, 'out'), root })
  expect(r.bundles['com.example.names'].error).toBeNull()
  expect(JSON.parse(r.bundles['com.example.names'].result)).toEqual({ sameBase: true, sameKit: true, kit: 'function' })
})

// Loads lib/native.js in a Node that claims another architecture.
function loadAs(arch) {
  const preload = path.join(work, 'arch.js')
  fs.writeFileSync(preload, `Object.defineProperty(process, 'arch', { value: ${JSON.stringify(arch)} })`)
  return spawnSync(process.execPath, ['-r', preload, '-e', `require(${JSON.stringify(path.join(ROOT, 'lib/native.js'))})`], { encoding: 'utf8' })
}

test('on a platform without a prebuilt binary the error names it, the package looked for, and how to build', () => {
  const r = loadAs('riscv64')
  expect(r.status).not.toBe(0)
  expect(r.stderr).toContain(`${PACKAGE} ${VERSION} has no native binary for this platform, linux-riscv64-gnu`)
  expect(r.stderr).toContain(`the package ${PACKAGE}-linux-riscv64-gnu is not installed`)
  expect(r.stderr).toContain('the prebuilt ones are linux-x64-gnu, linux-arm64-gnu, linux-x64-musl, linux-arm64-musl')
  expect(r.stderr).toContain('npm install && npm run build')
  expect(r.stderr).not.toMatch(/npm has a bug/i)
})

test('on a prebuilt platform whose package is missing the error says how to get it', () => {
  const r = loadAs('arm64')
  expect(r.status).not.toBe(0)
  expect(r.stderr).toContain(`the package ${PACKAGE}-linux-arm64-gnu is not installed`)
  expect(r.stderr).toContain('is one of the prebuilt platform packages; install again without --omit=optional')
  expect(r.stderr).not.toMatch(/npm has a bug/i)
})

test('npm pack of the repository tree fails loudly: its package.json names no platform packages', () => {
  const r = spawnSync('npm', ['pack', '--dry-run', '--json'], { cwd: ROOT, encoding: 'utf8' })
  expect(r.status).not.toBe(0)
  expect(r.stderr).toContain('npm pack refused')
  expect(r.stderr).toContain(`would install without a native binary`)
  expect(r.stderr).toContain('npm run package')
})
