'use strict'
// What the CLI shows while it backs up and restores: a cli-progress bar on a terminal, plain
// lines otherwise, nothing with --quiet, JSON only with --json; "files" are the app's files.
// And the two failures a person must be able to act on: a device held by another session, and
// a restore into an app whose sandbox folder is gone.

const { spawnSync } = require('child_process')
const fs = require('fs')
const os = require('os')
const path = require('path')
const device = require('backup/device')
const backup = require('backup')

const CLI = path.join(__dirname, '../../lib/cli.js')
const APP = 'com.example.notes'
const FILES = 'data/storage/el2/base/files'
// 40 small files, a directory and one big file: 41 app files, in a tar part and a big file.
const TREE = { [`${FILES}/big.bin`]: { size: 3 << 20 }, [`${FILES}/empty/`]: {} }
for (let i = 0; i < 40; i++) TREE[`${FILES}/n/${i}.txt`] = `note ${i}\n`.repeat(i + 1)
const APP_FILES = 41

let tmp, root
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'backup-cli-progress-'))
  root = device.createDevice(path.join(tmp, 'dev'))
  device.installBundle(root, APP, { files: TREE })
})
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

function cli(...args) {
  const env = { ...process.env }
  delete env.BACKUP_DEVICE_ROOT
  const r = spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8', timeout: 120000 })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

test('not on a terminal: plain progress lines and a summary that counts the app files, not the tar parts', () => {
  const out = path.join(tmp, 'out-lines')
  const r = cli('backup', out, APP, '--root', root)
  expect(r.code).toBe(0)
  const lines = r.out.split('\n')
  expect(lines[0]).toMatch(/^backup: bundles 0\/1, files 0\/~\d+, 0 B\/~3\.\d MiB, 0 B\/s, ETA \?$/)
  expect(r.out).toMatch(new RegExp(`^backup: bundles 1/1, files ${APP_FILES}/${APP_FILES}, 3\\.\\d MiB/3\\.\\d MiB, .+/s, ETA 0s$`, 'm'))
  expect(r.out).toMatch(new RegExp(`^${APP.replace(/\./g, '\\.')}\\s+${APP_FILES} files\\s+3\\.\\d MiB\\s+ok$`, 'm'))
  expect(r.out).toMatch(new RegExp(`^backed up 1 of 1 bundles: ${APP_FILES} files,`, 'm'))
  // What travelled: one tar part and one big file (and manage.json), not 41 files.
  expect(fs.readdirSync(path.join(out, APP)).sort()).toHaveLength(3)

  const restored = cli('restore', out, '--root', root)
  expect(restored.code).toBe(0)
  expect(restored.out.split('\n')[0]).toMatch(new RegExp(`^restore: bundles 0/1, files 0/${APP_FILES}, 0 B/3\\.\\d MiB, 0 B/s, ETA \\?$`))
  expect(restored.out).toMatch(new RegExp(`^restore: bundles 1/1, files ${APP_FILES}/${APP_FILES},`, 'm'))
  expect(restored.out).toMatch(new RegExp(`^restored 1 of 1 bundles: ${APP_FILES} files,`, 'm'))
})

test('--quiet prints nothing; --json prints only the JSON summary, with appFiles', () => {
  const quiet = cli('backup', path.join(tmp, 'out-quiet'), APP, '--root', root, '--quiet')
  expect(quiet.code).toBe(0)
  expect(quiet.out).toBe('')
  expect(quiet.err).toBe('')
  const json = cli('backup', path.join(tmp, 'out-json'), APP, '--root', root, '--json')
  expect(json.code).toBe(0)
  const summary = JSON.parse(json.out)
  expect(summary.appFiles).toBe(APP_FILES)
  expect(summary.bundles[APP].appFiles).toBe(APP_FILES)
  expect(summary.bundles[APP].files).toHaveLength(3)
})

test('on a terminal: a progress bar with bundles, files, bytes, rate and ETA', () => {
  // util-linux's script(1) gives the CLI a pseudo-terminal.
  const which = spawnSync('sh', ['-c', 'command -v script'], { encoding: 'utf8' })
  if (which.status !== 0) throw new Error('script(1) from util-linux is needed to run the CLI on a terminal (apt-get install bsdutils)')
  const out = path.join(tmp, 'out-tty')
  const cmd = [process.execPath, CLI, 'backup', out, APP, '--root', root].map((a) => `'${a}'`).join(' ')
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', timeout: 120000, env: { ...process.env, TERM: 'xterm' } })
  expect(r.status).toBe(0)
  const screen = r.stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, '') // eslint-disable-line no-control-regex
  expect(screen).toMatch(/backup [█░]{40} 0% \| bundles 0\/1 \| files 0\/~\d+ \| 0 B\/~3\.\d MiB \| 0 B\/s \| ETA \?/)
  expect(screen).toMatch(new RegExp(`backup █{40} 100% \\| bundles 1/1 \\| files ${APP_FILES}/${APP_FILES} \\| 3\\.\\d MiB/3\\.\\d MiB \\| .+/s \\| ETA 0s`))
  expect(screen).not.toMatch(/^backup: /m) // no plain lines on a terminal
})

test('a device held by another session: the CLI says who holds it, since when, and for what', async () => {
  process.env.BACKUP_DEVICE_ROOT = root
  const holder = new backup.SessionRestore({ onFileReady() {}, onBundleBegin() {}, onBundleEnd() {}, onAllBundlesEnd() {}, onBackupServiceDied() {} })
  try {
    const r = cli('backup', path.join(tmp, 'out-busy'), APP, '--root', root, '--quiet')
    expect(r.code).toBe(1)
    expect(r.err).toMatch(
      new RegExp(`^ohos-backup: the device is busy: node\\[${process.pid}\\] \\(process name\\[pid\\]\\) has held a restore session on it since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d:\\d{3} UTC; wait for it to finish or end that process \\(code 13500013\\)\\n$`),
    )
  } finally {
    await holder.release()
    delete process.env.BACKUP_DEVICE_ROOT
  }
})

test('a restore into an app whose sandbox folder is missing names that folder', () => {
  const out = path.join(tmp, 'out-gone')
  expect(cli('backup', out, APP, '--root', root, '--quiet').code).toBe(0)
  const other = device.createDevice(path.join(tmp, 'dev-gone'))
  device.installBundle(other, APP)
  const sandbox = device.sandboxOf(other, APP)
  fs.rmSync(sandbox, { recursive: true, force: true })
  const r = cli('restore', out, '--root', other)
  expect(r.code).toBe(1)
  expect(r.out).toContain(`the app's sandbox folder ${sandbox} does not exist: install the app first`)
  expect(r.out).toMatch(/restored 0 of 1 bundles: 0 files,/)
})
