'use strict'
// Progress of a CLI backup or restore run. The client (lib/client.js) reports once, at the
// end, so the run is watched from outside: a backup by the files landing in its output
// folder, a restore by how far this process has read each file of the backup folder
// (/proc/self/fdinfo). "Files" are the app's files: the regular-file entries of the tar parts
// (parsed as they land, by node-tar) plus one per big file, never the tar parts themselves.
// On a TTY a cli-progress bar; otherwise a plain line every few seconds; nothing for
// --json and --quiet.

const fs = require('fs')
const path = require('path')
const cliProgress = require('cli-progress')
const { Parser } = require('tar')
const { bundleFiles } = require('../client')
const { sandboxOf, WORK_AREA } = require('../device')

// The service's tar part names, full (`part.N.tar`) and incremental (`<ms>_part.N.tar`); any
// other data file but manage.json is a big file, one app file.
const PART = /^(\d+_)?part\.\d+\.tar$/
const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile'])
const CHUNK = 1 << 20

/** Counts the app files of one tar part, fed as far as it has been written or read. */
class PartCounter {
  constructor(file) {
    this.file = file
    this.offset = 0
    this.files = 0
    this.parser = new Parser({
      onReadEntry: (entry) => {
        if (FILE_TYPES.has(entry.type)) this.files++
        entry.resume()
      },
    })
  }

  feed(upTo) {
    if (upTo <= this.offset) return
    const fd = fs.openSync(this.file, 'r')
    try {
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, upTo - this.offset))
      while (this.offset < upTo) {
        const n = fs.readSync(fd, buf, 0, Math.min(buf.length, upTo - this.offset), this.offset)
        if (n === 0) break
        this.parser.write(Buffer.from(buf.subarray(0, n)))
        this.offset += n
      }
    } finally {
      fs.closeSync(fd)
    }
  }
}

const sizeOf = (file) => fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0

/** The app files and bytes of one bundle folder of a backup, counted by reading its parts. */
function folderTotals(dir) {
  let files = 0
  let bytes = 0
  for (const uri of bundleFiles(dir)) {
    const file = path.join(dir, uri)
    const size = sizeOf(file)
    bytes += size
    if (PART.test(uri)) {
      const c = new PartCounter(file)
      c.feed(size)
      files += c.files
    } else if (uri !== 'manage.json') files++
  }
  return { files, bytes }
}

/** The regular files and bytes under `dir`, leaving out the folder `skip`. */
function treeSize(dir, skip) {
  let files = 0
  let bytes = 0
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name)
      if (p === skip) continue
      if (e.isDirectory()) walk(p)
      else if (e.isFile()) {
        files++
        bytes += fs.lstatSync(p).size
      }
    }
  }
  try {
    walk(dir)
  } catch {}
  return { files, bytes }
}

/** The regular files and bytes of an app's sandbox (its data, before a backup). */
function sandboxTotals(root, bundle) {
  const sandbox = sandboxOf(root, bundle)
  return treeSize(sandbox, path.join(sandbox, WORK_AREA))
}

// manage.json comes last and lists every file of the bundle with its size
// (src/engine/manage.rs); the bundle has landed once each of them has been copied whole. The client may still
// be copying a part when manage.json arrives.
function bundleComplete(dir) {
  let entries
  try {
    entries = JSON.parse(fs.readFileSync(path.join(dir, 'manage.json'), 'utf8'))
  } catch {
    return false // not written whole yet
  }
  return Array.isArray(entries) && entries.every((e) => e && sizeOf(path.join(dir, String(e.fileName))) === e.information?.stat?.st_size)
}

/** Watches `<outDir>/<bundle>/` fill up: bytes landed, app files in them, bundles done. */
function watchBackup(root, outDir, bundles) {
  const estimate = bundles.map((b) => sandboxTotals(root, b))
  const counters = new Map()
  const total = { bundles: bundles.length, files: sum(estimate, 'files'), bytes: sum(estimate, 'bytes'), estimated: true }
  const perBundle = {}
  function poll() {
    let bundlesDone = 0
    for (const b of bundles) {
      const dir = path.join(outDir, b)
      const s = { files: 0, bytes: 0 }
      let uris = []
      try {
        uris = bundleFiles(dir)
      } catch {}
      for (const uri of uris) {
        const file = path.join(dir, uri)
        const size = sizeOf(file)
        s.bytes += size
        if (PART.test(uri)) {
          if (!counters.has(file)) counters.set(file, new PartCounter(file))
          const c = counters.get(file)
          c.feed(size)
          s.files += c.files
        } else if (uri !== 'manage.json') s.files++
      }
      if (uris.includes('manage.json') && bundleComplete(dir)) bundlesDone++
      perBundle[b] = s
    }
    return { bundles: bundlesDone, files: sum(Object.values(perBundle), 'files'), bytes: sum(Object.values(perBundle), 'bytes'), perBundle }
  }
  return { total, poll }
}

// This process's open files under `dir`, with how far each has been read.
function readPositions(dir) {
  const positions = new Map()
  let fds = []
  try {
    fds = fs.readdirSync('/proc/self/fd')
  } catch {
    return positions
  }
  for (const fd of fds) {
    try {
      const target = fs.readlinkSync(`/proc/self/fd/${fd}`)
      if (!target.startsWith(dir + path.sep)) continue
      const pos = Number(/pos:\s+(\d+)/.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))[1])
      positions.set(target, Math.max(positions.get(target) || 0, pos))
    } catch {}
  }
  return positions
}

/**
 * Watches a restore read its backup folder: exact totals first, then bytes and files read. A
 * bundle is done once the service has consumed the manage.json the client wrote into the app's
 * work area (src/engine/restore.rs), once it has unpacked the bundle.
 */
function watchRestore(root, inDir, bundles) {
  const state = bundles.map((b) => {
    const dir = path.join(inDir, b)
    let uris = []
    try {
      uris = bundleFiles(dir)
    } catch {} // a missing folder is that bundle's error, reported by the client
    const files = uris.map((uri) => ({ uri, path: path.join(dir, uri), size: sizeOf(path.join(dir, uri)), read: 0, seen: false }))
    const workArea = path.join(sandboxOf(root, b), WORK_AREA, 'restore')
    return { bundle: b, files, workArea, totals: uris.length ? folderTotals(dir) : { files: 0, bytes: 0 }, counters: new Map() }
  })
  const perBundle = Object.fromEntries(state.map((s) => [s.bundle, s.totals]))
  const total = { bundles: bundles.length, files: sum(state.map((s) => s.totals), 'files'), bytes: sum(state.map((s) => s.totals), 'bytes'), estimated: false, perBundle }
  function poll({ final = false } = {}) {
    const open = readPositions(inDir)
    let bundlesDone = 0
    let files = 0
    let bytes = 0
    for (const s of state) {
      // A file is sent once its copy in the work area is whole; the client also asks for a
      // bundle's files in order, so one that is closed once a later one was opened was read
      // whole (the service may already have unpacked and removed it).
      let later = false
      for (let i = s.files.length - 1; i >= 0; i--) {
        const f = s.files[i]
        const pos = open.get(f.path)
        if (pos !== undefined) f.read = Math.max(f.read, pos)
        if (final || (pos === undefined && (f.seen || later)) || sizeOf(path.join(s.workArea, f.uri)) === f.size) f.read = f.size
        if (pos !== undefined) f.seen = true
        later ||= f.seen
      }
      let n = 0
      for (const f of s.files) {
        bytes += f.read
        if (PART.test(f.uri)) {
          if (!s.counters.has(f.path)) s.counters.set(f.path, new PartCounter(f.path))
          const c = s.counters.get(f.path)
          c.feed(f.read)
          n += c.files
        } else if (f.uri !== 'manage.json' && f.read === f.size) n++
      }
      files += n
      // Done once everything was sent and the service has consumed the bundle's manage.json.
      const sent = s.files.every((f) => f.read === f.size)
      if (sent && fs.existsSync(path.join(s.workArea, 'manage.json'))) s.unpacking = true
      if (final || (sent && s.unpacking && !fs.existsSync(path.join(s.workArea, 'manage.json')))) bundlesDone++
    }
    return { bundles: bundlesDone, files, bytes, perBundle }
  }
  return { total, poll }
}

function sum(list, key) {
  return list.reduce((n, x) => n + x[key], 0)
}

function fmtBytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024
    i++
  }
  return i === 0 ? `${n} B` : `${n.toFixed(1)} ${units[i]}`
}

function fmtSeconds(s) {
  if (!Number.isFinite(s)) return '?'
  if (s < 60) return `${Math.ceil(s)}s`
  return `${Math.floor(s / 60)}m${String(Math.ceil(s % 60)).padStart(2, '0')}s`
}

// The numbers of one moment, in words both outputs use.
function describe(verb, total, now, elapsed) {
  const rate = elapsed > 0 ? now.bytes / elapsed : 0
  const left = Math.max(0, total.bytes - now.bytes)
  const approx = total.estimated ? '~' : ''
  return {
    bundles: `${now.bundles}/${total.bundles}`,
    files: `${now.files}/${approx}${Math.max(total.files, now.files)}`,
    bytes: `${fmtBytes(now.bytes)}/${approx}${fmtBytes(Math.max(total.bytes, now.bytes))}`,
    rate: `${fmtBytes(rate)}/s`,
    left: rate > 0 ? fmtSeconds(left / rate) : '?',
    verb,
  }
}

const LINE_EVERY_MS = 2000
const BAR_EVERY_MS = 200

/**
 * Runs `run()` while showing the progress `watcher` sees. mode: 'bar' (a TTY), 'lines'
 * (plain periodic lines), 'none'. Resolves with run's result and the watcher's final numbers.
 */
async function withProgress({ verb, watcher, mode, stream = process.stdout }, run) {
  const started = Date.now()
  const elapsed = () => (Date.now() - started) / 1000
  const { total } = watcher
  let bar = null
  let timer = null
  if (mode === 'bar') {
    bar = new cliProgress.SingleBar(
      {
        format: `${verb} {bar} {percentage}% | bundles {bundles} | files {files} | {bytes} | {rate} | ETA {left}`,
        stream,
        hideCursor: true,
        clearOnComplete: false,
        fps: 1000 / BAR_EVERY_MS,
      },
      cliProgress.Presets.shades_classic,
    )
    bar.start(Math.max(total.bytes, 1), 0, describe(verb, total, { bundles: 0, files: 0, bytes: 0 }, 0))
    timer = setInterval(() => {
      const now = watcher.poll()
      bar.setTotal(Math.max(total.bytes, now.bytes, 1))
      bar.update(now.bytes, describe(verb, total, now, elapsed()))
    }, BAR_EVERY_MS)
  } else if (mode === 'lines') {
    const line = (now, t = total) => {
      const d = describe(verb, t, now, elapsed())
      stream.write(`${verb}: bundles ${d.bundles}, files ${d.files}, ${d.bytes}, ${d.rate}, ETA ${d.left}\n`)
    }
    line({ bundles: 0, files: 0, bytes: 0 })
    timer = setInterval(() => line(watcher.poll()), LINE_EVERY_MS)
    timer.line = line
  }
  let result
  try {
    result = await run()
  } finally {
    if (timer) clearInterval(timer)
  }
  const final = watcher.poll({ final: true })
  if (bar) {
    bar.setTotal(Math.max(final.bytes, 1))
    bar.update(final.bytes, describe(verb, { ...total, bytes: final.bytes, files: final.files, estimated: false }, final, elapsed()))
    bar.stop()
  } else if (timer) timer.line(final, { ...total, bytes: final.bytes, files: final.files, estimated: false })
  return { result, final }
}

/** How the run reports itself: --json and --quiet show no progress; a TTY gets the bar. */
function progressMode(values, stream = process.stdout) {
  if (values.json || values.quiet) return 'none'
  return stream.isTTY ? 'bar' : 'lines'
}

module.exports = { withProgress, progressMode, watchBackup, watchRestore, folderTotals, fmtBytes, treeSize }
