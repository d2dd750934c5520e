'use strict'
// Runs the documentation examples stored verbatim under __test__/doc-examples/examples/ against a
// fresh device, and records what a user of the example would see: its console output, every
// callback the service makes (with the fds it hands over), every call the example makes on the
// backup module and every fd it closes, all on one ordered timeline.
//
// How an example runs:
// - its text is transpiled by __test__/support/ts-transform.js (the Jest transform for .ts), then
//   run inside a function whose `require` maps the documented import names the way the Jest
//   moduleNameMapper does, to spied wrappers of the real modules, and whose `console` records;
// - top-level `await` works (the body runs in an async function), so API 10's snippets run;
// - a fragment printed as an object member, `onFileReady: (err, file) => {...}` (a labelled
//   arrow function in JS), is captured as `fragments.onFileReady` instead of being dropped;
// - names the doc page defines in an earlier example (`sessionRestore`, ...) can be given in
//   `scope`, and late-bound with `setScope`; top-level names listed in `exports` are returned.
//
// The spies never change arguments or results. Two things they add, because every restore
// example leaves "write the data" to the reader: a restore `onFileReady` fd gets the bytes of the
// file of that name from the backup made beforehand (`h.storeFor`), written before the example's
// callback sees the fd; and a backup `onFileReady` fd is read to the end (by pread, so the
// example's own reads are unaffected) into the receive directory before the example closes it.

const crypto = require('crypto')
const fs = require('fs')
const os = require('os')
const path = require('path')
const util = require('util')
const { Worker, SHARE_ENV } = require('worker_threads')
const ts = require('typescript')
const tsTransform = require('./ts-transform')

// The same names the Jest moduleNameMapper maps; resolved through it, so the mapping is what
// is exercised.
const realKit = require('@kit.CoreFileKit')
const realBackup = require('@ohos.file.backup')
const realFs = require('@ohos.file.fs')
const realBasic = require('@kit.BasicServicesKit')
const device = require('backup/device')

const EXAMPLES = path.join(__dirname, '..', 'doc-examples', 'examples')
const SPEC_DIR = process.env.BACKUP_SPEC_DIR || path.resolve(__dirname, '..', '..', '..', 'shared', 'spec')
const CHUNK = 1 << 20
const KEEP_IN_MEMORY = 8 << 20

// ---- examples -----------------------------------------------------------------------------------

/** The stored example `name` (file name without extension): its text and where it comes from. */
function loadExample(name) {
  const file = ['.ts', '.js'].map((e) => path.join(EXAMPLES, name + e)).find((f) => fs.existsSync(f))
  if (!file) throw new Error(`no stored example ${name} in ${EXAMPLES}`)
  const source = fs.readFileSync(file, 'utf8')
  const m = /^\/\/ Documentation example: spec\/(\S+) lines (\d+)-(\d+) /m.exec(source)
  if (!m) throw new Error(`${file}: missing the "Documentation example: spec/<file> lines <a>-<b>" header`)
  return { name, file, source, spec: m[1], first: Number(m[2]), last: Number(m[3]) }
}

/** Every stored example. */
function listExamples() {
  return fs
    .readdirSync(EXAMPLES)
    .filter((f) => /\.(ts|js)$/.test(f))
    .sort()
    .map((f) => loadExample(f.replace(/\.(ts|js)$/, '')))
}

/** Lines `first..last` (1-based, inclusive) of a spec file, or null when the spec is not here. */
function specLines(spec, first, last) {
  const file = path.join(SPEC_DIR, spec)
  if (!fs.existsSync(file)) return null
  return fs.readFileSync(file, 'utf8').split('\n').slice(first - 1, last)
}

/** The example's own lines: without the header comment and the import lines the port added. */
function exampleBody(ex) {
  const lines = ex.source.replace(/\n$/, '').split('\n')
  let i = 0
  while (i < lines.length && lines[i].startsWith('// ')) i++
  return lines.slice(i).filter((l) => !l.includes('// [port:'))
}

/** Applies explicit text patches (each must match exactly once) to a source. */
function applyPatches(source, patches = []) {
  for (const { find, replace } of patches) {
    const at = source.indexOf(find)
    if (at < 0 || source.indexOf(find, at + 1) >= 0) throw new Error(`patch ${JSON.stringify(find)} must match exactly once`)
    source = source.slice(0, at) + replace + source.slice(at + find.length)
  }
  return source
}

/** Syntax errors TypeScript finds in the example (after patches), as "line: message". */
function syntaxErrors(ex, patches) {
  const out = ts.transpileModule(applyPatches(ex.source, patches), {
    fileName: path.basename(ex.file),
    reportDiagnostics: true,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020 },
  })
  return (out.diagnostics || []).map((d) => {
    const line = d.file ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : '?'
    return `${line}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`
  })
}

// `onFileReady: (err, file) => {...}` as a statement is a label on an arrow function that is
// created and dropped; rewrite each such label into `__fragments.onFileReady = ...`.
function captureFragments(js) {
  const sf = ts.createSourceFile('example.js', js, ts.ScriptTarget.ES2020, true, ts.ScriptKind.JS)
  const edits = []
  const visit = (node) => {
    if (ts.isLabeledStatement(node) && ts.isExpressionStatement(node.statement)) {
      const e = node.statement.expression
      if (ts.isArrowFunction(e) || ts.isFunctionExpression(e)) {
        edits.push([node.label.getStart(sf), e.getStart(sf), `__fragments.${node.label.text} = `])
      }
    }
    ts.forEachChild(node, visit)
  }
  visit(sf)
  for (const [from, to, text] of edits.sort((a, b) => b[0] - a[0])) js = js.slice(0, from) + text + js.slice(to)
  return js
}

const IDENT = /^[A-Za-z_$][\w$]*$/

/** Compiles an example into `(require, console, scope, fragments) => Promise<exports>`. */
function compileExample(ex, { patches, inject = [], exports = [] } = {}) {
  for (const n of [...inject, ...exports]) if (!IDENT.test(n)) throw new Error(`bad name ${n}`)
  const source = applyPatches(ex.source, patches)
  const js = captureFragments(tsTransform.process(source, ex.file).code)
  const ret = exports.map((n) => `${JSON.stringify(n)}: typeof ${n} === 'undefined' ? undefined : ${n}`).join(', ')
  const text = [
    ...inject.map((n) => `let ${n} = __scope.${n};`),
    `__scope.__set = (n, v) => { switch (n) { ${inject.map((n) => `case ${JSON.stringify(n)}: ${n} = v; break;`).join(' ')} default: throw new Error('not in scope: ' + n) } };`,
    'return (async () => {',
    js,
    `;return { ${ret} };`,
    '})();',
    `//# sourceURL=doc-examples/examples/${path.basename(ex.file)}`,
  ].join('\n')
  return new Function('exports', 'require', 'module', 'console', '__scope', '__fragments', text)
}

// ---- fds ----------------------------------------------------------------------------------------

function fstat(fd) {
  try {
    return fs.fstatSync(fd)
  } catch {
    return null
  }
}

/** Whether `fd` is open for writing: a zero-byte pwrite fails with EBADF otherwise. */
function isWritable(fd) {
  try {
    fs.writeSync(fd, Buffer.alloc(0), 0, 0, 0)
    return true
  } catch {
    return false
  }
}

/** Reads the whole file behind `fd` from offset 0 by pread; copies it to `dest` if given. */
function drainFd(fd, dest) {
  const hash = crypto.createHash('sha256')
  const buf = Buffer.allocUnsafe(CHUNK)
  const kept = []
  let pos = 0
  const out = dest ? fs.openSync(dest, 'w') : null
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, CHUNK, pos)
      if (n === 0) break
      const chunk = buf.subarray(0, n)
      hash.update(chunk)
      if (out !== null) fs.writeSync(out, chunk)
      if (pos < KEEP_IN_MEMORY) kept.push(Buffer.from(chunk))
      pos += n
    }
  } finally {
    if (out !== null) fs.closeSync(out)
  }
  return { size: pos, sha256: hash.digest('hex'), bytes: pos <= KEEP_IN_MEMORY ? Buffer.concat(kept) : null }
}

/** Writes the file `src` (or a Buffer) into `fd` from offset 0 by pwrite; returns the byte count. */
function fillFd(fd, src) {
  if (Buffer.isBuffer(src)) {
    let off = 0
    while (off < src.length) off += fs.writeSync(fd, src, off, src.length - off, off)
    return src.length
  }
  const inFd = fs.openSync(src, 'r')
  const buf = Buffer.allocUnsafe(CHUNK)
  let pos = 0
  try {
    for (;;) {
      const n = fs.readSync(inFd, buf, 0, CHUNK, pos)
      if (n === 0) break
      let off = 0
      while (off < n) off += fs.writeSync(fd, buf, off, n - off, pos + off)
      pos += n
    }
  } finally {
    fs.closeSync(inFd)
  }
  return pos
}

function sha256(data) {
  return crypto.createHash('sha256').update(data).digest('hex')
}

// ---- tar ----------------------------------------------------------------------------------------

function octal(buf) {
  if (buf[0] & 0x80) {
    // base-256
    let v = 0
    for (let i = 1; i < buf.length; i++) v = v * 256 + buf[i]
    return v
  }
  const s = buf.toString('latin1').replace(/\0.*$/s, '').trim()
  return s === '' ? 0 : parseInt(s, 8)
}

function cstr(buf) {
  const z = buf.indexOf(0)
  return buf.subarray(0, z < 0 ? buf.length : z).toString('utf8')
}

/** The entries of a ustar/GNU/pax archive: { name, type: 'file'|'dir'|'other', mode, size, mtime, data }. */
function parseTar(bytes) {
  const entries = []
  let off = 0
  let longName = null
  let paxPath = null
  while (off + 512 <= bytes.length) {
    const h = bytes.subarray(off, off + 512)
    if (h.every((b) => b === 0)) break
    const stored = octal(h.subarray(148, 156))
    let sum = 0
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]
    if (sum !== stored) throw new Error(`tar: bad header checksum at offset ${off}`)
    const size = octal(h.subarray(124, 136))
    const type = String.fromCharCode(h[156] || 0x30)
    const data = bytes.subarray(off + 512, off + 512 + size)
    off += 512 + Math.ceil(size / 512) * 512
    if (type === 'L') {
      longName = cstr(data)
      continue
    }
    if (type === 'x') {
      const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(data.toString('utf8'))
      paxPath = m ? m[1] : null
      continue
    }
    if (type === 'g') continue
    const prefix = cstr(h.subarray(345, 500))
    const name = paxPath || longName || (prefix ? `${prefix}/${cstr(h.subarray(0, 100))}` : cstr(h.subarray(0, 100)))
    longName = paxPath = null
    entries.push({
      name,
      type: type === '0' || type === '\0' || type === '7' ? 'file' : type === '5' ? 'dir' : 'other',
      mode: octal(h.subarray(100, 108)),
      size,
      mtime: octal(h.subarray(136, 148)),
      data: Buffer.from(data),
    })
  }
  return entries
}

// ---- the environment ---------------------------------------------------------------------------

// Under Jest, `process.env` is a copy made for the test file: writing it does not change the
// process environment that the native addon reads (getenv). A worker sharing the environment
// writes the real one. Values of null remove the variable. Jest's copy is set as well.
function setEnv(vars) {
  for (const [k, v] of Object.entries(vars)) {
    if (v === null || v === undefined) delete process.env[k]
    else process.env[k] = v
  }
  return new Promise((resolve, reject) => {
    const w = new Worker(
      `const { workerData } = require('worker_threads')
       for (const [k, v] of Object.entries(workerData)) { if (v === null) delete process.env[k]; else process.env[k] = v }`,
      { eval: true, env: SHARE_ENV, workerData: Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, v === undefined ? null : v])) },
    )
    w.on('error', reject)
    w.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`env worker exited with ${code}`))))
  })
}

// ---- fixtures -----------------------------------------------------------------------------------

/**
 * A small app's data under the default include directories: text files, a nested directory, an
 * empty directory, a database file and one big file (> 2 MiB, sent as itself).
 */
function appData(tag) {
  return {
    'data/storage/el2/base/files/hello.txt': `Hello from ${tag}\n`,
    'data/storage/el2/base/files/notes/2024/today.md': `# ${tag}\n- back up\n- restore\n`,
    'data/storage/el2/base/files/empty/': {},
    'data/storage/el2/base/preferences/settings.xml': `<prefs owner="${tag}"/>\n`,
    'data/storage/el2/database/rdb/app.db': { size: 48 * 1024 + 7, seed: `${tag}-db` },
    'data/storage/el2/base/files/media/clip.mp4': { size: 3 * 1024 * 1024 + 5, seed: `${tag}-clip` },
  }
}

// ---- the harness --------------------------------------------------------------------------------

const MAIN_EVENTS = ['onBundleBegin', 'onFileReady', 'onBundleEnd', 'onAllBundlesEnd']

function errInfo(err) {
  if (err === undefined || err === null) return err
  return { code: err.code, message: err.message, data: err.data, name: err.name, isError: err instanceof Error }
}

function createHarness() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'doc-examples-'))
  const savedEnv = { BACKUP_DEVICE_ROOT: process.env.BACKUP_DEVICE_ROOT, BACKUP_CLIENT_SANDBOX: process.env.BACKUP_CLIENT_SANDBOX }
  const h = {
    tmp,
    root: null,
    clientSandbox: path.join(tmp, 'client'),
    timeline: [],
    sessions: [],
    snapshots: new Map(),
    /** bundle → Map(uri → { path, size, sha256, bytes }) from the last backup (`h.backupNow`). */
    store: new Map(),
    /** bundle → [uri…] in the order the backup delivered them. */
    order: new Map(),
    /** Optional (file) => Buffer | string path | null: what to write into a restore fd instead. */
    supplyOverride: null,
  }
  const push = (entry) => {
    entry.seq = h.timeline.length
    h.timeline.push(entry)
    if (process.env.DOC_EXAMPLES_VERBOSE) process.stdout.write(`[doc] ${JSON.stringify(entry, (k, v) => (k === 'bytes' ? undefined : v))}\n`)
    return entry
  }

  // ---- console -----------------------------------------------------------------------------------
  const capture = {}
  for (const level of ['log', 'info', 'warn', 'error', 'debug']) {
    capture[level] = (...args) => push({ type: 'console', level, text: util.format(...args) })
  }

  // ---- spied fileIo ------------------------------------------------------------------------------
  const spiedFs = { ...realFs }
  spiedFs.closeSync = (x) => {
    const fd = x && typeof x === 'object' ? x.fd : x
    push({ type: 'close', fd })
    return realFs.closeSync(x)
  }
  spiedFs.default = spiedFs

  // ---- spied callbacks -----------------------------------------------------------------------------
  function onFileReadyWrapper(original, kind, sessionNo) {
    return function onFileReady(err, file) {
      const ev = { type: 'event', name: 'onFileReady', session: sessionNo, kind, err: errInfo(err) }
      if (file) {
        ev.file = { bundleName: file.bundleName, uri: file.uri, fd: file.fd, manifestFd: file.manifestFd }
        ev.open = fstat(file.fd) !== null
        if (kind === 'restore') {
          ev.writable = isWritable(file.fd)
          const override = h.supplyOverride ? h.supplyOverride(file) : undefined
          const stored = h.store.get(file.bundleName) && h.store.get(file.bundleName).get(file.uri)
          const src = override !== undefined && override !== null ? override : stored ? stored.path : null
          if (src !== null && ev.writable) ev.supplied = fillFd(file.fd, src)
        } else if (ev.open) {
          const dir = path.join(tmp, 'received', `session${sessionNo}`, file.bundleName)
          fs.mkdirSync(dir, { recursive: true })
          const safe = /^[A-Za-z0-9_.]+$/.test(file.uri) && file.uri !== '.' && file.uri !== '..'
          const got = drainFd(file.fd, safe ? path.join(dir, file.uri) : null)
          Object.assign(ev, got, { path: safe ? path.join(dir, file.uri) : null, writable: isWritable(file.fd) })
        }
      }
      push(ev)
      return original(err, file)
    }
  }

  function wrapCallbacks(cbs, kind, sessionNo) {
    const out = {}
    for (const key of Object.keys(cbs)) {
      const cb = cbs[key]
      if (typeof cb !== 'function') {
        out[key] = cb
      } else if (key === 'onFileReady') {
        out[key] = onFileReadyWrapper(cb, kind, sessionNo)
      } else {
        out[key] = function (...args) {
          const ev = { type: 'event', name: key, session: sessionNo, kind }
          if (MAIN_EVENTS.includes(key)) {
            ev.err = errInfo(args[0])
            ev.value = args[1]
            ev.errObject = args[0]
          } else {
            ev.args = args
          }
          push(ev)
          return cb.apply(this, args)
        }
      }
    }
    return out
  }

  // ---- spied backup module ---------------------------------------------------------------------
  function captureFileData(call, data) {
    if (data && typeof data.fd === 'number' && data.fd >= 0) {
      const got = drainFd(data.fd)
      call.fileData = { fd: data.fd, size: got.size, text: got.bytes ? got.bytes.toString('utf8') : null }
    }
  }

  function trackCall(name, args, run) {
    const call = push({ type: 'call', name, args: args.map((a) => (typeof a === 'function' ? '[callback]' : a)) })
    const last = args[args.length - 1]
    if (typeof last === 'function') {
      args = args.slice(0, -1).concat(function (err, value) {
        push({ type: 'callback', name, err: errInfo(err), errObject: err, value, of: call.seq })
        return last.apply(this, arguments)
      })
    }
    let r
    try {
      r = run(args, call)
    } catch (e) {
      call.threw = errInfo(e)
      throw e
    }
    if (r && typeof r.then === 'function') {
      call.state = 'pending'
      r.then(
        (v) => {
          call.state = 'resolved'
          call.value = v
        },
        (e) => {
          call.state = 'rejected'
          call.error = errInfo(e)
        },
      )
    } else {
      call.returned = r
    }
    call.result = r
    return r
  }

  function spySession(Real, kind) {
    const Spy = class extends Real {
      constructor(...args) {
        const sessionNo = h.sessions.length
        const cbs = args[0]
        const wrapped = cbs && typeof cbs === 'object' && !Array.isArray(cbs) ? [wrapCallbacks(cbs, kind, sessionNo), ...args.slice(1)] : args
        push({ type: 'call', name: `new ${Real.name}`, session: sessionNo })
        super(...wrapped)
        h.sessions.push({ kind, session: this, callbacks: cbs })
      }
    }
    Object.defineProperty(Spy, 'name', { value: Real.name })
    for (const m of Object.getOwnPropertyNames(Real.prototype)) {
      if (m === 'constructor' || typeof Real.prototype[m] !== 'function') continue
      Spy.prototype[m] = function (...args) {
        return trackCall(`${Real.name}.${m}`, args, (a, call) => {
          const r = Real.prototype[m].apply(this, a)
          if (m === 'getLocalCapabilities' && r && typeof r.then === 'function') {
            return r.then((d) => {
              captureFileData(call, d)
              return d
            })
          }
          return r
        })
      }
    }
    return Spy
  }

  const spiedBackup = { ...realBackup }
  spiedBackup.SessionBackup = spySession(realBackup.SessionBackup, 'backup')
  spiedBackup.SessionRestore = spySession(realBackup.SessionRestore, 'restore')
  spiedBackup.IncrementalBackupSession = spySession(realBackup.IncrementalBackupSession, 'incremental')
  spiedBackup.getLocalCapabilities = function (...args) {
    let call
    const last = args[args.length - 1]
    if (typeof last === 'function') {
      args = args.slice(0, -1).concat((err, data) => {
        captureFileData(call, data)
        return last(err, data)
      })
    }
    const r = trackCall('backup.getLocalCapabilities', args, (a, c) => {
      call = c
      const p = realBackup.getLocalCapabilities(...a)
      return p && typeof p.then === 'function'
        ? p.then((d) => {
            captureFileData(call, d)
            return d
          })
        : p
    })
    return r
  }
  spiedBackup.getBackupVersion = (...args) => trackCall('backup.getBackupVersion', args, (a) => realBackup.getBackupVersion(...a))
  spiedBackup.backup = spiedBackup
  spiedBackup.default = spiedBackup

  const spiedKit = { ...realKit, backup: spiedBackup, fileIo: spiedFs }
  spiedKit.default = spiedKit

  const modules = {
    '@kit.CoreFileKit': spiedKit,
    '@ohos.file.backup': spiedBackup,
    '@ohos.file.fs': spiedFs,
    '@kit.BasicServicesKit': realBasic,
  }
  function exampleRequire(id) {
    if (Object.prototype.hasOwnProperty.call(modules, id)) return modules[id]
    throw new Error(`the example imports ${id}, which the harness does not map`)
  }

  Object.assign(h, {
    backup: spiedBackup,
    fileIo: spiedFs,
    real: realBackup,
    BusinessError: realBasic.BusinessError,

    /**
     * A fresh device: `bundles` maps bundle names to installBundle options (files included);
     * `info` goes to device.json. Sets BACKUP_DEVICE_ROOT and BACKUP_CLIENT_SANDBOX.
     */
    async device({ info, bundles = {} } = {}) {
      h.root = device.createDevice(path.join(tmp, 'device'), info)
      for (const [name, opts] of Object.entries(bundles)) {
        device.installBundle(h.root, name, opts)
        h.snapshots.set(name, device.snapshotTree(device.sandboxOf(h.root, name)))
      }
      await setEnv({ BACKUP_DEVICE_ROOT: h.root, BACKUP_CLIENT_SANDBOX: h.clientSandbox })
      return h.root
    },
    sandboxOf: (name) => device.sandboxOf(h.root, name),
    snapshot: (name) => device.snapshotTree(device.sandboxOf(h.root, name)),
    wipeApp: (name) => device.wipeApp(h.root, name),
    /** Differences between the bundle's data at install time and now ([] when restored exactly). */
    diffFromInstall: (name) => device.diffSnapshots(h.snapshots.get(name), device.snapshotTree(device.sandboxOf(h.root, name))),
    /** A path the examples write as /data/storage/... on this machine. */
    clientPath: (p) => path.join(h.clientSandbox, p),

    /**
     * Runs a stored example. Returns { exports, fragments, error } once its top-level code has
     * finished (an exception escaping the example is returned as `error`, not thrown).
     */
    async run(name, { scope = {}, exports = [], patches } = {}) {
      const ex = loadExample(name)
      const fn = compileExample(ex, { patches, inject: Object.keys(scope), exports })
      const fragments = {}
      const sc = { ...scope }
      push({ type: 'run', example: name })
      try {
        const result = await fn({}, exampleRequire, { exports: {} }, capture, sc, fragments)
        return { exports: result, fragments, setScope: sc.__set }
      } catch (error) {
        return { exports: {}, fragments, setScope: sc.__set, error }
      }
    },

    // ---- the timeline --------------------------------------------------------------------------
    logs: (level) => h.timeline.filter((e) => e.type === 'console' && (!level || e.level === level)).map((e) => e.text),
    errorLogs: () => h.logs('error'),
    events: (name, session) => h.timeline.filter((e) => e.type === 'event' && (!name || e.name === name) && (session === undefined || e.session === session)),
    calls: (name) => h.timeline.filter((e) => e.type === 'call' && e.name === name),
    closes: () => h.timeline.filter((e) => e.type === 'close'),
    /** Whether the fd handed over by timeline entry `ev` was closed (by fileIo.closeSync) after it. */
    closedAfter: (fd, seq) => h.timeline.some((e) => e.type === 'close' && e.fd === fd && e.seq > seq),
    /** Console lines of the main callbacks, in order (onProcess/onResultReport lines left out). */
    mainLogs: () =>
      h.logs().filter((t) => /^(onFileReady|onBundleBegin|onBundleEnd|onAllBundlesEnd)\b/.test(t)),

    /** Waits until `pred()` is true, polling; fails with the timeline when it takes too long. */
    async waitFor(pred, what, timeoutMs = 20000) {
      const until = Date.now() + timeoutMs
      for (;;) {
        if (pred()) return
        if (Date.now() > until) {
          const tail = h.timeline.slice(-40).map((e) => JSON.stringify(e, (k, v) => (k === 'bytes' || k === 'errObject' || k === 'result' ? undefined : v)))
          throw new Error(`timed out waiting for ${what}; last timeline entries:\n${tail.join('\n')}`)
        }
        await new Promise((r) => setTimeout(r, 5))
      }
    },
    waitForEvent: (name, count = 1, timeoutMs) => h.waitFor(() => h.events(name).length >= count, `${count} × ${name}`, timeoutMs),
    waitForLog: (text, timeoutMs) => h.waitFor(() => h.logs().some((l) => l.includes(text)), `a console line with ${JSON.stringify(text)}`, timeoutMs),
    /** Waits until every call of `method` (e.g. 'SessionBackup.release') has settled: a call
     * travels to the service process and back, so no fixed wait will do. */
    waitForSettled: (method, timeoutMs) =>
      h.waitFor(() => h.calls(method).length > 0 && h.calls(method).every((c) => c.state !== 'pending'), `${method} to settle`, timeoutMs),
    /** Lets already-queued events and promise settlements run. */
    settle: async (ms = 50) => {
      await new Promise((r) => setTimeout(r, ms))
    },

    // ---- backup and restore by the harness (plain API use, not an example) ---------------------------

    /**
     * Backs up `bundles` with a SessionBackup of its own and keeps what arrived as the data a
     * later restore example writes into its fds. Returns bundle → [uri…] in delivery order.
     */
    async backupNow(bundles) {
      const first = h.timeline.length
      const s = new spiedBackup.SessionBackup({
        onFileReady: (err, file) => {
          if (file) realFs.closeSync(file.fd)
        },
        onBundleBegin: () => {},
        onBundleEnd: () => {},
        onAllBundlesEnd: () => {},
        onBackupServiceDied: () => {},
      })
      const no = h.sessions.length - 1
      await s.appendBundles(bundles)
      await h.waitFor(() => h.events('onAllBundlesEnd', no).length > 0, 'the harness backup to end', 60000)
      await s.release()
      const bad = h.timeline.slice(first).filter((e) => e.type === 'event' && e.session === no && e.err)
      if (bad.length) throw new Error(`the harness backup failed: ${JSON.stringify(bad.map((e) => [e.name, e.err]))}`)
      for (const b of bundles) {
        const files = h.events('onFileReady', no).filter((e) => e.file && e.file.bundleName === b)
        h.store.set(b, new Map(files.map((e) => [e.file.uri, e])))
        h.order.set(b, files.map((e) => e.file.uri))
      }
      return new Map(bundles.map((b) => [b, h.order.get(b)]))
    },

    /** The fd of a fresh capability file of this device (module getLocalCapabilities, not spied). */
    async capabilityFd() {
      const d = await realBackup.getLocalCapabilities()
      return d.fd
    },

    /**
     * Drives a restore session the way the docs describe, around an example: appends the bundle
     * (unless `append: false`), asks for every file the backup delivered (getFileHandle), waits
     * for their onFileReady, and publishes the bundle with uri '' (unless `publish: false`).
     */
    async restoreWith(session, bundle, { append = true, publish = true, uris } = {}) {
      const no = h.sessions.findIndex((s) => s.session === session)
      if (append) {
        const fd = await h.capabilityFd()
        try {
          await session.appendBundles(fd, [bundle])
        } finally {
          realFs.closeSync(fd)
        }
      }
      const want = uris || h.order.get(bundle)
      const before = h.events('onFileReady', no).filter((e) => e.file && e.file.bundleName === bundle).length
      for (const uri of want) await session.getFileHandle({ bundleName: bundle, uri })
      await h.waitFor(
        () => h.events('onFileReady', no).filter((e) => e.file && e.file.bundleName === bundle).length >= before + want.length,
        `${want.length} restore handles of ${bundle}`,
      )
      if (publish) await session.publishFile({ bundleName: bundle, uri: '' })
    },

    /** Releases every session the examples and the harness made, restores the environment. */
    async cleanup() {
      for (const { session } of h.sessions) {
        try {
          await Object.getPrototypeOf(Object.getPrototypeOf(session)).release.call(session)
        } catch {}
      }
      await setEnv(savedEnv)
      if (!process.env.DOC_EXAMPLES_KEEP) fs.rmSync(tmp, { recursive: true, force: true })
    },
  })
  return h
}

// ---- checks shared by the tests -----------------------------------------------------------------

/**
 * What a full backup of `bundle` delivered (its onFileReady events, in order) checked against
 * the app's data: `manage.json` comes last and lists every other file; the tar parts and big
 * files together hold exactly the app's files with their bytes, and its empty directories.
 * Returns a list of problems ([] when the backup is right) and a summary.
 */
function checkBackup(events, sandboxSnapshot) {
  const problems = []
  const uris = events.map((e) => e.file.uri)
  if (uris[uris.length - 1] !== 'manage.json') problems.push(`manage.json is not the last file: ${uris.join(', ')}`)
  const manage = events.find((e) => e.file.uri === 'manage.json')
  let listed = []
  try {
    listed = JSON.parse(manage.bytes.toString('utf8'))
  } catch (e) {
    problems.push(`manage.json is not a JSON array: ${e.message}`)
  }
  const names = new Set(listed.map((x) => x.fileName))
  const others = uris.filter((u) => u !== 'manage.json')
  if ([...names].sort().join() !== [...others].sort().join()) problems.push(`manage.json lists [${[...names].sort()}] but the files were [${others.sort()}]`)
  const got = new Map() // relative path → sha256 | 'dir'
  for (const e of events) {
    if (e.file.uri === 'manage.json') continue
    const entry = listed.find((x) => x.fileName === e.file.uri) || {}
    const isTar = entry.isBigFile === false || (entry.isBigFile === undefined && e.file.uri.endsWith('.tar'))
    if (isTar && !entry.isUserTar) {
      for (const t of parseTar(e.bytes || fs.readFileSync(e.path))) {
        const rel = t.name.replace(/^\/+/, '').replace(/\/+$/, '')
        got.set(rel, t.type === 'dir' ? 'dir' : t.type === 'file' ? sha256(t.data) : 'other')
      }
    } else {
      const p = entry.information && entry.information.path
      if (!p) problems.push(`big file ${e.file.uri} has no information.path in manage.json`)
      else got.set(p.replace(/^\/+/, ''), e.sha256)
    }
  }
  const emptyDirs = [...sandboxSnapshot].filter(([k, v]) => v.type === 'dir' && ![...sandboxSnapshot.keys()].some((o) => o.startsWith(k + '/')))
  for (const [k, v] of sandboxSnapshot) {
    if (v.type === 'file' && got.get(k) !== v.sha256) problems.push(`${k}: ${got.has(k) ? 'bytes differ' : 'missing from the backup'}`)
  }
  for (const [k] of emptyDirs) if (got.get(k) !== 'dir') problems.push(`${k}/: empty directory missing from the backup`)
  for (const [k, v] of got) {
    const s = sandboxSnapshot.get(k)
    if (!s) problems.push(`${k}: in the backup but not in the app's data`)
    else if (v !== 'dir' && s.type !== 'file') problems.push(`${k}: a ${s.type} backed up as a file`)
  }
  return { problems, uris, listed }
}

/**
 * The per-bundle order a client must see: onBundleBegin, its onFileReady events, onBundleEnd;
 * and onAllBundlesEnd after every bundle. Returns a list of problems.
 */
function checkEventOrder(events, bundles) {
  const problems = []
  const seq = (pred) => events.filter(pred).map((e) => e.seq)
  for (const b of bundles) {
    const begin = seq((e) => e.name === 'onBundleBegin' && !e.err && e.value === b)
    const files = seq((e) => e.name === 'onFileReady' && e.file && e.file.bundleName === b)
    const end = seq((e) => e.name === 'onBundleEnd' && !e.err && e.value === b)
    if (begin.length !== 1) problems.push(`${b}: ${begin.length} successful onBundleBegin`)
    if (end.length !== 1) problems.push(`${b}: ${end.length} successful onBundleEnd`)
    if (files.some((s) => s < begin[0] || s > end[0])) problems.push(`${b}: onFileReady outside onBundleBegin..onBundleEnd`)
  }
  const all = seq((e) => e.name === 'onAllBundlesEnd')
  const lastEnd = Math.max(...seq((e) => e.name === 'onBundleEnd' || e.name === 'onBundleBegin'))
  if (all.length !== 1) problems.push(`${all.length} onAllBundlesEnd`)
  else if (all[0] < lastEnd) problems.push('onAllBundlesEnd before the last bundle event')
  return problems
}

module.exports = {
  createHarness,
  setEnv,
  loadExample,
  listExamples,
  specLines,
  exampleBody,
  syntaxErrors,
  compileExample,
  parseTar,
  appData,
  checkBackup,
  checkEventOrder,
  sha256,
  SPEC_DIR,
}
