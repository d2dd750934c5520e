'use strict'
// The package as a user gets it: `npm run package --host` builds the release tarballs, a real
// registry (Verdaccio on 127.0.0.1) takes them, and a fresh project whose PATH has no cargo or
// rustc installs `backup@npm:@ohos-node/backup` from it. There it backs up and restores a
// sample device, runs a documentation example through backup/kit, and runs the CLI. Only the
// host's platform binary is built here to keep the run short; `npm run package` builds all four.

const { spawnSync } = require('child_process')
const fs = require('fs')
const os = require('os')
const path = require('path')
const { startRegistry } = require('./verdaccio')
const { platformName } = require('../../lib/platforms.js')

const ROOT = path.join(__dirname, '..', '..')
const { name: PACKAGE, version: VERSION } = require('../../package.json')
const HOST = platformName()
const MINUTES = 60000

let work, registry, project, env

// A PATH of node, npm and npx only (plus the system folders, which hold no Rust), so nothing
// the project runs can reach a Rust toolchain; npm's own variables from `npm test` are dropped.
function cleanEnv(bin) {
  fs.mkdirSync(bin, { recursive: true })
  const where = (cmd) => fs.realpathSync(spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim())
  fs.symlinkSync(process.execPath, path.join(bin, 'node'))
  for (const cmd of ['npm', 'npx']) fs.symlinkSync(where(cmd), path.join(bin, cmd))
  const e = {}
  for (const [k, v] of Object.entries(process.env)) if (!/^(npm_|NPM_|CARGO|RUSTUP|RUSTC|BACKUP_)/.test(k)) e[k] = v
  e.PATH = [bin, '/usr/bin', '/bin'].join(':')
  e.HOME = path.join(work, 'home')
  fs.mkdirSync(e.HOME)
  return e
}

function run(cmd, args, { cwd = project, timeout = 10 * MINUTES } = {}) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`)
  return r.stdout
}

function npm(args, opts) {
  const npmrc = path.join(work, 'npmrc')
  return run('npm', [...args, '--userconfig', npmrc, '--cache', path.join(work, 'npm-cache'), '--no-audit', '--no-fund', '--no-update-notifier'], opts)
}

beforeAll(async () => {
  console.log(
    'packaging: this suite builds and installs the host target only; the cross-built binaries (readelf, and the arm64 ' +
      'package under qemu) are checked by `node scripts/check-binaries.js --qemu` after `npm run package` (root once, for qemu)',
  )
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'backup-registry-'))
  const dist = path.join(work, 'dist')
  const built = spawnSync(process.execPath, [path.join(ROOT, 'scripts/package.js'), '--host', '--out', dist], { cwd: ROOT, encoding: 'utf8', timeout: 30 * MINUTES })
  if (built.status !== 0) throw new Error(`npm run package -- --host failed:\n${built.stdout.slice(-4000)}\n${built.stderr.slice(-4000)}`)

  registry = await startRegistry(path.join(work, 'registry'))
  const host = registry.url.replace(/^http:/, '')
  fs.writeFileSync(path.join(work, 'npmrc'), `registry=${registry.url}\n${host}:_authToken=${registry.token}\n`)
  env = cleanEnv(path.join(work, 'bin'))
  project = path.join(work, 'app')
  fs.mkdirSync(project)
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'fresh-app', version: '1.0.0', private: true }, null, 2))

  for (const tgz of fs.readdirSync(dist).filter((f) => f.endsWith('.tgz'))) npm(['publish', path.join(dist, tgz)], { cwd: work })
  npm(['install', `backup@npm:${PACKAGE}@${VERSION}`])
}, 45 * MINUTES)

afterAll(async () => {
  if (registry) await registry.stop()
  if (work) fs.rmSync(work, { recursive: true, force: true })
})

test('the fresh project has no Rust toolchain on its PATH', () => {
  const r = spawnSync('sh', ['-c', 'command -v cargo || command -v rustc'], { env, encoding: 'utf8' })
  expect(r.stdout).toBe('')
  expect(r.status).not.toBe(0)
})

test("npm installed the main package under the alias and only the host's platform package", () => {
  const installed = JSON.parse(fs.readFileSync(path.join(project, 'node_modules/backup/package.json'), 'utf8'))
  expect(installed.name).toBe(PACKAGE)
  expect(installed.version).toBe(VERSION)
  expect(Object.keys(installed.optionalDependencies).sort()).toEqual(
    ['linux-arm64-gnu', 'linux-arm64-musl', 'linux-x64-gnu', 'linux-x64-musl'].map((p) => `${PACKAGE}-${p}`),
  )
  expect(fs.readdirSync(path.join(project, 'node_modules/@ohos-node'))).toEqual([`backup-${HOST}`])
  expect(fs.readdirSync(path.join(project, `node_modules/@ohos-node/backup-${HOST}`)).sort()).toEqual([`backup.${HOST}.node`, 'package.json'])
  // The main tarball carries no binary of its own.
  const shipped = run('find', ['node_modules/backup', '-name', '*.node'])
  expect(shipped).toBe('')
})

test("require('backup') backs up and restores a sample device", () => {
  fs.copyFileSync(path.join(ROOT, 'scripts/smoke-roundtrip.js'), path.join(project, 'roundtrip.js'))
  const result = JSON.parse(run('node', ['roundtrip.js', 'backup']).trim().split('\n').pop())
  expect(result.diff).toEqual([])
  expect(result.backedUp).toBeGreaterThan(3 << 20)
  expect(result.restored).toBe(result.backedUp)
})

test('a documentation example runs through backup/kit', () => {
  // The stored example, verbatim, with its two imports replaced by the one line the README gives.
  const example = fs.readFileSync(path.join(ROOT, '__test__/doc-examples/examples/v10-getLocalCapabilities-promise.js'), 'utf8')
  const body = example.split('\n').filter((l) => !l.startsWith('//') && !/^\s*import /.test(l))
  fs.writeFileSync(path.join(project, 'example.mjs'), ["import { backup, fileIo as fs } from 'backup/kit';", ...body].join('\n'))
  env.BACKUP_DEVICE_ROOT = path.join(work, 'kit-device')
  try {
    run('node', ['-e', `require('backup/device').createDevice(${JSON.stringify(env.BACKUP_DEVICE_ROOT)})`])
    const r = spawnSync('node', ['example.mjs'], { cwd: project, env, encoding: 'utf8' })
    expect(r.stderr).toBe('')
    expect(r.stdout).toBe('getLocalCapabilities success\n')
  } finally {
    delete env.BACKUP_DEVICE_ROOT
  }
})

test('npx ohos-backup help, and a backup and restore from the CLI', () => {
  expect(run('npx', ['--no-install', 'ohos-backup', 'help'])).toMatch(/^Usage: ohos-backup <command>/)
  const dev = path.join(work, 'cli-device')
  run('npx', ['--no-install', 'ohos-backup', 'init', dev])
  fs.mkdirSync(path.join(project, 'notes'))
  fs.writeFileSync(path.join(project, 'notes/a.txt'), 'hello')
  run('npx', ['--no-install', 'ohos-backup', 'install', 'com.example.notes', '--root', dev, '--file', 'data/storage/el2/base/files/=./notes'])
  const backedUp = JSON.parse(run('npx', ['--no-install', 'ohos-backup', 'backup', 'out', 'com.example.notes', '--root', dev, '--json']))
  expect(backedUp.bundles['com.example.notes'].error).toBeNull()
  fs.rmSync(path.join(dev, 'apps/com.example.notes/data/storage/el2/base/files/a.txt'))
  const restored = JSON.parse(run('npx', ['--no-install', 'ohos-backup', 'restore', 'out', '--root', dev, '--json']))
  expect(restored.bundles['com.example.notes'].error).toBeNull()
  expect(fs.readFileSync(path.join(dev, 'apps/com.example.notes/data/storage/el2/base/files/a.txt'), 'utf8')).toBe('hello')
})
