'use strict'
// Generates the benchmark device once and caches it under bench/data/ (git-ignored):
//   bundle A (com.bench.small): 20,000 files of 1–16 KiB in 200 directories
//   bundle B (com.bench.large): 4 files of 256 MiB
// plus a plain tarball of each bundle's data tree (the `tar -xf` baseline of the restore
// cases). Contents are deterministic pseudo-random bytes (AES-128-CTR keystream), so nothing
// compresses or deduplicates, and every file is written in 1 MiB chunks: no file is ever
// held in memory whole. `BENCH_SCALE` (default 1) scales file counts and big-file sizes.
//
// The data is regenerated when bench/data/<id>/spec.json is missing or differs from the
// spec below (it is written last, so an interrupted generation is redone); only one data set
// is kept, so changing BENCH_SCALE regenerates.
//
//   node bench/generate.js            # generate if needed, print the device root
//   node bench/generate.js --force    # regenerate

const crypto = require('crypto')
const fs = require('fs')
const path = require('path')
const { execFileSync } = require('child_process')

const DATA_DIR = path.join(__dirname, 'data')
const FILES_REL = 'data/storage/el2/base/files' // inside each bundle's sandbox
const GENERATOR_VERSION = 3 // bump when the layout, the bytes or the times change
// Every generated file gets this mtime: whole seconds, which every tar format represents
// exactly, so a tree restored by either side compares equal to the original.
const MTIME = new Date('2024-01-01T00:00:00Z')

function specFor(scale = Number(process.env.BENCH_SCALE || 1)) {
  if (!(scale > 0 && scale <= 1)) throw new Error(`BENCH_SCALE must be in (0, 1], got ${scale}`)
  return {
    generator: GENERATOR_VERSION,
    scale,
    small: {
      bundle: 'com.bench.small',
      files: Math.max(1, Math.round(20000 * scale)),
      dirs: Math.max(1, Math.round(200 * scale)),
      minSize: 1024,
      maxSize: 16 * 1024,
      seed: 'bench-small',
    },
    large: {
      bundle: 'com.bench.large',
      files: 4,
      size: Math.max(1 << 20, Math.round(256 * scale) << 20),
      seed: 'bench-large',
    },
  }
}

function idOf(spec) {
  return crypto.createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 12)
}

// ---- deterministic bytes -----------------------------------------------------------------

/** An AES-128-CTR keystream for (seed, stream): same bytes on every machine and run. */
function keystream(seed, stream) {
  const key = crypto.createHash('sha256').update(`key:${seed}`).digest().subarray(0, 16)
  const iv = crypto.createHash('sha256').update(`iv:${seed}:${stream}`).digest().subarray(0, 16)
  return crypto.createCipheriv('aes-128-ctr', key, iv)
}

const ZEROS = Buffer.alloc(1 << 20)

/** Writes `size` keystream bytes to `file`, 1 MiB at a time, and sets its mtime to MTIME. */
function writeRandomFile(file, size, seed, stream) {
  const cipher = keystream(seed, stream)
  const fd = fs.openSync(file, 'w', 0o644)
  try {
    let left = size
    while (left > 0) {
      const n = Math.min(left, ZEROS.length)
      const chunk = cipher.update(n === ZEROS.length ? ZEROS : ZEROS.subarray(0, n))
      let off = 0
      while (off < chunk.length) off += fs.writeSync(fd, chunk, off, chunk.length - off)
      left -= n
    }
    fs.futimesSync(fd, MTIME, MTIME)
  } finally {
    fs.closeSync(fd)
  }
}

/** A small deterministic PRNG (mulberry32) for sizes. */
function prng(seedText) {
  let a = crypto.createHash('sha256').update(seedText).digest().readUInt32LE(0)
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

// ---- the device ----------------------------------------------------------------------------

function installMeta(root, bundle) {
  // The device layout of DESIGN.md §3, written directly so that the data below can be
  // streamed (lib/device.js may keep a file's content in memory).
  const dir = path.join(root, 'bundles', bundle)
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(
    path.join(dir, 'bundle.json'),
    JSON.stringify({
      name: bundle,
      versionCode: 1,
      versionName: '1.0.0',
      appIndex: 0,
      extension: { name: 'BackupExtensionAbility' },
    }),
  )
  fs.writeFileSync(path.join(dir, 'backup_config.json'), JSON.stringify({ allowToBackupRestore: true }))
  const sandbox = path.join(root, 'apps', bundle)
  fs.mkdirSync(path.join(sandbox, FILES_REL), { recursive: true })
  return sandbox
}

/** Bundle A's files, in generation order: { rel (under the files dir), size, index }. */
function smallFiles(s) {
  const rnd = prng(`${s.seed}:sizes`)
  const out = []
  for (let i = 0; i < s.files; i++) {
    const dir = `d${String(i % s.dirs).padStart(3, '0')}`
    const size = s.minSize + Math.floor(rnd() * (s.maxSize - s.minSize + 1))
    out.push({ rel: `${dir}/f${String(i).padStart(5, '0')}.bin`, size, index: i })
  }
  return out
}

function generateSmall(root, s) {
  const sandbox = installMeta(root, s.bundle)
  const base = path.join(sandbox, FILES_REL)
  for (let d = 0; d < s.dirs; d++) fs.mkdirSync(path.join(base, `d${String(d).padStart(3, '0')}`), { recursive: true })
  let bytes = 0
  for (const f of smallFiles(s)) {
    writeRandomFile(path.join(base, f.rel), f.size, s.seed, f.index)
    bytes += f.size
  }
  return { sandbox, files: s.files, bytes }
}

function generateLarge(root, s) {
  const sandbox = installMeta(root, s.bundle)
  const base = path.join(sandbox, FILES_REL)
  for (let i = 0; i < s.files; i++) writeRandomFile(path.join(base, `big${i}.bin`), s.size, s.seed, i)
  return { sandbox, files: s.files, bytes: s.files * s.size }
}

/**
 * Makes sure the data for `spec` exists; returns
 * { id, dir, root, spec, bundles: { small: {bundle, sandbox, tree, tarball, files, bytes}, large: … } }.
 */
function ensureData({ spec = specFor(), force = false, log = () => {} } = {}) {
  const id = idOf(spec)
  const dir = path.join(DATA_DIR, id)
  const marker = path.join(dir, 'spec.json')
  const root = path.join(dir, 'device')
  const fresh = !force && fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === JSON.stringify(spec, null, 2)
  if (!fresh) {
    // One data set is cached at a time: older generations (another scale or generator
    // version) go, so stale gigabytes do not pile up.
    for (const name of fs.existsSync(DATA_DIR) ? fs.readdirSync(DATA_DIR) : []) {
      if (/^[0-9a-f]{12}$/.test(name)) fs.rmSync(path.join(DATA_DIR, name), { recursive: true, force: true })
    }
    fs.mkdirSync(root, { recursive: true })
    const t0 = process.hrtime.bigint()
    log(`generating benchmark data in ${dir} (scale ${spec.scale}) …`)
    const small = generateSmall(root, spec.small)
    log(`  A: ${small.files} files, ${(small.bytes / 1048576).toFixed(1)} MiB`)
    const large = generateLarge(root, spec.large)
    log(`  B: ${large.files} files, ${(large.bytes / 1048576).toFixed(1)} MiB`)
    for (const [key, b] of [['small', small], ['large', large]]) {
      // The tar baseline for the restore cases: the same tree, as GNU tar packs it.
      execFileSync('tar', ['-C', b.sandbox, '-cf', path.join(dir, `${key}.tar`), FILES_REL])
    }
    fs.writeFileSync(
      path.join(dir, 'sizes.json'),
      JSON.stringify({ small: { files: small.files, bytes: small.bytes }, large: { files: large.files, bytes: large.bytes } }),
    )
    fs.writeFileSync(marker, JSON.stringify(spec, null, 2))
    log(`  done in ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1)} s`)
  }
  const sizes = JSON.parse(fs.readFileSync(path.join(dir, 'sizes.json'), 'utf8'))
  const describe = (key) => {
    const bundle = spec[key].bundle
    const sandbox = path.join(root, 'apps', bundle)
    return {
      bundle,
      sandbox,
      tree: path.join(sandbox, FILES_REL),
      tarball: path.join(dir, `${key}.tar`),
      ...sizes[key],
    }
  }
  return { id, dir, root, spec, bundles: { small: describe('small'), large: describe('large') } }
}

// ---- the scale set (bench/run.js --scale) ----------------------------------------------------
//
// Kept apart from the set above (bench/data/scale-<id>/, regenerated only when its own spec
// changes), as it takes minutes to make: bundle M (com.bench.million), 1,000,000 files of
// 100–500 bytes in 1,000 directories (about 4 GB of disk as 4 KiB blocks, 1 GB as a tarball),
// and 1,000 bundles com.bench.n0000… of 3 such files each, for a session of 1,000 bundles.
// A directory's files are slices of one keystream, so making a file costs one write.

const SCALE_VERSION = 1

function scaleSpecFor() {
  return {
    generator: SCALE_VERSION,
    million: { bundle: 'com.bench.million', files: 1000000, dirs: 1000, minSize: 100, maxSize: 500, seed: 'bench-million' },
    bundles: { prefix: 'com.bench.n', count: 1000, files: 3, minSize: 100, maxSize: 500, seed: 'bench-bundles' },
  }
}

/** Writes `count` files of minSize..maxSize bytes into `dir` (f000000.bin …); returns their bytes. */
function writeSmallDir(dir, { count, first, minSize, maxSize, seed }, rnd) {
  fs.mkdirSync(dir, { recursive: true })
  const sizes = Array.from({ length: count }, () => minSize + Math.floor(rnd() * (maxSize - minSize + 1)))
  const total = sizes.reduce((a, b) => a + b, 0)
  const bytes = keystream(seed, path.relative(DATA_DIR, dir).split(path.sep).slice(1).join("/")).update(Buffer.alloc(total))
  let off = 0
  sizes.forEach((size, i) => {
    const file = path.join(dir, `f${String(first + i).padStart(7, '0')}.bin`)
    fs.writeFileSync(file, bytes.subarray(off, off + size), { mode: 0o644 })
    fs.utimesSync(file, MTIME, MTIME)
    off += size
  })
  return total
}

/**
 * Makes sure the scale set exists; returns { dir, root, million: {bundle, sandbox, tree,
 * tarball, files, bytes}, bundles: { names, files, bytes } }.
 */
function ensureScaleData({ log = () => {} } = {}) {
  const spec = scaleSpecFor()
  const dir = path.join(DATA_DIR, `scale-${idOf(spec)}`)
  const marker = path.join(dir, 'spec.json')
  const root = path.join(dir, 'device')
  const m = spec.million
  const n = spec.bundles
  const names = Array.from({ length: n.count }, (_, i) => `${n.prefix}${String(i).padStart(4, '0')}`)
  if (!(fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === JSON.stringify(spec, null, 2))) {
    for (const name of fs.existsSync(DATA_DIR) ? fs.readdirSync(DATA_DIR) : []) {
      if (/^scale-[0-9a-f]{12}$/.test(name)) fs.rmSync(path.join(DATA_DIR, name), { recursive: true, force: true })
    }
    const t0 = process.hrtime.bigint()
    log(`generating the scale set in ${dir} (1,000,000 files and 1,000 bundles; a few minutes) …`)
    const sandbox = installMeta(root, m.bundle)
    const rnd = prng(`${m.seed}:sizes`)
    const perDir = m.files / m.dirs
    let bytes = 0
    for (let d = 0; d < m.dirs; d++) {
      const sub = path.join(sandbox, FILES_REL, `d${String(d).padStart(4, '0')}`)
      bytes += writeSmallDir(sub, { ...m, count: perDir, first: d * perDir }, rnd)
    }
    execFileSync('tar', ['-C', sandbox, '-cf', path.join(dir, 'million.tar'), FILES_REL])
    let nBytes = 0
    const nRnd = prng(`${n.seed}:sizes`)
    for (const name of names) nBytes += writeSmallDir(path.join(installMeta(root, name), FILES_REL), { ...n, count: n.files, first: 0 }, nRnd)
    fs.writeFileSync(path.join(dir, 'sizes.json'), JSON.stringify({ million: bytes, bundles: nBytes }))
    fs.writeFileSync(marker, JSON.stringify(spec, null, 2))
    log(`  done in ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1)} s`)
  }
  const sizes = JSON.parse(fs.readFileSync(path.join(dir, 'sizes.json'), 'utf8'))
  const sandbox = path.join(root, 'apps', m.bundle)
  return {
    dir,
    root,
    million: { bundle: m.bundle, sandbox, tree: path.join(sandbox, FILES_REL), tarball: path.join(dir, 'million.tar'), files: m.files, bytes: sizes.million },
    bundles: { names, files: n.count * n.files, bytes: sizes.bundles },
  }
}

module.exports = { ensureData, ensureScaleData, specFor, smallFiles, FILES_REL, writeRandomFile, installMeta }

if (require.main === module) {
  const data = ensureData({ force: process.argv.includes('--force'), log: (m) => console.error(m) })
  console.log(data.root)
  if (process.argv.includes('--scale')) console.log(ensureScaleData({ log: (m) => console.error(m) }).root)
}
