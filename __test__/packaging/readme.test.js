'use strict'
// The README's runnable snippets (the ```js blocks whose first line is `// <file>.js: run with
// …`) run as pasted: each is saved under its name in a fresh project that has the package as
// `backup` in node_modules, and run with node.

const { spawnSync } = require('child_process')
const fs = require('fs')
const os = require('os')
const path = require('path')

const ROOT = path.join(__dirname, '..', '..')
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')
const SNIPPETS = Object.fromEntries(
  [...README.matchAll(/```js\n(\/\/ ([\w-]+\.js): run with[^\n]*\n[\s\S]*?)```/g)].map((m) => [m[2], m[1]]),
)

let project
beforeEach(() => {
  project = fs.mkdtempSync(path.join(os.tmpdir(), 'backup-readme-'))
  fs.mkdirSync(path.join(project, 'node_modules'))
  fs.symlinkSync(ROOT, path.join(project, 'node_modules/backup'), 'dir')
})
afterEach(() => fs.rmSync(project, { recursive: true, force: true }))

function run(name) {
  fs.writeFileSync(path.join(project, name), SNIPPETS[name])
  const env = { ...process.env }
  delete env.BACKUP_DEVICE_ROOT
  return spawnSync(process.execPath, [name], { cwd: project, env, encoding: 'utf8', timeout: 120000 })
}

test('the README has its runnable snippets', () => {
  expect(Object.keys(SNIPPETS).sort()).toEqual(['backup-example.js', 'nightly.js'])
})

test('backup-example.js backs up both apps into out/', () => {
  const r = run('backup-example.js')
  expect(r.stderr).toBe('')
  expect(r.status).toBe(0)
  expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual(['com.example.notes backed up into out/', 'com.example.photos backed up into out/'])
  expect(fs.readdirSync(path.join(project, 'out/com.example.notes'))).toContain('manage.json')
  expect(fs.readdirSync(path.join(project, 'out/com.example.photos'))).toContain('manage.json')
})

test('nightly.js: the first run sends everything, the second one only what changed', () => {
  const first = run('nightly.js')
  expect(first.stderr).toBe('')
  expect(first.status).toBe(0)
  expect(first.stdout).toMatch(/received \d+_part\.0\.tar\n[\s\S]*received manage\.json\n/)
  const listing = fs.readFileSync(path.join(project, 'out/manage.json.rp'), 'utf8')
  expect(listing).toContain('/data/storage/el2/base/files/a.txt;')

  // Nights are far apart; here the next run must at least fall in a later second than the
  // first one's files (mtimes are whole seconds, and a file of the same size and second as in
  // the baseline counts as unchanged).
  spawnSync('sleep', ['2.1'])
  const second = run('nightly.js')
  expect(second.stderr).toBe('')
  expect(second.status).toBe(0)
  expect(second.stdout).toMatch(/received manage\.json\n$/)
  // Only today.txt changed: the second run's part holds it and not a.txt.
  const part = second.stdout.match(/received (\d+_part\.0\.tar)/)[1]
  const tar = spawnSync('tar', ['-tf', path.join(project, 'out', part)], { encoding: 'utf8' })
  expect(tar.stdout).toContain('today.txt')
  expect(tar.stdout).not.toContain('a.txt')
})
