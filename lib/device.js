'use strict'
// `backup/device`: make and inspect a device directory (DESIGN.md §3) for tests, the demo,
// the bench and the CLI. The layout written here is the one src/device/ reads:
//   <root>/device.json, <root>/bundles/<name>/{bundle.json,backup_config.json}, <root>/apps/<name>/…

const crypto = require('crypto')
const fs = require('fs')
const os = require('os')
const path = require('path')

const WORK_AREA = 'data/storage/el2/base/.backup'
const DEFAULT_DEVICE = { deviceType: 'default', systemFullName: 'OpenHarmony-5.0.0.0' }
const CHUNK = 1 << 20

/** The device root the service uses: BACKUP_DEVICE_ROOT, else the XDG default (src/device/mod.rs). */
function defaultRoot() {
  if (process.env.BACKUP_DEVICE_ROOT) return process.env.BACKUP_DEVICE_ROOT
  const data = process.env.XDG_DATA_HOME || path.join(os.homedir(), '.local/share')
  return path.join(data, 'backup/device')
}

// The device's rule (src/device/names.rs, exported by the addon), checked here so a typo
// fails at install time rather than as "not installed" during a backup.
function checkBundleName(name) {
  const problem = require('./native.js').native.bundleNameProblem(name)
  if (problem) throw new Error(problem)
  return name
}

/**
 * Creates (or updates) a device directory and returns its root.
 * @param {string} [root] default: a fresh temporary directory
 * @param {{deviceType?: string, systemFullName?: string}} [info] written to device.json
 */
function createDevice(root, info) {
  if (root && typeof root === 'object') [root, info] = [undefined, root]
  root = root ? path.resolve(root) : fs.mkdtempSync(path.join(os.tmpdir(), 'backup-device-'))
  fs.mkdirSync(path.join(root, 'bundles'), { recursive: true })
  fs.mkdirSync(path.join(root, 'apps'), { recursive: true })
  const file = path.join(root, 'device.json')
  let current = {}
  try {
    current = JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch {}
  const merged = { ...DEFAULT_DEVICE, ...current }
  for (const k of Object.keys(DEFAULT_DEVICE)) if (info && info[k] !== undefined) merged[k] = String(info[k])
  fs.writeFileSync(file, JSON.stringify(merged, null, 2) + '\n')
  return root
}

/** Points the service at `root` (sets BACKUP_DEVICE_ROOT) and returns the root. */
function useDevice(root) {
  process.env.BACKUP_DEVICE_ROOT = root
  return root
}

function bundleDir(root, bundleName) {
  return path.join(root, 'bundles', checkBundleName(bundleName))
}

function sandboxOf(root, bundleName) {
  return path.join(root, 'apps', checkBundleName(bundleName))
}

/** Installed bundle names, sorted (a bundle is installed when its bundle.json exists). */
function listBundles(root) {
  let names
  try {
    names = fs.readdirSync(path.join(root, 'bundles'))
  } catch {
    return []
  }
  return names.filter((n) => fs.existsSync(path.join(root, 'bundles', n, 'bundle.json'))).sort()
}

/** bundle.json and backup_config.json of an installed bundle (config null when there is none). */
function bundleInfo(root, bundleName) {
  const dir = bundleDir(root, bundleName)
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'bundle.json'), 'utf8'))
  let config = null
  try {
    config = JSON.parse(fs.readFileSync(path.join(dir, 'backup_config.json'), 'utf8'))
  } catch {}
  return { ...meta, config }
}

/**
 * Installs (or re-installs) a bundle and returns its sandbox directory.
 * opts.extension: true (default) = a BackupExtensionAbility without code; false = none;
 * a string = its srcEntry, relative to the bundle dir (copied there from opts.extensionSource
 * when given). opts.config: the backup_config.json object, or null for no profile.
 */
function installBundle(root, bundleName, opts = {}) {
  const {
    versionCode = 1,
    versionName = '1.0.0',
    appIndex = 0,
    extension = true,
    extensionSource,
    config = { allowToBackupRestore: true },
    files = {},
  } = opts
  const dir = bundleDir(root, bundleName)
  const meta = { name: bundleName, versionCode, versionName, appIndex }
  if (extension) {
    meta.extension = { name: 'BackupExtensionAbility' }
    if (typeof extension === 'string') {
      const entry = relativePath(extension)
      meta.extension.srcEntry = entry
      if (extensionSource) {
        fs.mkdirSync(path.dirname(path.join(dir, entry)), { recursive: true })
        fs.copyFileSync(extensionSource, path.join(dir, entry))
      }
    }
  }
  return writeBundle(root, bundleName, meta, config, files)
}

// bundle.json, backup_config.json (none when `config` is null) and the sandbox with `files`.
function writeBundle(root, bundleName, meta, config, files) {
  const dir = bundleDir(root, bundleName)
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(path.join(dir, 'bundle.json'), JSON.stringify(meta, null, 2) + '\n')
  const configFile = path.join(dir, 'backup_config.json')
  if (config === null) fs.rmSync(configFile, { force: true })
  else fs.writeFileSync(configFile, typeof config === 'string' ? config : JSON.stringify(config, null, 2) + '\n')
  const sandbox = sandboxOf(root, bundleName)
  fs.mkdirSync(sandbox, { recursive: true })
  writeFiles(root, bundleName, files)
  return sandbox
}

/**
 * Installs an OpenHarmony app project in DevEco Studio's layout (lib/project.js) and returns
 * its bundle name: name, versionCode and versionName from AppScope/app.json5, the backup
 * extension's profile as backup_config.json, and its srcEntry run from the project itself,
 * so an edit is seen by the next session. A missing or broken file is an Error naming it;
 * then nothing is installed.
 */
function installProject(root, projectDir) {
  const { readProject, ProjectError } = require('./project.js')
  const project = readProject(projectDir)
  try {
    checkBundleName(project.bundleName)
  } catch (e) {
    throw new ProjectError(path.join(project.dir, 'AppScope', 'app.json5'), e.message)
  }
  const meta = { name: project.bundleName, versionCode: project.versionCode, versionName: project.versionName, appIndex: 0, project: project.dir }
  if (project.extension) {
    meta.extension = { name: project.extension.name, srcEntry: project.extension.entry, module: project.extension.module }
  }
  writeBundle(root, project.bundleName, meta, project.profile ? project.profile.config : null, {})
  return project.bundleName
}

/** Removes the bundle and its sandbox. */
function uninstallBundle(root, bundleName) {
  fs.rmSync(bundleDir(root, bundleName), { recursive: true, force: true })
  fs.rmSync(sandboxOf(root, bundleName), { recursive: true, force: true })
}

/** Removes everything in the bundle's sandbox (as if the app's data were cleared), keeping the empty sandbox dir. */
function wipeApp(root, bundleName) {
  const sandbox = sandboxOf(root, bundleName)
  fs.mkdirSync(sandbox, { recursive: true })
  for (const name of fs.readdirSync(sandbox)) fs.rmSync(path.join(sandbox, name), { recursive: true, force: true })
}

// A sandbox-relative path; a leading '/' is accepted (the app's view), '..' is not.
function relativePath(p) {
  if (typeof p !== 'string') throw new Error(`path must be a string, got ${typeof p}`)
  const rel = p.replace(/^\/+/, '').replace(/\/+$/, '')
  if (rel === '' || rel.split('/').some((s) => s === '..' || s === '.' || s === '')) {
    throw new Error(`invalid sandbox path ${JSON.stringify(p)}`)
  }
  return rel
}

// Deterministic pseudo-random bytes: the AES-128-CTR keystream of a key derived from the seed.
// Fast (GB/s) and produced chunk by chunk, so a 256 MiB file never sits in memory.
function writeRandom(fd, size, seed) {
  const key = crypto.createHash('sha256').update(`backup-device:${seed}`).digest().subarray(0, 16)
  const cipher = crypto.createCipheriv('aes-128-ctr', key, Buffer.alloc(16))
  const zeros = Buffer.alloc(Math.min(CHUNK, Math.max(size, 1)))
  let left = size
  while (left > 0) {
    const n = Math.min(left, zeros.length)
    const chunk = cipher.update(n === zeros.length ? zeros : zeros.subarray(0, n))
    let off = 0
    while (off < chunk.length) off += fs.writeSync(fd, chunk, off, chunk.length - off)
    left -= n
  }
}

function toDate(t, what) {
  if (t instanceof Date) return t
  if (typeof t === 'number' && Number.isFinite(t)) return new Date(t)
  throw new Error(`${what} must be a Date or milliseconds since the epoch`)
}

function writeContent(file, content, rel) {
  if (typeof content === 'string' || Buffer.isBuffer(content) || content instanceof Uint8Array) {
    fs.writeFileSync(file, content)
  } else if (content && typeof content === 'object' && content.size !== undefined) {
    if (!Number.isInteger(content.size) || content.size < 0) throw new Error(`${rel}: size must be a non-negative integer`)
    const fd = fs.openSync(file, 'w')
    try {
      writeRandom(fd, content.size, content.seed === undefined ? rel : content.seed)
    } finally {
      fs.closeSync(fd)
    }
  } else {
    throw new Error(`${rel}: content must be a string, a Buffer or { size, seed? }`)
  }
}

/**
 * Writes files into the bundle's sandbox. `files` maps a sandbox-relative path
 * ('data/storage/el2/base/files/a.txt'; a trailing '/' makes a directory) to a string, a
 * Buffer, `{ size, seed? }` (deterministic pseudo-random bytes; seed defaults to the path) or
 * `{ content, mode?, mtime? }` (mtime: Date or ms; directories take `{ mode?, mtime? }`).
 * Files get a whole-second mtime (now, unless given): OpenHarmony's tar headers and .rp
 * reports keep seconds, so such a tree compares equal after a round trip through any of them.
 */
function writeFiles(root, bundleName, files = {}) {
  const sandbox = sandboxOf(root, bundleName)
  const now = new Date(Math.floor(Date.now() / 1000) * 1000)
  const dirAttrs = []
  const entries = Object.entries(files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  for (const [key, value] of entries) {
    const rel = relativePath(key)
    const target = path.join(sandbox, rel)
    const spec = value && typeof value === 'object' && !Buffer.isBuffer(value) && !(value instanceof Uint8Array) ? value : null
    if (key.endsWith('/')) {
      fs.mkdirSync(target, { recursive: true })
      // Applied after all files are in, since writing a child changes the dir's mtime and a
      // read-only mode would stop the writes.
      if (spec && (spec.mode !== undefined || spec.mtime !== undefined)) dirAttrs.push([target, spec, rel])
      continue
    }
    fs.mkdirSync(path.dirname(target), { recursive: true })
    const content = spec && 'content' in spec ? spec.content : value
    if (content === undefined || content === null) throw new Error(`${rel}: no content`)
    // Replace rather than write through: the old file could be read-only or a symlink.
    fs.rmSync(target, { force: true })
    writeContent(target, content, rel)
    if (spec && spec.mode !== undefined) fs.chmodSync(target, spec.mode)
    const mtime = spec && spec.mtime !== undefined ? toDate(spec.mtime, `${rel}: mtime`) : now
    fs.utimesSync(target, mtime, mtime)
  }
  // Deepest first, so setting a child's mtime does not disturb its parent's.
  dirAttrs.sort((a, b) => b[0].length - a[0].length)
  for (const [target, spec, rel] of dirAttrs) {
    if (spec.mode !== undefined) fs.chmodSync(target, spec.mode)
    if (spec.mtime !== undefined) {
      const t = toDate(spec.mtime, `${rel}: mtime`)
      fs.utimesSync(target, t, t)
    }
  }
}

function sha256File(file) {
  const hash = crypto.createHash('sha256')
  const buf = Buffer.allocUnsafe(CHUNK)
  const fd = fs.openSync(file, 'r')
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, CHUNK, null)
      if (n === 0) break
      hash.update(n === CHUNK ? buf : buf.subarray(0, n))
    }
  } finally {
    fs.closeSync(fd)
  }
  return hash.digest('hex')
}

/**
 * Everything under `dir`, as a Map sorted by relative path → { type: 'file'|'dir'|'symlink',
 * size, mode (permission bits), mtimeMs (nearest whole ms), sha256 (files; symlinks: of the target) }.
 * Symlinks are recorded, never followed. `exclude` lists relative paths left out with
 * everything under them; default: the service's work area, data/storage/el2/base/.backup.
 */
function snapshotTree(dir, { exclude = [WORK_AREA] } = {}) {
  const skip = new Set(exclude.map((p) => p.replace(/^\/+|\/+$/g, '')))
  const out = new Map()
  const walk = (abs, rel) => {
    const names = fs.readdirSync(abs).sort()
    for (const name of names) {
      const r = rel ? `${rel}/${name}` : name
      if (skip.has(r)) continue
      const a = path.join(abs, name)
      const st = fs.lstatSync(a, { bigint: true })
      // Nearest whole ms from the exact ns: utimes() takes float seconds, so a time set to a
      // whole ms can read back as x.999999 ms.
      const mtimeMs = Number((st.mtimeNs + 500000n) / 1000000n)
      const entry = { type: 'file', size: Number(st.size), mode: Number(st.mode) & 0o7777, mtimeMs }
      if (st.isDirectory()) {
        out.set(r, { ...entry, type: 'dir', size: 0 })
        walk(a, r)
      } else if (st.isSymbolicLink()) {
        out.set(r, { ...entry, type: 'symlink', sha256: crypto.createHash('sha256').update(fs.readlinkSync(a)).digest('hex') })
      } else if (st.isFile()) {
        out.set(r, { ...entry, sha256: sha256File(a) })
      } else {
        out.set(r, { ...entry, type: 'other' })
      }
    }
  }
  walk(dir, '')
  return out
}

const iso = (ms) => new Date(ms).toISOString()

/**
 * The differences between two snapshots, as readable lines ([] when equal). Files are
 * compared by type, size, mode, mtime and content. Directories by existence and mode; their
 * mtimes only with `{ dirMtime: true }`, since restoring files into a directory legitimately
 * touches its mtime and parent directories are recreated with the time of the restore.
 */
function diffSnapshots(a, b, { dirMtime = false } = {}) {
  const diffs = []
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort()
  for (const k of keys) {
    const x = a.get(k)
    const y = b.get(k)
    if (!y) {
      diffs.push(`${k}: missing (was a ${x.type})`)
      continue
    }
    if (!x) {
      diffs.push(`${k}: unexpected ${y.type}`)
      continue
    }
    if (x.type !== y.type) {
      diffs.push(`${k}: was a ${x.type}, now a ${y.type}`)
      continue
    }
    if (x.mode !== y.mode) diffs.push(`${k}: mode ${x.mode.toString(8)} → ${y.mode.toString(8)}`)
    if (x.type === 'dir') {
      if (dirMtime && x.mtimeMs !== y.mtimeMs) diffs.push(`${k}/: mtime ${iso(x.mtimeMs)} → ${iso(y.mtimeMs)}`)
      continue
    }
    if (x.size !== y.size) diffs.push(`${k}: size ${x.size} → ${y.size}`)
    else if (x.sha256 !== y.sha256) diffs.push(`${k}: content differs`)
    if (x.mtimeMs !== y.mtimeMs) diffs.push(`${k}: mtime ${iso(x.mtimeMs)} → ${iso(y.mtimeMs)}`)
  }
  return diffs
}

/**
 * A testing aid: the backup service of `root` (default: BACKUP_DEVICE_ROOT or the default
 * device) dies: its service process is killed (SIGKILL), or with BACKUP_SERVICE=inprocess the
 * in-process service stops as if it had died. Its active session, if it has work in flight,
 * gets `onBackupServiceDied` and no other event after it; its calls then fail with 13900020;
 * its bundles stop and their extensions die; the device is free for a new session, and its
 * temp data is gone once that session has started. Returns whether a session was active.
 * Needs the built addon.
 */
function simulateServiceDeath(root) {
  const { native, syncEnvironment } = require('./native.js')
  const saved = process.env.BACKUP_DEVICE_ROOT
  if (root !== undefined) process.env.BACKUP_DEVICE_ROOT = path.resolve(root)
  try {
    syncEnvironment()
    return native.stopService()
  } finally {
    if (saved === undefined) delete process.env.BACKUP_DEVICE_ROOT
    else process.env.BACKUP_DEVICE_ROOT = saved
  }
}

/**
 * Stops the service process of `root` if one runs (its sessions' clients see its death) and
 * waits until it is gone; for test teardown. Returns whether one ran.
 */
function stopService(root) {
  const { native, syncEnvironment } = require('./native.js')
  syncEnvironment()
  return native.serviceStop(path.resolve(root))
}

module.exports = {
  simulateServiceDeath,
  stopService,
  WORK_AREA,
  defaultRoot,
  createDevice,
  useDevice,
  installBundle,
  installProject,
  uninstallBundle,
  writeFiles,
  sandboxOf,
  bundleDir,
  listBundles,
  bundleInfo,
  wipeApp,
  snapshotTree,
  diffSnapshots,
  relativePath,
}
