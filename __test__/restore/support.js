'use strict'
// Shared by the __test__/restore/ suites: run backup/client in a child process (under Jest,
// process.env is a copy the native service never sees), the ohos-backup CLI, a byte-exact
// snapshot of an app's data, and a minimal ustar writer for hand-made hostile archives.

const crypto = require('crypto')
const fs = require('fs')
const path = require('path')
const { execFileSync, spawnSync } = require('child_process')

const CLI = path.join(__dirname, '../../lib/cli.js')
const WORK_AREA = 'data/storage/el2/base/.backup'

const RUNNER = `
const client = require(${JSON.stringify(path.join(__dirname, '../../lib/client.js'))})
const incremental = require(${JSON.stringify(path.join(__dirname, '../../lib/incremental-client.js'))})
const [fn, opts] = JSON.parse(process.argv[1])
const f = client[fn] || incremental[fn]
Promise.resolve().then(() => f(opts)).then(
  (r) => process.stdout.write(JSON.stringify({ ok: r })),
  (e) => process.stdout.write(JSON.stringify({ err: { code: e.code, message: e.message, name: e.name } })),
)`

/** Runs `fn` of lib/client.js or lib/incremental-client.js; resolves its result, throws its error. */
function client(fn, opts) {
  const env = { ...process.env }
  delete env.BACKUP_DEVICE_ROOT
  const out = JSON.parse(execFileSync(process.execPath, ['-e', RUNNER, JSON.stringify([fn, opts])], { env, encoding: 'utf8' }))
  if (out.err) throw Object.assign(new Error(out.err.message), out.err)
  return out.ok
}

function cli(args, env = {}) {
  const e = { ...process.env, ...env }
  if (!env.BACKUP_DEVICE_ROOT) delete e.BACKUP_DEVICE_ROOT
  const r = spawnSync(process.execPath, [CLI, ...args], { env: e, encoding: 'utf8' })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

/** Every entry under `dir` (the work area aside): type, mode, size, mtime and content hash.
 * The work area's parent keeps no mtime: the service creates and removes its work area
 * (.backup/) there on every session, as a device does. */
function snapshot(dir) {
  const out = {}
  const walk = (rel) => {
    for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name
      if (r === WORK_AREA) continue
      const st = fs.lstatSync(path.join(dir, r))
      const kind = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'link' : 'other'
      const hash = kind === 'file' ? crypto.createHash('sha256').update(fs.readFileSync(path.join(dir, r))).digest('hex') : ''
      const mtime = r === path.posix.dirname(WORK_AREA) ? '-' : st.mtimeMs
      out[r] = `${kind} ${st.mode.toString(8)} ${kind === 'dir' ? 0 : st.size} ${mtime} ${hash}`
      if (kind === 'dir') walk(r)
    }
  }
  walk('')
  return out
}

function octal(n, width) {
  return n.toString(8).padStart(width - 1, '0') + '\0'
}

/** A ustar archive of `entries`: `{ name, type: 'file' | 'dir', data? }`, written as given. */
function ustar(entries) {
  const blocks = []
  for (const e of entries) {
    const data = Buffer.from(e.data || '')
    const h = Buffer.alloc(512)
    h.write(e.name, 0, 100)
    h.write(octal(e.type === 'dir' ? 0o755 : 0o644, 8), 100)
    h.write(octal(0, 8), 108)
    h.write(octal(0, 8), 116)
    h.write(octal(e.type === 'dir' ? 0 : data.length, 12), 124)
    h.write(octal(1700000000, 12), 136)
    h.write('        ', 148)
    h.write(e.type === 'dir' ? '5' : '0', 156)
    h.write('ustar\0', 257)
    h.write('00', 263)
    let sum = 0
    for (const b of h) sum += b
    h.write(octal(sum, 7) + ' ', 148)
    blocks.push(h)
    if (e.type !== 'dir') {
      blocks.push(data)
      if (data.length % 512) blocks.push(Buffer.alloc(512 - (data.length % 512)))
    }
  }
  blocks.push(Buffer.alloc(1024))
  return Buffer.concat(blocks)
}

module.exports = { client, cli, snapshot, ustar, WORK_AREA }
