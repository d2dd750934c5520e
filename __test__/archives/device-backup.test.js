'use strict'
// A backup folder exactly as a real device writes it (tars with version "1\0" headers, 'L'
// long-name records named longLinkSymbol, 4096-byte directory entries, 7-digit checksums;
// the streamed manage.json) restores through the JS API, `restoreFromDir` of backup/client,
// to exactly the tree the device backed up: names, bytes, modes and mtimes. The fixture is
// made by the engine's test-only device writer (src/engine/device_tar/, kept current by
// `the_js_fixture_is_what_the_device_writer_writes`); the big files are made here.

const fs = require('fs')
const os = require('os')
const path = require('path')
const crypto = require('crypto')
const { execFileSync } = require('child_process')
const device = require('../../lib/device')

const FIXTURES = path.join(__dirname, 'fixtures')
const spec = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'com.example.devicetar.json'), 'utf8'))

// The bytes of a big file, as corpus::big_content makes them.
function bigContent(length) {
  const b = Buffer.alloc(length)
  for (let i = 0; i < length; i++) b[i] = (i * 7 + 3) % 251
  return b
}

let root
let inDir
beforeAll(() => {
  root = device.createDevice()
  inDir = fs.mkdtempSync(path.join(os.tmpdir(), 'device-backup-'))
  const folder = path.join(inDir, spec.bundle)
  fs.cpSync(path.join(FIXTURES, spec.bundle), folder, { recursive: true })
  for (const { uri, length } of spec.bigFiles) fs.writeFileSync(path.join(folder, uri), bigContent(length))
})
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true })
  fs.rmSync(inDir, { recursive: true, force: true })
})

// The client runs in a child Node process: under Jest, `process.env` is a copy that never
// reaches the native service (see __test__/client.test.js).
const RUNNER = `
const client = require(${JSON.stringify(path.join(__dirname, '../../lib/client.js'))})
client.restoreFromDir(JSON.parse(process.argv[1])).then(
  (r) => process.stdout.write(JSON.stringify({ ok: r })),
  (e) => process.stdout.write(JSON.stringify({ err: { code: e.code, message: e.message } })),
)`
function restoreFromDir(opts) {
  const env = { ...process.env }
  delete env.BACKUP_DEVICE_ROOT
  const out = JSON.parse(execFileSync(process.execPath, ['-e', RUNNER, JSON.stringify(opts)], { env, encoding: 'utf8' }))
  if (out.err) throw Object.assign(new Error(out.err.message), out.err)
  return out.ok
}

function sha256(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex')
}

// Every path under data/ but the service's work area, relative to the sandbox.
function listTree(sandbox) {
  const out = ['data']
  const walk = (rel) => {
    for (const name of fs.readdirSync(path.join(sandbox, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name
      if (r === 'data/storage/el2/base/.backup') continue
      out.push(r)
      if (fs.lstatSync(path.join(sandbox, r)).isDirectory()) walk(r)
    }
  }
  walk('data')
  return out.sort()
}

test('a device-format backup folder restores to exactly the tree the device backed up', () => {
  const sandbox = device.installBundle(root, spec.bundle, { files: {} })
  const r = restoreFromDir({ inDir, bundles: [spec.bundle], root })
  const files = fs.readdirSync(path.join(inDir, spec.bundle)).length
  expect(r.bundles[spec.bundle]).toEqual(expect.objectContaining({ error: null, files }))

  expect(listTree(sandbox)).toEqual(spec.tree.map((e) => e.path).sort())
  for (const e of spec.tree) {
    const p = path.join(sandbox, e.path)
    const st = fs.lstatSync(p, { bigint: true })
    expect([e.path, st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other']).toEqual([e.path, e.type])
    // Directories a device gives no entry (it lists only empty ones) only need to exist.
    if (e.mode === undefined) continue
    const got = { path: e.path, mode: Number(st.mode) & 0o7777, mtimeNs: st.mtimeNs.toString() }
    expect(got).toEqual({ path: e.path, mode: e.mode, mtimeNs: e.mtimeNs })
    if (e.type === 'file') {
      expect([e.path, Number(st.size), sha256(p)]).toEqual([e.path, e.size, e.sha256])
    }
  }
  // The long names really are long, and the empty directories are there.
  const paths = spec.tree.map((e) => e.path)
  expect(Math.max(...paths.map((p) => Buffer.byteLength(p)))).toBe(3999)
  expect(paths).toEqual(expect.arrayContaining(['data/storage/el2/base/files/empty', 'data/storage/el2/base/files/日本語/naïve café.txt']))
})
