'use strict'
// `fileIo` / `@ohos.file.fs`: the part of OpenHarmony's file API that backup clients, app
// extensions and the @ohos.file.backup documentation examples use, with its semantics (sync,
// promise and callback forms; errors carry the @ohos.file.fs codes), built on Node's `fs`.
//
// Apps and clients write to their own sandbox (`/data/storage/el2/base/...`). Such paths are
// mapped into a sandbox directory on this machine: `BACKUP_CLIENT_SANDBOX`, else
// `<device root>/client` (the extension host sets it to the app's sandbox). Any other path is
// used as it is, so the real paths of `this.context` work too.

const fs = require('fs')
const os = require('os')
const path = require('path')
const picomatch = require('picomatch')
const { BusinessError } = require('./basic-services')

const OpenMode = Object.freeze({
  READ_ONLY: 0o0,
  WRITE_ONLY: 0o1,
  READ_WRITE: 0o2,
  CREATE: 0o100,
  TRUNC: 0o1000,
  APPEND: 0o2000,
  NONBLOCK: 0o4000,
  DIR: 0o200000,
  NOFOLLOW: 0o400000,
  SYNC: 0o4010000,
})
const KNOWN_MODE_BITS = Object.values(OpenMode).reduce((a, b) => a | b, 0)

// @ohos.file.fs error codes (errorcode-filemanagement): errno → [code, documented message].
const ERRNO = {
  EPERM: [13900001, 'Operation not permitted'],
  ENOENT: [13900002, 'No such file or directory'],
  ESRCH: [13900003, 'No such process'],
  EINTR: [13900004, 'Interrupted system call'],
  EIO: [13900005, 'I/O error'],
  ENXIO: [13900006, 'No such device or address'],
  E2BIG: [13900007, 'Arg list too long'],
  EBADF: [13900008, 'Bad file descriptor'],
  ECHILD: [13900009, 'No child processes'],
  EAGAIN: [13900010, 'Try again'],
  ENOMEM: [13900011, 'Out of memory'],
  EACCES: [13900012, 'Permission denied'],
  EFAULT: [13900013, 'Bad address'],
  EBUSY: [13900014, 'Device or resource busy'],
  EEXIST: [13900015, 'File exists'],
  EXDEV: [13900016, 'Cross-device link'],
  ENODEV: [13900017, 'No such device'],
  ENOTDIR: [13900018, 'Not a directory'],
  EISDIR: [13900019, 'Is a directory'],
  EINVAL: [13900020, 'Invalid argument'],
  ENFILE: [13900021, 'File table overflow'],
  EMFILE: [13900022, 'Too many open files'],
  ETXTBSY: [13900023, 'Text file busy'],
  EFBIG: [13900024, 'File too large'],
  ENOSPC: [13900025, 'No space left on device'],
  ESPIPE: [13900026, 'Illegal seek'],
  EROFS: [13900027, 'Read-only file system'],
  EMLINK: [13900028, 'Too many links'],
  EDEADLK: [13900029, 'Resource deadlock would occur'],
  ENAMETOOLONG: [13900030, 'File name too long'],
  ENOSYS: [13900031, 'Function not implemented'],
  ENOTEMPTY: [13900032, 'Directory not empty'],
  ELOOP: [13900033, 'Too many symbolic links encountered'],
  EWOULDBLOCK: [13900034, 'Operation would block'],
  ENODATA: [13900037, 'No data available'],
  EOVERFLOW: [13900038, 'Value too large for defined data type'],
  EDQUOT: [13900041, 'Quota exceeded'],
}
const E_INVAL = 13900020
const E_UNKNOWN = 13900042

function invalid(detail) {
  return new BusinessError(E_INVAL, `Invalid argument: ${detail}`)
}

// A Node fs error becomes the BusinessError @ohos.file.fs would throw; the documented message
// comes first, then the failing call and path so the user sees what went wrong.
function toBusinessError(e) {
  if (e instanceof BusinessError) return e
  const known = ERRNO[e && e.code]
  const [code, text] = known || [E_UNKNOWN, 'Unknown error']
  const where = e && e.syscall ? ` (${e.syscall}${e.path ? ` '${e.path}'` : ''})` : e && !known ? ` (${e.message})` : ''
  return new BusinessError(code, text + where)
}

function wrap(fn) {
  return function (...args) {
    try {
      return fn(...args)
    } catch (e) {
      throw toBusinessError(e)
    }
  }
}

// The device root, by the rule src/device/mod.rs uses: BACKUP_DEVICE_ROOT, else the XDG default.
function deviceRoot() {
  if (process.env.BACKUP_DEVICE_ROOT) return process.env.BACKUP_DEVICE_ROOT
  const data = process.env.XDG_DATA_HOME || path.join(os.homedir(), '.local/share')
  return path.join(data, 'backup/device')
}

/** Where `/data/storage/...` paths of the calling app live on this machine (read at each call). */
function clientSandbox() {
  return process.env.BACKUP_CLIENT_SANDBOX || path.join(deviceRoot(), 'client')
}

const SANDBOX_PREFIX = '/data/storage/'

// Returns { real, sandboxed }: sandboxed paths get their missing parents created on writes,
// since on a device the app's sandbox directories always exist.
function resolvePath(p, what = 'path') {
  if (typeof p !== 'string' || p === '') throw invalid(`${what} must be a non-empty string`)
  if (p.startsWith('file://')) p = decodeURIComponent(p.slice('file://'.length))
  const norm = path.posix.normalize(p)
  const sandbox = clientSandbox()
  if (norm.startsWith(SANDBOX_PREFIX) || norm === '/data/storage') return { real: path.join(sandbox, norm), sandboxed: true }
  // A real path into the sandbox (e.g. an extension's context.filesDir) is the sandbox too.
  const rel = path.relative(path.resolve(sandbox), path.resolve(p))
  return { real: p, sandboxed: rel.startsWith('data/storage/') && !rel.startsWith('..') }
}

function ensureParent({ real, sandboxed }) {
  if (sandboxed) fs.mkdirSync(path.dirname(real), { recursive: true })
}

function checkFd(fd, what = 'fd') {
  if (!Number.isInteger(fd) || fd < 0) throw invalid(`${what} must be a non-negative integer`)
  return fd
}

function optionalInt(v, what) {
  if (v === undefined || v === null) return undefined
  if (!Number.isInteger(v) || v < 0) throw invalid(`${what} must be a non-negative integer`)
  return v
}

/** An open file, as `openSync` returns it. */
class File {
  constructor(fd, filePath) {
    this.fd = fd
    this.path = filePath
    this.name = path.basename(filePath)
  }
}

function openSync(p, mode = OpenMode.READ_ONLY) {
  const target = resolvePath(p)
  if (mode === undefined || mode === null) mode = OpenMode.READ_ONLY
  if (!Number.isInteger(mode) || mode < 0 || (mode & ~KNOWN_MODE_BITS) !== 0) throw invalid(`unknown open mode ${mode}`)
  if (mode & OpenMode.CREATE) ensureParent(target)
  // OpenMode values are the Linux O_* flags, which Node passes to open(2) unchanged.
  const fd = fs.openSync(target.real, mode, 0o660)
  return new File(fd, p)
}

function fdOf(fdOrFile) {
  if (fdOrFile instanceof File || (fdOrFile && typeof fdOrFile === 'object' && 'fd' in fdOrFile)) {
    return checkFd(fdOrFile.fd)
  }
  return checkFd(fdOrFile)
}

function closeSync(fdOrFile) {
  fs.closeSync(fdOf(fdOrFile))
}

const CHUNK = 1 << 20

// Copies everything from `srcFd` (read from offset 0 by positioned reads, so the caller's
// offset does not matter and does not move) to `destFd` (written from offset 0).
function copyFdToFd(srcFd, destFd) {
  const buf = Buffer.allocUnsafe(CHUNK)
  let pos = 0
  for (;;) {
    const n = fs.readSync(srcFd, buf, 0, CHUNK, pos)
    if (n === 0) break
    let off = 0
    while (off < n) off += fs.writeSync(destFd, buf, off, n - off, pos + off)
    pos += n
  }
  return pos
}

function copyFileSync(src, dest, mode = 0) {
  if (mode !== undefined && mode !== 0) throw invalid('mode must be 0')
  const srcIsFd = typeof src === 'number'
  const destIsFd = typeof dest === 'number'
  if (srcIsFd) checkFd(src, 'src')
  if (destIsFd) checkFd(dest, 'dest')
  const srcPath = srcIsFd ? null : resolvePath(src, 'src')
  const destPath = destIsFd ? null : resolvePath(dest, 'dest')
  if (destPath) ensureParent(destPath)
  if (srcPath && destPath) {
    fs.copyFileSync(srcPath.real, destPath.real)
    return
  }
  // Fds the caller gave stay open; only what this call opened is closed.
  const srcFd = srcIsFd ? src : fs.openSync(srcPath.real, 'r')
  try {
    const destFd = destIsFd ? dest : fs.openSync(destPath.real, 'w', 0o660)
    try {
      copyFdToFd(srcFd, destFd)
    } finally {
      if (!destIsFd) fs.closeSync(destFd)
    }
  } finally {
    if (!srcIsFd) fs.closeSync(srcFd)
  }
}

// OpenHarmony's accessSync answers "does it exist": false for a missing file, an exception
// for anything else that goes wrong.
function accessSync(p, mode) {
  const { real } = resolvePath(p)
  const flags = mode === undefined || mode === null ? fs.constants.F_OK : mode
  try {
    fs.accessSync(real, flags)
    return true
  } catch (e) {
    if (e.code === 'ENOENT') return false
    throw e
  }
}

function mkdirSync(p, recursion = false) {
  const target = resolvePath(p)
  if (recursion) fs.mkdirSync(target.real, { recursive: true })
  else {
    ensureParent(target)
    fs.mkdirSync(target.real)
  }
}

// The examples pass 'utf8' where @ohos.file.fs takes `{ offset, length, encoding }`; take both.
function readTextSync(p, options) {
  const { real } = resolvePath(p, 'filePath')
  let offset = 0
  let length
  let encoding = 'utf-8'
  if (typeof options === 'string') encoding = options
  else if (options && typeof options === 'object') {
    offset = optionalInt(options.offset, 'offset') || 0
    length = optionalInt(options.length, 'length')
    if (options.encoding !== undefined) encoding = options.encoding
  }
  if (!/^utf-?8$/i.test(String(encoding))) throw invalid(`encoding must be 'utf-8', got '${encoding}'`)
  if (offset === 0 && length === undefined) return fs.readFileSync(real, 'utf8')
  const fd = fs.openSync(real, 'r')
  try {
    const size = fs.fstatSync(fd).size
    const n = Math.max(0, Math.min(length === undefined ? size : length, size - offset))
    const buf = Buffer.alloc(n)
    let got = 0
    while (got < n) {
      const r = fs.readSync(fd, buf, got, n - got, offset + got)
      if (r === 0) break
      got += r
    }
    return buf.subarray(0, got).toString('utf8')
  } finally {
    fs.closeSync(fd)
  }
}

/** @ohos.file.fs Stat: times in seconds, `mode` the permission bits. */
class Stat {
  constructor(s) {
    this.ino = s.ino
    this.mode = s.mode & 0o777
    this.uid = s.uid
    this.gid = s.gid
    this.size = s.size
    this.atime = Math.floor(s.atimeMs / 1000)
    this.mtime = Math.floor(s.mtimeMs / 1000)
    this.ctime = Math.floor(s.ctimeMs / 1000)
    this.atimeNs = s.atimeNs
    this.mtimeNs = s.mtimeNs
    this.ctimeNs = s.ctimeNs
    Object.defineProperty(this, '_fullMode', { value: s.mode })
  }
  isBlockDevice() { return (this._fullMode & fs.constants.S_IFMT) === fs.constants.S_IFBLK }
  isCharacterDevice() { return (this._fullMode & fs.constants.S_IFMT) === fs.constants.S_IFCHR }
  isDirectory() { return (this._fullMode & fs.constants.S_IFMT) === fs.constants.S_IFDIR }
  isFIFO() { return (this._fullMode & fs.constants.S_IFMT) === fs.constants.S_IFIFO }
  isFile() { return (this._fullMode & fs.constants.S_IFMT) === fs.constants.S_IFREG }
  isSocket() { return (this._fullMode & fs.constants.S_IFMT) === fs.constants.S_IFSOCK }
  isSymbolicLink() { return (this._fullMode & fs.constants.S_IFMT) === fs.constants.S_IFLNK }
}

function statSync(file) {
  const s = typeof file === 'number' ? fs.fstatSync(checkFd(file), { bigint: true }) : fs.statSync(resolvePath(file).real, { bigint: true })
  // bigint keeps the nanoseconds; everything else is a plain number.
  const num = (v) => Number(v)
  return new Stat({
    ino: num(s.ino),
    mode: num(s.mode),
    uid: num(s.uid),
    gid: num(s.gid),
    size: num(s.size),
    atimeMs: num(s.atimeMs),
    mtimeMs: num(s.mtimeMs),
    ctimeMs: num(s.ctimeMs),
    atimeNs: s.atimeNs,
    mtimeNs: s.mtimeNs,
    ctimeNs: s.ctimeNs,
  })
}

function toBytes(buffer, what) {
  if (Buffer.isBuffer(buffer)) return buffer
  if (buffer instanceof ArrayBuffer) return Buffer.from(buffer)
  if (ArrayBuffer.isView(buffer)) return Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength)
  throw invalid(`${what} must be an ArrayBuffer`)
}

// `options.offset` is the position in the file (not in the buffer), as in @ohos.file.fs;
// without it the file's current offset is used and advanced.
function writeSync(fd, buffer, options) {
  checkFd(fd)
  const opts = options && typeof options === 'object' ? options : {}
  let data
  if (typeof buffer === 'string') {
    const enc = opts.encoding === undefined ? 'utf-8' : opts.encoding
    if (!/^utf-?8$/i.test(String(enc))) throw invalid(`encoding must be 'utf-8', got '${enc}'`)
    data = Buffer.from(buffer, 'utf8')
  } else data = toBytes(buffer, 'buffer')
  const length = optionalInt(opts.length, 'length')
  if (length !== undefined && length > data.length) throw invalid('length is larger than the buffer')
  const position = optionalInt(opts.offset, 'offset')
  return fs.writeSync(fd, data, 0, length === undefined ? data.length : length, position === undefined ? null : position)
}

function readSync(fd, buffer, options) {
  checkFd(fd)
  const data = toBytes(buffer, 'buffer')
  const opts = options && typeof options === 'object' ? options : {}
  const length = optionalInt(opts.length, 'length')
  if (length !== undefined && length > data.length) throw invalid('length is larger than the buffer')
  const position = optionalInt(opts.offset, 'offset')
  return fs.readSync(fd, data, 0, length === undefined ? data.length : length, position === undefined ? null : position)
}

function unlinkSync(p) {
  fs.unlinkSync(resolvePath(p).real)
}

// @ohos.file.fs rmdirSync removes a directory with everything in it.
function rmdirSync(p) {
  const { real } = resolvePath(p)
  if (!fs.lstatSync(real).isDirectory()) {
    const e = new Error(`not a directory: ${p}`)
    e.code = 'ENOTDIR'
    e.syscall = 'rmdir'
    e.path = real
    throw e
  }
  fs.rmSync(real, { recursive: true })
}

function renameSync(oldPath, newPath) {
  const to = resolvePath(newPath, 'newPath')
  ensureParent(to)
  fs.renameSync(resolvePath(oldPath, 'oldPath').real, to.real)
}

// The `filter` of listFile: `suffix` (['.txt']), `displayName` (glob patterns, as fnmatch
// matches them on the device), `fileSizeOver` (bytes), `lastModifiedAfter` (seconds).
function fileFilter(filter) {
  if (filter === undefined || filter === null) return () => true
  if (typeof filter !== 'object') throw invalid('filter must be an object')
  const { suffix, displayName, fileSizeOver, lastModifiedAfter } = filter
  const names = Array.isArray(displayName) && displayName.length ? picomatch(displayName, { dot: true }) : null
  return (name, st) => {
    if (Array.isArray(suffix) && suffix.length && !suffix.some((x) => path.extname(name) === x)) return false
    if (names && !names(name)) return false
    if (fileSizeOver !== undefined && !(st.isFile() && st.size > fileSizeOver)) return false
    if (lastModifiedAfter !== undefined && !(st.mtimeMs / 1000 > lastModifiedAfter)) return false
    return true
  }
}

// @ohos.file.fs listFile: names in `dir`; with `recursion`, every file below it (directories
// are not listed) as a path relative to `dir` that starts with '/'. `listNum` (0 = all)
// caps the count.
function listFileSync(dir, options) {
  const { real } = resolvePath(dir)
  const opts = options && typeof options === 'object' ? options : {}
  const listNum = optionalInt(opts.listNum, 'listNum') || 0
  const keep = fileFilter(opts.filter)
  const out = []
  const full = () => listNum > 0 && out.length >= listNum
  const walk = (abs, rel) => {
    for (const name of fs.readdirSync(abs).sort()) {
      if (full()) return
      const st = fs.statSync(path.join(abs, name))
      if (opts.recursion && st.isDirectory()) {
        walk(path.join(abs, name), `${rel}/${name}`)
        continue
      }
      if (keep(name, st)) out.push(opts.recursion ? `${rel}/${name}` : name)
    }
  }
  if (!fs.statSync(real).isDirectory()) {
    throw Object.assign(new Error(`not a directory: ${dir}`), { code: 'ENOTDIR', syscall: 'scandir', path: real })
  }
  walk(real, '')
  return out
}

const syncForms = {
  openSync,
  closeSync,
  copyFileSync,
  accessSync,
  mkdirSync,
  readTextSync,
  statSync,
  writeSync,
  readSync,
  unlinkSync,
  rmdirSync,
  renameSync,
  listFileSync,
}

// `open(...)` beside `openSync(...)`: a promise, or the callback form when the last argument
// is a function (`callback(err, value)`, err undefined on success). Errors are the same
// BusinessErrors the sync form throws.
function asyncForm(sync) {
  return function (...args) {
    const callback = typeof args[args.length - 1] === 'function' ? args.pop() : null
    const result = new Promise((resolve, reject) => {
      setImmediate(() => {
        try {
          resolve(sync(...args))
        } catch (e) {
          reject(toBusinessError(e))
        }
      })
    })
    if (!callback) return result
    result.then(
      (v) => callback(undefined, v),
      (e) => callback(e),
    )
  }
}

const fileIo = {
  OpenMode,
  File,
  Stat,
  clientSandbox,
}
for (const [name, fn] of Object.entries(syncForms)) {
  fileIo[name] = wrap(fn)
  fileIo[name.slice(0, -'Sync'.length)] = asyncForm(fn)
}

// `import fs from '@ohos.file.fs'` and `import { fileIo } from ...` both work.
fileIo.default = fileIo
module.exports = fileIo
