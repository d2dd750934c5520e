#!/usr/bin/env node
'use strict'
// `npm run bench` (builds the release addon first) or `node bench/run.js [options]`:
// times this addon's backup and restore against GNU tar on the same trees, side by side,
// and prints a table of medians, ratios and targets; results also go to bench/out/latest.json.
//
//   --quick            fewer runs (2 for small data, 1 for large)
//   --runs N           N runs for every case
//   --only id,id       only these cases (ids: see CASES below)
//   --no-incremental   skip the incremental case (A with 1% of files touched, then unchanged)
//   --strict           exit 1 when a target is missed
//   --keep             keep the work directories (saved backups, tar extractions)
//   --release          time target/<triple>/release/libbackup.so instead of the built .node
//   --addon FILE       time this addon file instead
//   --tmpfs DIR        the tmpfs for the restore-on-tmpfs cases (default: one the bench mounts
//                      when it runs as root, under bench/out/tmpfs, and unmounts at the end)
//   --scale            also the scale cases: 1,000,000 files in one bundle, 1,000 bundles in
//                      one session (data made once, minutes; runs once each unless --runs)
//   --markdown         also print the table as Markdown (the README's table)
//   BENCH_SCALE=0.1    a smaller data set (file counts and big-file sizes scaled)
//
// Every case runs one untimed warm-up of each side first (so both read from a warm page
// cache), `sync`s before every sample (so no side pays for the other's dirty pages), and
// alternates the two sides' samples.

const fs = require('fs')
const os = require('os')
const path = require('path')
const { spawnSync, execFileSync } = require('child_process')

const { ensureData, ensureScaleData, smallFiles, FILES_REL, writeRandomFile, installMeta } = require('./generate')

// ---- options -------------------------------------------------------------------------------

function parseArgs(argv) {
  const o = { quick: false, runs: undefined, only: undefined, incremental: true, strict: false, keep: false, addon: undefined, tmpfs: undefined, scale: false }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--quick') o.quick = true
    else if (a === '--runs') o.runs = Number(argv[++i])
    else if (a === '--only') o.only = argv[++i].split(',')
    else if (a === '--no-incremental') o.incremental = false
    else if (a === '--incremental') o.incremental = true // the default; kept for old command lines
    else if (a === '--strict') o.strict = true
    else if (a === '--keep') o.keep = true
    else if (a === '--release') o.addon = 'release'
    else if (a === '--addon') o.addon = path.resolve(argv[++i])
    else if (a === '--tmpfs') o.tmpfs = path.resolve(argv[++i])
    else if (a === '--scale') o.scale = true
    else if (a === '--markdown') o.markdown = true
    else if (a === '--help' || a === '-h') {
      console.log(fs.readFileSync(__filename, 'utf8').split('\n').slice(2, 24).join('\n').replace(/^\/\/ ?/gm, ''))
      process.exit(0)
    } else throw new Error(`unknown option ${a}`)
  }
  if (o.runs !== undefined && !(Number.isInteger(o.runs) && o.runs > 0)) throw new Error('--runs takes a positive integer')
  return o
}

const opts = parseArgs(process.argv.slice(2))
const RUNS = {
  small: opts.runs || (opts.quick ? 2 : 5),
  large: opts.runs || (opts.quick ? 1 : 3),
  scale: opts.runs || 1,
}

// ---- the addon under test -------------------------------------------------------------------
//
// A private copy (package.json, index.js, binding.js, lib/native.js and lib/platforms.js, the extension host, the .node) in bench/out/addon/, loaded by this
// process and the RSS child: other people's builds during the run cannot swap it. Its build
// profile is found by comparing it with cargo's outputs.

const ROOT = path.join(__dirname, '..')
const NODE_FILE = 'backup.linux-x64-gnu.node'
const TRIPLE = 'x86_64-unknown-linux-gnu'

function sameBytes(a, b) {
  try {
    if (fs.statSync(a).size !== fs.statSync(b).size) return false
    const hash = (f) => require('crypto').createHash('sha256').update(fs.readFileSync(f)).digest('hex')
    return hash(a) === hash(b)
  } catch {
    return false
  }
}

function snapshotAddon() {
  const source =
    opts.addon === 'release' ? path.join(ROOT, 'target', TRIPLE, 'release', 'libbackup.so') : opts.addon || path.join(ROOT, NODE_FILE)
  if (!fs.existsSync(source)) throw new Error(`no addon at ${source}: build it first (npm run build)`)
  const dir = path.join(__dirname, 'out', 'addon')
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(dir, { recursive: true })
  // All of lib/: the service process (lib/service/main.js) and the extension host run from it.
  fs.cpSync(path.join(ROOT, 'lib'), path.join(dir, 'lib'), { recursive: true })
  for (const f of ['package.json', 'index.js', 'binding.js']) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f))
  fs.copyFileSync(source, path.join(dir, NODE_FILE))
  let profile = 'unknown'
  for (const p of ['release', 'debug']) {
    if (sameBytes(source, path.join(ROOT, 'target', TRIPLE, p, 'libbackup.so'))) profile = p
  }
  return { dir, source, profile }
}

const addon = snapshotAddon()
process.env.BENCH_ADDON_DIR = addon.dir
if (addon.profile !== 'release') {
  console.error(`WARNING: the addon under test (${addon.source}) is a ${addon.profile} build; run \`npm run bench\` or pass --release`)
}

// ---- data and the API client ---------------------------------------------------------------

const data = ensureData({ log: (m) => console.error(m) })
process.env.BACKUP_DEVICE_ROOT = data.root
const { runBackup, runRestore, native } = require('./api')
const { snapshotTree, diffSnapshots } = require('../lib/device')

const WORK = path.join(data.dir, 'work')
fs.rmSync(WORK, { recursive: true, force: true })
fs.mkdirSync(WORK, { recursive: true })

// ---- measuring -----------------------------------------------------------------------------

const now = () => Number(process.hrtime.bigint()) / 1e9

async function timed(fn) {
  const t0 = now()
  await fn()
  return now() - t0
}

/** Runs a shell pipeline; throws with its stderr if it fails. */
function sh(cmd) {
  const r = spawnSync('sh', ['-c', cmd], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`${cmd}: exit ${r.status}: ${r.stderr}`)
}

const q = (p) => `'${p.replace(/'/g, `'\\''`)}'`

function syncDisks() {
  spawnSync('sync')
}

async function ourBackupOrThrow(args) {
  const stats = await runBackup(args)
  if (stats.errors.length) throw new Error(`backup reported errors: ${stats.errors.slice(0, 3).join('; ')}`)
  return stats
}

async function ourRestoreOrThrow(args) {
  const stats = await runRestore(args)
  if (stats.errors.length) throw new Error(`restore reported errors: ${stats.errors.slice(0, 3).join('; ')}`)
  return stats
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

// ---- the cases -----------------------------------------------------------------------------
//
// One entry per case. `ours(ctx)` and `tar(ctx)` each return one sample (seconds, or bytes
// for an RSS case); `before(ctx, side)` runs untimed before every sample; `prepare(ctx)` once
// before the warm-up; `finish(ctx)` once at the end and may return notes (a failed check
// there marks the case failed); `recover(ctx)` puts the device's data back after an error. `target` is { ratio } (ours/tar median at most) or
// { maxBytes } (ours median below). To add a case, add an entry; nothing else changes.

const S = data.bundles.small
const L = data.bundles.large

/**
 * A full backup of `b` against `tar -cf - | cat`. `transport`: the BACKUP_SERVICE value
 * ours runs with (undefined: the default, whatever the caller's environment says).
 * `forgetHashes`: every sample is a first backup, with no big-file hash remembered from the
 * one before (the service keeps them in `<root>/service/hashes/`).
 */
function backupCase(id, title, b, sizeKey, ratio, { transport, forgetHashes } = {}) {
  let t = title
  if (transport) t += `, BACKUP_SERVICE=${transport}`
  if (forgetHashes) t += ', no remembered hashes'
  return {
    id,
    title: t,
    runs: RUNS[sizeKey],
    unit: 's',
    target: { ratio },
    before: (ctx, side) => {
      if (forgetHashes && side === 'ours') fs.rmSync(path.join(data.root, 'service', 'hashes'), { recursive: true, force: true })
      syncDisks()
    },
    ours: async () => {
      const saved = process.env.BACKUP_SERVICE
      if (transport) process.env.BACKUP_SERVICE = transport
      let stats
      try {
        const t = await timed(async () => (stats = await ourBackupOrThrow({ bundles: [b.bundle] })))
        // The client really read the data: at least every byte of the tree.
        if (stats.bytes < b.bytes) throw new Error(`the client read ${stats.bytes} bytes, fewer than the ${b.bytes} of the tree`)
        return t
      } finally {
        if (saved === undefined) delete process.env.BACKUP_SERVICE
        else process.env.BACKUP_SERVICE = saved
      }
    },
    tar: () => timed(() => sh(`tar -C ${q(b.sandbox)} -cf - ${FILES_REL} | cat >/dev/null`)),
  }
}

/**
 * A restore of `b` (one of data.bundles, or its copy on the tmpfs) from our own backup of it,
 * against `tar -xf` of its tarball on the same file system (`work` is a directory there).
 * Fresh: ours restores into a wiped sandbox, tar into an empty directory. `over`: both
 * restore over the data the previous sample left (the app's data as it was backed up, tar's
 * own earlier extraction), so ours replaces every file in place.
 */
function restoreCase(id, title, b, sizeKey, ratio, { work = WORK, root = data.root, over = false, setup } = {}) {
  const saved = path.join(work, `${id}-backup`)
  const extractDir = path.join(work, `${id}-tar`)
  const onDevice = (fn) => async () => {
    process.env.BACKUP_DEVICE_ROOT = root
    try {
      return await fn()
    } finally {
      process.env.BACKUP_DEVICE_ROOT = data.root
    }
  }
  return {
    id,
    title,
    runs: RUNS[sizeKey],
    unit: 's',
    target: { ratio },
    // The backup to restore, made once by this addon; over existing data, tar's first
    // extraction is there before the warm-up.
    prepare: async () => {
      if (setup) setup()
      await onDevice(() => ourBackupOrThrow({ bundles: [b.bundle], saveDir: saved }))()
      fs.rmSync(extractDir, { recursive: true, force: true })
      fs.mkdirSync(extractDir, { recursive: true })
      if (over) sh(`tar -C ${q(extractDir)} -xf ${q(b.tarball)}`)
    },
    before: (ctx, side) => {
      if (!over && side === 'ours') fs.rmSync(path.join(b.sandbox, 'data'), { recursive: true, force: true })
      if (!over && side === 'tar') {
        fs.rmSync(extractDir, { recursive: true, force: true })
        fs.mkdirSync(extractDir, { recursive: true })
      }
      syncDisks()
    },
    ours: onDevice(() => timed(() => ourRestoreOrThrow({ bundles: [b.bundle], inDir: saved }))),
    tar: () => timed(() => sh(`tar -C ${q(extractDir)} -xf ${q(b.tarball)}`)),
    // A failed restore must not leave the benchmark device without its data: put it back.
    recover: () => {
      fs.rmSync(path.join(b.sandbox, 'data'), { recursive: true, force: true })
      sh(`tar -C ${q(b.sandbox)} -xf ${q(b.tarball)}`)
    },
    // The last restore left the app's data in place: it must equal what tar extracted.
    finish: () => {
      const diffs = diffSnapshots(snapshotTree(path.join(extractDir, FILES_REL)), snapshotTree(b.tree))
      if (diffs.length) throw new Error(`restored tree differs from the original: ${diffs.slice(0, 5).join('; ')}`)
      fs.rmSync(saved, { recursive: true, force: true })
      if (work !== WORK) fs.rmSync(extractDir, { recursive: true, force: true })
      return `restored tree verified (${b.files} files, content, modes, mtimes)`
    },
  }
}

// ---- the tmpfs ----------------------------------------------------------------------------
//
// Restores of A are also timed with both sides writing to a tmpfs, where writeback and
// discard do not make a run take 0.5 s or 3.5 s at random: `--tmpfs DIR`, or one this
// process mounts (as root) and unmounts at exit. On it: a device with a copy of bundle A.

const tmpfs = { dir: null, mounted: false, why: null, device: null }

function fsTypeOf(dir) {
  const r = spawnSync('findmnt', ['-no', 'FSTYPE', '-T', dir], { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : 'unknown'
}

function ensureTmpfs() {
  if (tmpfs.dir || tmpfs.why) return
  let dir = opts.tmpfs
  if (!dir && process.getuid && process.getuid() === 0) {
    dir = path.join(__dirname, 'out', 'tmpfs')
    fs.mkdirSync(dir, { recursive: true })
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4g,mode=700', 'bench-tmpfs', dir], { encoding: 'utf8' })
    if (r.status !== 0) {
      tmpfs.why = `cannot mount a tmpfs at ${dir}: ${r.stderr.trim()}; pass --tmpfs DIR`
      return
    }
    tmpfs.mounted = true
  }
  if (!dir) {
    tmpfs.why = 'not root, so no tmpfs mounted; pass --tmpfs DIR (a tmpfs directory) to time restores on one'
    return
  }
  tmpfs.dir = dir
  tmpfs.type = fsTypeOf(dir)
  const root = path.join(dir, 'device')
  fs.rmSync(root, { recursive: true, force: true })
  const sandbox = installMeta(root, S.bundle)
  sh(`tar -C ${q(sandbox)} -xf ${q(S.tarball)}`)
  fs.copyFileSync(S.tarball, path.join(dir, 'small.tar'))
  fs.mkdirSync(path.join(dir, 'work'), { recursive: true })
  tmpfs.device = { root, small: { ...S, sandbox, tree: path.join(sandbox, FILES_REL), tarball: path.join(dir, 'small.tar') } }
}

function releaseTmpfs() {
  if (tmpfs.mounted) {
    // The tmpfs device's service process may still be idling there (3 s): stop it first, or
    // the unmount fails busy and the mounts stack up run after run.
    try {
      native.serviceStop(tmpfs.device.root)
    } catch {
      // no service there, or the device was never made on it: nothing holds the tmpfs
    }
    if (spawnSync('umount', [tmpfs.dir]).status !== 0) spawnSync('umount', ['-l', tmpfs.dir])
    tmpfs.mounted = false
  } else if (tmpfs.dir) fs.rmSync(path.join(tmpfs.dir, 'device'), { recursive: true, force: true })
}
process.on('exit', releaseTmpfs)

/** A restore case of A on the tmpfs; it fails with the reason when there is none. */
function tmpfsRestoreCase(id, title, ratio, over) {
  let inner
  const get = () => {
    ensureTmpfs()
    if (tmpfs.why) throw new Error(tmpfs.why)
    inner ||= restoreCase(id, `${title}, ${tmpfs.type}`, tmpfs.device.small, 'small', ratio, { work: path.join(tmpfs.dir, 'work'), root: tmpfs.device.root, over })
    return inner
  }
  return {
    id,
    title,
    runs: RUNS.small,
    unit: 's',
    target: { ratio },
    prepare: async (ctx) => get().prepare(ctx),
    before: (ctx, side) => get().before(ctx, side),
    ours: (ctx) => get().ours(ctx),
    tar: (ctx) => get().tar(ctx),
    finish: (ctx) => get().finish(ctx),
    recover: (ctx) => inner && inner.recover(ctx),
    retitle: () => inner && inner.title,
  }
}

function parseKb(text) {
  const m = /(\d+)\s*$/.exec(text.trim())
  return m ? Number(m[1]) * 1024 : NaN
}

const rssCase = {
  id: 'rss-large',
  title: `peak RSS, backup of B (${(L.bytes / 2 ** 30).toFixed(2)} GiB)`,
  runs: RUNS.large,
  unit: 'B',
  target: { maxBytes: 150e6 },
  noWarmup: true,
  // A child node process that does nothing but the backup, reporting its own VmHWM.
  ours: () => {
    const out = execFileSync(process.execPath, [path.join(__dirname, 'rss-child.js'), 'backup', L.bundle], {
      env: { ...process.env, BACKUP_DEVICE_ROOT: data.root },
      encoding: 'utf8',
    })
    const r = JSON.parse(out.trim().split('\n').pop())
    if (r.errors.length) throw new Error(`backup reported errors: ${r.errors.slice(0, 3).join('; ')}`)
    return r.peakRss
  },
  // tar's own peak RSS, for scale (GNU time's %M, in KiB).
  tar: () => {
    if (!fs.existsSync('/usr/bin/time')) return NaN
    const report = path.join(WORK, 'tar-time.txt')
    sh(`/usr/bin/time -f %M -o ${q(report)} tar -C ${q(L.sandbox)} -cf - ${FILES_REL} | cat >/dev/null`)
    return parseKb(fs.readFileSync(report, 'utf8'))
  },
  finish: () => {
    const out = execFileSync(process.execPath, [path.join(__dirname, 'rss-child.js'), 'idle'], { encoding: 'utf8' })
    return `an idle node process with the addon loaded peaks at ${(JSON.parse(out).peakRss / 1e6).toFixed(0)} MB`
  },
}

// Incremental backup of A with 1% of its files touched, against GNU tar's level-1
// `--listed-incremental` dump of the same change. Both sides start from a level-0 baseline
// made once in prepare(); finish() puts the touched files' original bytes back.
function incrementalCase() {
  const id = 'incremental-small'
  const baseDir = path.join(WORK, `${id}-baseline`)
  const snar0 = path.join(WORK, `${id}.snar0`)
  const snar = path.join(WORK, `${id}.snar`)
  const touched = smallFiles(data.spec.small).filter((f) => f.index % 100 === 7)
  let lastTime
  return {
    id,
    title: `incremental backup of A, ${touched.length} files (1%) touched`,
    runs: RUNS.small,
    unit: 's',
    target: { ratio: 1.5 }, // issue 13: ≤ 1.5× GNU tar --listed-incremental level 1
    prepare: async () => {
      // Our baseline: a first incremental backup (no manifest) whose manage.json report is
      // the full listing; tar's: a level-0 snapshot file.
      await ourBackupOrThrow({ incremental: [{ bundleName: S.bundle, lastIncrementalTime: 0 }], saveDir: baseDir })
      sh(`tar --listed-incremental=${q(snar0)} -C ${q(S.sandbox)} -cf - ${FILES_REL} | cat >/dev/null`)
      lastTime = Math.floor(Date.now() / 1000)
      const later = new Date((lastTime + 2) * 1000)
      for (const f of touched) {
        const file = path.join(S.tree, f.rel)
        writeRandomFile(file, f.size, 'bench-touched', f.index)
        fs.utimesSync(file, later, later)
      }
    },
    before: (ctx, side) => {
      if (side === 'tar') fs.copyFileSync(snar0, snar)
      syncDisks()
    },
    ours: async () => {
      const fd = fs.openSync(path.join(baseDir, S.bundle, 'manage.json.rp'), 'r')
      try {
        let stats
        const t = await timed(async () => {
          stats = await ourBackupOrThrow({ incremental: [{ bundleName: S.bundle, lastIncrementalTime: lastTime, manifestFd: fd }] })
        })
        if (stats.bytes > 0.2 * S.bytes) throw new Error(`the incremental backup sent ${stats.bytes} bytes, more than a fifth of A`)
        return t
      } finally {
        fs.closeSync(fd)
      }
    },
    tar: () => timed(() => sh(`tar --listed-incremental=${q(snar)} -C ${q(S.sandbox)} -cf - ${FILES_REL} | cat >/dev/null`)),
    finish: async () => {
      try {
        return `${touched.length} files touched, then put back; ${await nothingChanged()}`
      } finally {
        for (const f of touched) writeRandomFile(path.join(S.tree, f.rel), f.size, data.spec.small.seed, f.index)
      }
    },
  }

  // Issue 3: an incremental run with nothing changed reads no file content. A listing of A
  // as it is now, then a run against it with lastIncrementalTime 0 (every file a candidate,
  // each trusted on size and mtime): what this process and the service process read
  // (rchar) minus the baseline (which the service reads) and the files this process was
  // sent is the content read.
  async function nothingChanged() {
    const nowDir = path.join(WORK, `${id}-now`)
    const outDir = path.join(WORK, `${id}-unchanged`)
    await ourBackupOrThrow({ incremental: [{ bundleName: S.bundle, lastIncrementalTime: 0 }], saveDir: nowDir })
    const listing = path.join(nowDir, S.bundle, 'manage.json.rp')
    const fd = fs.openSync(listing, 'r')
    let read
    try {
      // The service a run just used is still up (it idles 3 s): the same process serves the next.
      const pid = servicePid()
      const before = rchar(pid)
      await ourBackupOrThrow({ incremental: [{ bundleName: S.bundle, lastIncrementalTime: 0, manifestFd: fd }], saveDir: outDir })
      if (pid !== servicePid()) throw new Error('the service process changed during the nothing-changed run: its reads were not counted')
      read = rchar(pid) - before
    } finally {
      fs.closeSync(fd)
    }
    const sent = fs.readdirSync(path.join(outDir, S.bundle))
    const delivered = sent.reduce((n, f) => n + fs.statSync(path.join(outDir, S.bundle, f)).size, 0)
    const content = read - fs.statSync(listing).size - delivered
    const mib = (b) => `${(b / 2 ** 20).toFixed(2)} MiB`
    const line = `nothing changed: sent ${sent.filter((f) => !f.endsWith('.rp')).join(', ')}; read ${mib(read)} = baseline ${mib(fs.statSync(listing).size)} + sent ${mib(delivered)} + other ${mib(content)} (A holds ${mib(S.bytes)})`
    // Config files and the like are a few KiB; reading even 1% of A's files would be ~1.7 MiB.
    if (content > 256 * 1024) throw new Error(`${line}: file content was read`)
    return line
  }
}

/** Bytes this process has read through read(2) and friends, all threads included. */
/**
 * Bytes read so far (/proc/<pid>/io rchar, every thread) by this process and by the device's
 * service process, which reads the baseline and the app's files; `servicePid` is null with
 * BACKUP_SERVICE=inprocess, where the service's reads are this process's.
 */
function rchar(servicePid) {
  const of = (pid) => Number(/^rchar:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/io`, 'utf8'))[1])
  return of('self') + (servicePid ? of(servicePid) : 0)
}

/** The pid of the service process of the bench's device, started if it is not running. */
function servicePid() {
  if (process.env.BACKUP_SERVICE === 'inprocess') return null
  return JSON.parse(native.serviceStart(data.root)).pid
}

// ---- the scale cases (--scale) -------------------------------------------------------------
//
// Each sample of ours is a child `node` process (bench/rss-child.js) doing only that, so
// its peak RSS is also measured; the per-file (per-bundle) cost is compared with the small
// case's in the same run.

const scale = opts.scale ? ensureScaleData({ log: (m) => console.error(m) }) : null

/** One child run of rss-child.js on the scale device: { seconds, peakRss, … }. */
/** Stops the service process of device `root` if one runs (the next client starts a fresh one). */
function stopService(root) {
  native.serviceStop(root)
}

function scaleChild(args) {
  stopService(scale.root)
  const out = execFileSync(process.execPath, [path.join(__dirname, 'rss-child.js'), ...args], {
    env: { ...process.env, BACKUP_DEVICE_ROOT: scale.root },
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  })
  const r = JSON.parse(out.trim().split('\n').pop())
  if (r.errors.length) throw new Error(`${args[0]} reported errors: ${r.errors.slice(0, 3).join('; ')}`)
  return r
}

/** Records a child's peak RSS in ctx and returns its time. */
function sampled(ctx, r) {
  ;(ctx.rss ||= []).push(r.peakRss)
  if (r.servicePeakRss !== null) (ctx.serviceRss ||= []).push(r.servicePeakRss)
  return r.seconds
}

/** The peak RSS rows of a scale case: the client's Node process and the service process. */
const rssRow = (what) => (ctx) => [
  { title: `peak RSS, ${what} (client Node process)`, unit: 'B', values: ctx.rss || [], target: { maxBytes: 200e6 } },
  { title: `peak RSS, ${what} (service process)`, unit: 'B', values: ctx.serviceRss || [], target: { maxBytes: 200e6 } },
]

function scaleCases() {
  const M = scale.million
  const saved = path.join(WORK, 'million-backup')
  const extractDir = path.join(WORK, 'million-tar')
  const names = scale.bundles.names
  const sandboxes = path.join(WORK, 'bundles.list')
  return [
    {
      id: 'backup-million',
      title: `backup M: ${M.files.toLocaleString('en')} files of 100–500 B`,
      runs: RUNS.scale,
      unit: 's',
      noWarmup: true,
      target: { perFile: { of: 'backup-small', max: 1.2, files: M.files } },
      // One read of the tree instead of a warm-up of each side: both then start from the cache.
      prepare: () => sh(`tar -C ${q(M.sandbox)} -cf - ${FILES_REL} | cat >/dev/null`),
      ours: (ctx) => sampled(ctx, scaleChild(['backup', M.bundle])),
      tar: () => timed(() => sh(`tar -C ${q(M.sandbox)} -cf - ${FILES_REL} | cat >/dev/null`)),
      extra: rssRow('backup of M'),
    },
    {
      id: 'restore-million',
      title: `restore M (disk, fresh)`,
      runs: RUNS.scale,
      unit: 's',
      noWarmup: true,
      target: { perFile: { of: 'restore-small', max: 1.2, files: M.files } },
      prepare: () => {
        scaleChild(['backup', M.bundle, saved])
        sh(`cat ${q(M.tarball)} >/dev/null`)
      },
      before: (ctx, side) => {
        if (side === 'ours') fs.rmSync(path.join(M.sandbox, 'data'), { recursive: true, force: true })
        else fs.rmSync(extractDir, { recursive: true, force: true })
        fs.mkdirSync(extractDir, { recursive: true })
        syncDisks()
      },
      ours: (ctx) => sampled(ctx, scaleChild(['restore', M.bundle, saved])),
      tar: () => timed(() => sh(`tar -C ${q(extractDir)} -xf ${q(M.tarball)}`)),
      recover: () => {
        fs.rmSync(path.join(M.sandbox, 'data'), { recursive: true, force: true })
        sh(`tar -C ${q(M.sandbox)} -xf ${q(M.tarball)}`)
      },
      finish: () => {
        const got = Number(execFileSync('sh', ['-c', `find ${q(M.tree)} -type f | wc -l`], { encoding: 'utf8' }).trim())
        const diff = spawnSync('diff', ['-r', '-q', path.join(extractDir, FILES_REL), M.tree], { encoding: 'utf8' })
        fs.rmSync(saved, { recursive: true, force: true })
        fs.rmSync(extractDir, { recursive: true, force: true })
        if (got !== M.files || diff.status !== 0) throw new Error(`restored ${got} files; diff: ${diff.stdout.split('\n').slice(0, 3).join('; ')}`)
        return `restored tree verified (${got} files, content by diff -r)`
      },
      extra: rssRow('restore of M'),
    },
    {
      id: 'session-bundles',
      title: `one session of ${names.length.toLocaleString('en')} bundles of ${scale.bundles.files / names.length} files`,
      runs: RUNS.scale,
      unit: 's',
      noWarmup: true,
      target: { perItemMs: { max: 5, items: names.length, what: 'bundle' } },
      prepare: () => fs.writeFileSync(sandboxes, names.map((n) => path.join(scale.root, 'apps', n)).join('\n') + '\n'),
      ours: (ctx) => sampled(ctx, scaleChild(['backup', names.join(',')])),
      // tar, for scale: one tar per bundle's tree, one after the other.
      tar: () => timed(() => sh(`while read -r d; do tar -C "$d" -cf - ${FILES_REL}; done < ${q(sandboxes)} | cat >/dev/null`)),
      extra: rssRow('session of 1,000 bundles'),
    },
  ]
}

const CASES = [
  backupCase('backup-small', `backup A: ${S.files} files of 1–16 KiB`, S, 'small', 1.0),
  backupCase('backup-large', `backup B: ${L.files} files of ${(L.bytes / L.files / 2 ** 20).toFixed(0)} MiB`, L, 'large', 0.3),
  backupCase('backup-large-first', `backup B: ${L.files} files of ${(L.bytes / L.files / 2 ** 20).toFixed(0)} MiB`, L, 'large', 0.3, { forgetHashes: true }),
  backupCase('backup-small-inprocess', `backup A: ${S.files} files of 1–16 KiB`, S, 'small', 1.0, { transport: 'inprocess' }),
  tmpfsRestoreCase('restore-small-tmpfs', 'restore A, fresh app', 1.0, false),
  tmpfsRestoreCase('restore-small-tmpfs-over', 'restore A over existing data', 1.5, true),
  restoreCase('restore-small', 'restore A, fresh app, disk', S, 'small', 1.0),
  restoreCase('restore-small-over', 'restore A over existing data, disk', S, 'small', 1.5, { over: true }),
  restoreCase('restore-large', 'restore B, disk', L, 'large', 2.0),
  rssCase,
  ...(opts.incremental ? [incrementalCase()] : []),
  ...(scale ? scaleCases() : []),
]

// ---- running -------------------------------------------------------------------------------

async function runCase(c) {
  const ctx = {}
  const result = { id: c.id, title: c.title, unit: c.unit, runs: c.runs, target: c.target, ours: [], tar: [], notes: [] }
  try {
    if (c.prepare) await c.prepare(ctx)
    const sample = async (side) => {
      if (c.before) await c.before(ctx, side)
      else syncDisks()
      return c[side](ctx)
    }
    if (!c.noWarmup) {
      await sample('ours')
      await sample('tar')
    }
    for (let i = 0; i < c.runs; i++) {
      result.ours.push(await sample('ours'))
      result.tar.push(await sample('tar'))
      process.stderr.write('.')
    }
    if (c.finish) {
      const note = await c.finish(ctx)
      if (note) result.notes.push(note)
    }
  } catch (e) {
    result.error = e.message
    if (c.recover) c.recover(ctx)
  }
  if (c.retitle && c.retitle()) result.title = c.retitle()
  result.oursMedian = result.ours.length ? median(result.ours) : null
  result.tarMedian = result.tar.length && result.tar.every(Number.isFinite) ? median(result.tar) : null
  result.ratio = result.oursMedian !== null && result.tarMedian ? result.oursMedian / result.tarMedian : null
  if (c.extra) {
    // Rows beside the case's own (peak RSS): each judged against its ceiling.
    result.extras = [].concat(c.extra(ctx)).map((x) => {
      const m = x.values.length ? median(x.values) : null
      return { ...x, median: m, pass: !result.error && m !== null && m < x.target.maxBytes }
    })
  }
  return result
}

/**
 * Judges every result against its target, once all ran: a ratio to tar, a byte ceiling, a
 * per-file cost against another case's (`perFile`), or a time per item (`perItemMs`).
 */
function judge(results) {
  for (const r of results) {
    const t = r.target
    if (r.error || r.oursMedian === null) r.pass = false
    else if (t.ratio !== undefined) r.pass = r.ratio !== null && r.ratio <= t.ratio
    else if (t.maxBytes !== undefined) r.pass = r.oursMedian < t.maxBytes
    else if (t.perFile) {
      const base = results.find((b) => b.id === t.perFile.of)
      const baseFiles = base && (base.id.includes('small') ? S.files : NaN)
      if (!base || base.oursMedian === null) {
        r.pass = false
        r.notes.push(`per-file cost not judged: ${t.perFile.of} did not run in this run`)
      } else {
        const perFile = r.oursMedian / t.perFile.files
        const basePerFile = base.oursMedian / baseFiles
        r.perFileRatio = perFile / basePerFile
        r.pass = r.perFileRatio <= t.perFile.max
        const tarPer = r.tarMedian ? `; tar ${((r.tarMedian / t.perFile.files) * 1e6).toFixed(1)} µs per file` : ''
        r.notes.push(`${(perFile * 1e6).toFixed(1)} µs per file against ${(basePerFile * 1e6).toFixed(1)} µs in ${base.id}: ${r.perFileRatio.toFixed(2)}×${tarPer}`)
      }
    } else if (t.perItemMs) {
      r.perItemMs = (r.oursMedian / t.perItemMs.items) * 1e3
      r.pass = r.perItemMs <= t.perItemMs.max
      const tarPer = r.tarMedian ? `; tar ${((r.tarMedian / t.perItemMs.items) * 1e3).toFixed(2)} ms per ${t.perItemMs.what}` : ''
      r.notes.push(`${r.perItemMs.toFixed(2)} ms per ${t.perItemMs.what}, all included${tarPer}`)
    }
    r.mainPass = r.pass
    if ((r.extras || []).some((x) => !x.pass)) r.pass = false
  }
}

function fmt(v, unit) {
  if (v === null || v === undefined || Number.isNaN(v)) return '-'
  return unit === 'B' ? `${(v / 1e6).toFixed(0)} MB` : `${v.toFixed(3)} s`
}

function targetText(t) {
  if (t.ratio !== undefined) return `≤ ${t.ratio.toFixed(1)}×`
  if (t.maxBytes !== undefined) return `< ${(t.maxBytes / 1e6).toFixed(0)} MB`
  if (t.perFile) return `per file ≤ ${t.perFile.max}× ${t.perFile.of}`
  return `≤ ${t.perItemMs.max} ms per ${t.perItemMs.what}`
}

function printTable(results) {
  const rows = [['case', 'ours (median)', 'tar (median)', 'ratio', 'target', '']]
  const verdict = (r, pass) => (r.error ? 'ERROR' : pass ? 'pass ✓' : 'FAIL ✗')
  for (const r of results) {
    const judged = r.perFileRatio !== undefined ? ` (${r.perFileRatio.toFixed(2)}× per file)` : r.perItemMs !== undefined ? ` (${r.perItemMs.toFixed(1)} ms)` : ''
    rows.push([
      r.title,
      fmt(r.oursMedian, r.unit),
      fmt(r.tarMedian, r.unit),
      // Only a time against tar's makes the ratio meaningful (tar's RSS is shown for scale only).
      r.ratio === null || r.unit !== 's' ? '-' : `${r.ratio.toFixed(2)}×`,
      targetText(r.target) + judged,
      verdict(r, r.mainPass),
    ])
    for (const x of r.extras || []) rows.push([`  ${x.title}`, fmt(x.median, 'B'), '-', '-', targetText(x.target), verdict(r, x.pass)])
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => [...row[i]].length)))
  const line = (row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')
  console.log(line(rows[0]))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const row of rows.slice(1)) console.log(line(row))
  for (const r of results) {
    if (r.error) console.log(`  ${r.id}: ERROR ${r.error}`)
    for (const n of r.notes) console.log(`  ${r.id}: ${n}`)
  }
}

/** The table again as Markdown, the form of the README's table (`--markdown`). */
function printMarkdown(results) {
  const cell = (s) => String(s).replace(/\|/g, '\\|')
  console.log('\n| case | ours | GNU tar | ratio | target |\n|---|---|---|---|---|')
  for (const r of results) {
    const judged = r.perFileRatio !== undefined ? ` (${r.perFileRatio.toFixed(2)}× per file)` : r.perItemMs !== undefined ? ` (${r.perItemMs.toFixed(2)} ms per bundle)` : ''
    const missed = r.error ? ' (error)' : r.mainPass ? '' : ' (missed)'
    const ratio = r.ratio === null || r.unit !== 's' ? '' : `${r.ratio.toFixed(2)}×`
    const tar = r.unit === 's' ? fmt(r.tarMedian, r.unit) : ''
    console.log(`| ${cell(r.title)} | ${fmt(r.oursMedian, r.unit)} | ${tar} | ${ratio} | ${cell(targetText(r.target) + judged + missed)} |`)
    for (const x of r.extras || []) console.log(`| ${cell(x.title)} | ${fmt(x.median, 'B')} | | | ${cell(targetText(x.target))}${x.pass ? '' : ' (missed)'} |`)
  }
}

async function main() {
  const selected = CASES.filter((c) => !opts.only || opts.only.includes(c.id))
  if (opts.only) {
    const unknown = opts.only.filter((id) => !CASES.some((c) => c.id === id))
    if (unknown.length) throw new Error(`unknown case(s) ${unknown.join(', ')}; known: ${CASES.map((c) => c.id).join(', ')}`)
  }
  console.error(
    `bench: ${selected.length} case(s), runs small=${RUNS.small} large=${RUNS.large}, scale ${data.spec.scale}, ` +
      `data ${path.relative(process.cwd(), data.dir)}, addon ${addon.profile} (${path.relative(process.cwd(), addon.source)})`,
  )
  const loadBefore = os.loadavg()
  const results = []
  for (const c of selected) {
    process.stderr.write(`${c.id} `)
    results.push(await runCase(c))
    process.stderr.write('\n')
  }
  judge(results)
  console.log('')
  if (addon.profile !== 'release') console.log(`(${addon.profile} build of the addon: not representative)`)
  printTable(results)
  if (opts.markdown) printMarkdown(results)
  const la = (l) => l.map((x) => x.toFixed(2)).join(' ')
  console.log(`\nload averages (1, 5, 15 min) at the start: ${la(loadBefore)}, at the end: ${la(os.loadavg())} (${os.cpus().length} CPUs)`)

  const out = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: (os.cpus()[0] || {}).model,
    tar: execFileSync('tar', ['--version'], { encoding: 'utf8' }).split('\n')[0],
    addon: { source: path.relative(ROOT, addon.source), profile: addon.profile },
    spec: data.spec,
    runs: RUNS,
    load: { start: loadBefore, end: os.loadavg() },
    tmpfs: tmpfs.dir ? { dir: tmpfs.dir, type: tmpfs.type, mountedByBench: tmpfs.mounted } : { why: tmpfs.why },
    results,
  }
  const outDir = path.join(__dirname, 'out')
  fs.mkdirSync(outDir, { recursive: true })
  fs.writeFileSync(path.join(outDir, 'latest.json'), JSON.stringify(out, null, 2) + '\n')
  console.log(`\nresults: ${path.relative(process.cwd(), path.join(outDir, 'latest.json'))}`)
  if (!opts.keep) fs.rmSync(WORK, { recursive: true, force: true })
  if (opts.strict && results.some((r) => !r.pass)) process.exitCode = 1
}

main().catch((e) => {
  console.error(e)
  process.exit(2)
})
