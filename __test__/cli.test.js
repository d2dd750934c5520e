'use strict'
// The ohos-backup CLI, run as a user runs it: a separate process, exit codes and output.

const fs = require('fs')
const os = require('os')
const path = require('path')
const { spawnSync } = require('child_process')
const device = require('../lib/device')

const CLI = path.join(__dirname, '../lib/cli.js')
const FILES = 'data/storage/el2/base/files'

let tmp
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'backup-cli-'))
})
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

function cli(...args) {
  const env = { ...process.env, XDG_DATA_HOME: path.join(tmp, 'xdg') }
  delete env.BACKUP_DEVICE_ROOT
  const r = spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8' })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

test('init, install with host files, list, caps', () => {
  const root = path.join(tmp, 'dev1')
  let r = cli('init', root, '--device-type', 'tablet')
  expect(r.code).toBe(0)
  expect(r.out).toContain(`device ready at ${root}`)
  expect(JSON.parse(fs.readFileSync(path.join(root, 'device.json'), 'utf8')).deviceType).toBe('tablet')

  r = cli('list', '--root', root)
  expect(r.code).toBe(0)
  expect(r.out).toMatch(/no apps installed/)

  const host = path.join(tmp, 'host')
  fs.mkdirSync(path.join(host, 'sub'), { recursive: true })
  fs.writeFileSync(path.join(host, 'a.txt'), 'alpha')
  fs.writeFileSync(path.join(host, 'sub/b.txt'), 'beta')
  fs.chmodSync(path.join(host, 'sub/b.txt'), 0o600)
  fs.utimesSync(path.join(host, 'sub/b.txt'), new Date(1e12), new Date(1e12))
  fs.writeFileSync(path.join(host, 'db'), 'database')
  r = cli('install', 'com.example.notes', '--root', root, '--version-code', '5', '--version-name', '5.0',
    '--file', `${FILES}/=${host}`, '--file', `data/storage/el2/database/notes.db=${path.join(host, 'db')}`)
  expect(r.code).toBe(0)
  expect(r.out).toContain('installed com.example.notes')
  const sandbox = device.sandboxOf(root, 'com.example.notes')
  expect(fs.readFileSync(path.join(sandbox, FILES, 'sub/b.txt'), 'utf8')).toBe('beta')
  expect(fs.statSync(path.join(sandbox, FILES, 'sub/b.txt')).mode & 0o777).toBe(0o600)
  expect(fs.statSync(path.join(sandbox, FILES, 'sub/b.txt')).mtimeMs).toBe(1e12)
  expect(fs.readFileSync(path.join(sandbox, 'data/storage/el2/database/notes.db'), 'utf8')).toBe('database')
  expect(device.bundleInfo(root, 'com.example.notes')).toMatchObject({ versionCode: 5, versionName: '5.0' })

  expect(cli('install', 'com.example.plain', '--root', root, '--no-extension').code).toBe(0)
  r = cli('list', '--root', root)
  expect(r.code).toBe(0)
  expect(r.out).toMatch(/com\.example\.notes\s+5\.0 \(5\)\s+yes\s+allowed\s+4\s+25 B/)
  expect(r.out).toMatch(/com\.example\.plain\s+1\.0\.0 \(1\)\s+none/)

  r = cli('caps', '--root', root)
  expect(r.code).toBe(0)
  const caps = JSON.parse(r.out)
  expect(caps.deviceType).toBe('tablet')
  expect(caps.bundleInfos.map((b) => b.name)).toContain('com.example.notes')
})

test('backup then restore gives the data back; a failed bundle makes the exit code 1', () => {
  const root = path.join(tmp, 'dev2')
  expect(cli('init', root).code).toBe(0)
  device.installBundle(root, 'com.example.notes', {
    files: { [`${FILES}/n/1.txt`]: 'one', [`${FILES}/big.bin`]: { size: 3 << 20 }, [`${FILES}/empty/`]: {} },
  })
  device.installBundle(root, 'com.example.noext', { extension: false })
  const sandbox = device.sandboxOf(root, 'com.example.notes')
  const before = device.snapshotTree(sandbox)
  const out = path.join(tmp, 'out2')

  let r = cli('backup', out, 'com.example.notes', '--root', root)
  expect(r.code).toBe(0)
  expect(r.out).toMatch(/com\.example\.notes\s+\d+ files\s+3\.\d MiB\s+ok/)
  expect(r.out).toMatch(/backed up 1 of 1 bundles/)
  expect(fs.readdirSync(path.join(out, 'com.example.notes'))).toContain('manage.json')

  device.wipeApp(root, 'com.example.notes')
  r = cli('restore', out, '--root', root, '--json')
  expect(r.code).toBe(0)
  expect(JSON.parse(r.out).bundles['com.example.notes'].error).toBeNull()
  expect(device.diffSnapshots(before, device.snapshotTree(sandbox))).toEqual([])

  r = cli('backup', path.join(tmp, 'out3'), 'com.example.notes', 'com.example.noext', '--root', root)
  expect(r.code).toBe(1)
  expect(r.out).toMatch(/com\.example\.noext.*FAILED 13500005/)
  expect(r.err).toMatch(/1 bundle\(s\) failed: com\.example\.noext/)
})

test('an incremental chain: --incremental, then --since; restored folder by folder with --apply-deletions', () => {
  const root = path.join(tmp, 'dev-chain')
  expect(cli('init', root).code).toBe(0)
  const APP = 'com.example.diary'
  const T0 = Date.UTC(2024, 0, 1)
  device.installBundle(root, APP, {
    files: { [`${FILES}/a.txt`]: { content: 'a v1', mtime: T0 }, [`${FILES}/b.txt`]: { content: 'b v1', mtime: T0 }, [`${FILES}/gone.txt`]: { content: 'old', mtime: T0 } },
  })
  const sandbox = device.sandboxOf(root, APP)
  const first = path.join(tmp, 'night1')
  let r = cli('backup', first, APP, '--incremental', '--root', root, '--json')
  expect(r.code).toBe(0)
  expect(JSON.parse(fs.readFileSync(path.join(first, 'backup-run.json'), 'utf8'))).toEqual({ incremental: true, startedAt: expect.any(Number), bundles: [APP] })
  expect(fs.readdirSync(path.join(first, APP))).toContain('manage.json.rp')

  // The next night: a changed, b unchanged, gone deleted, c new.
  device.writeFiles(root, APP, { [`${FILES}/a.txt`]: 'a v2', [`${FILES}/c.txt`]: 'c new' })
  fs.rmSync(path.join(sandbox, FILES, 'gone.txt'))
  const after = device.snapshotTree(sandbox)
  const second = path.join(tmp, 'night2')
  r = cli('backup', second, APP, '--since', first, '--root', root, '--json')
  expect(r.code).toBe(0)
  const tars = fs.readdirSync(path.join(second, APP)).filter((f) => f.endsWith('.tar'))
  expect(tars).toHaveLength(1)
  const listed = require('child_process').execFileSync('tar', ['-tf', path.join(second, APP, tars[0])], { encoding: 'utf8' }).split('\n').filter((l) => l.endsWith('.txt'))
  expect(listed.sort()).toEqual([`/${FILES}/a.txt`, `/${FILES}/c.txt`]) // only what changed travels

  // Restore the chain onto an empty app, oldest first; deletions applied by the last folder.
  device.wipeApp(root, APP)
  expect(cli('restore', first, '--root', root).code).toBe(0)
  expect(cli('restore', second, '--apply-deletions', '--root', root).code).toBe(0)
  expect(device.diffSnapshots(after, device.snapshotTree(sandbox))).toEqual([])

  // --since a folder that no backup run wrote is a usage error.
  r = cli('backup', path.join(tmp, 'night3'), APP, '--since', path.join(tmp, 'nowhere'), '--root', root)
  expect(r.code).toBe(2)
  expect(r.err).toMatch(/holds no backup-run\.json/)
})

test('usage errors exit 2 with a clear message', () => {
  // Usage mistakes exit 2, a refusal while running exits 1; both say what is wrong.
  const bad = [
    [2, ['frobnicate'], /unknown command 'frobnicate'.*\n.*ohos-backup help/],
    [2, ['list', '--root', path.join(tmp, 'nowhere')], /no device at .*nowhere.*ohos-backup init/],
    [2, ['list', '--bogus'], /Unknown option '--bogus'/],
    [2, ['backup', path.join(tmp, 'o')], /missing output folder and at least one bundle name/],
    [2, ['restore', path.join(tmp, 'no-such-backup')], /no backup folder/],
    [2, ['install', 'com.example.x', '--file', 'nohostpath'], /expected <sandboxPath>=<hostPath>/],
    [2, ['install', 'com.example.x', '--file', `../up=${__filename}`], /invalid sandbox path/],
    [2, ['install', 'com.example.x', '--file', `${FILES}/a=/does/not/exist`], /does not exist/],
    [1, ['install', 'short'], /invalid bundle name/],
  ]
  for (const [code, args, message] of bad) {
    const r = cli(...args)
    expect({ args, code: r.code }).toEqual({ args, code })
    expect(r.err).toMatch(message)
  }
  const help = cli('help')
  expect(help.code).toBe(0)
  expect(help.out).toMatch(/^Usage: ohos-backup/)
})
