#!/usr/bin/env node
'use strict'
// `npm run demo`: a sample device with three apps is backed up into demo/out/backup, every
// app's data is wiped, everything is restored, and the restored data is compared with the
// original byte for byte (content, size, mode, mtime). Exit code 1 if anything differs.

const fs = require('fs')
const path = require('path')
const device = require('../lib/device')
const { backupToDir, restoreFromDir } = require('../lib/client')

const OUT = path.join(__dirname, 'out', 'backup')
const FILES = 'data/storage/el2/base/files'
const PREFS = 'data/storage/el2/base/preferences'
const DB = 'data/storage/el2/database'
const KiB = 1024
const MiB = 1024 * KiB
const DAY = 24 * 3600 * 1000
const EPOCH = Date.UTC(2024, 0, 1) // a fixed past, so mtimes are reproducible

const WORDS = 'meeting notes groceries idea travel book remember call project draft plan list weekend budget recipe garden'.split(' ')

// Deterministic little generator for realistic-looking text.
function lcg(seed) {
  let s = seed >>> 0
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32
}

function notesApp() {
  const rnd = lcg(7)
  const files = {}
  for (let i = 0; i < 300; i++) {
    const year = 2021 + (i % 3)
    const month = String(1 + (i % 12)).padStart(2, '0')
    const words = Array.from({ length: 20 + Math.floor(rnd() * 200) }, () => WORDS[Math.floor(rnd() * WORDS.length)])
    files[`${FILES}/notes/${year}/${month}/note-${String(i).padStart(4, '0')}.md`] = {
      content: `# ${words.slice(0, 3).join(' ')}\n\n${words.join(' ')}\n`,
      mtime: EPOCH - Math.floor(rnd() * 900) * DAY,
    }
  }
  files[`${FILES}/attachments/sketch.png`] = { content: { size: 180 * KiB, seed: 'sketch' }, mtime: EPOCH - 3 * DAY }
  files[`${DB}/rdb/notes.db`] = { content: { size: 1536 * KiB, seed: 'notes.db' }, mode: 0o600, mtime: EPOCH - DAY }
  files[`${DB}/rdb/notes.db-wal`] = { content: { size: 64 * KiB, seed: 'wal' }, mode: 0o600, mtime: EPOCH - DAY }
  files[`${PREFS}/settings.xml`] = { content: '<?xml version="1.0"?>\n<map><string name="sort">date</string></map>\n', mtime: EPOCH }
  return files
}

function galleryApp() {
  const files = {}
  const photos = [2.5, 3.2, 4.8, 2.1]
  photos.forEach((mib, i) => {
    files[`${FILES}/DCIM/IMG_${2001 + i}.jpg`] = { content: { size: Math.round(mib * MiB), seed: `photo${i}` }, mtime: EPOCH - (30 - i) * DAY }
  })
  files[`${FILES}/DCIM/VID_3001.mp4`] = { content: { size: 9 * MiB, seed: 'video' }, mtime: EPOCH - 10 * DAY }
  for (let i = 0; i < 40; i++) {
    files[`${FILES}/.thumbs/${String(i).padStart(3, '0')}.webp`] = { content: { size: 12 * KiB + i * 317, seed: `thumb${i}` }, mtime: EPOCH - i * 3600e3 }
  }
  files[`${DB}/media.db`] = { content: { size: 256 * KiB, seed: 'media.db' }, mode: 0o600, mtime: EPOCH }
  return files
}

function settingsApp() {
  return {
    [`${PREFS}/display.json`]: { content: JSON.stringify({ brightness: 0.7, darkMode: 'auto', fontScale: 1.1 }, null, 2), mtime: EPOCH },
    [`${PREFS}/sound.json`]: { content: JSON.stringify({ ringtone: 'Dawn', volume: { media: 8, ring: 5 } }, null, 2), mtime: EPOCH },
    [`${PREFS}/accounts.xml`]: { content: '<accounts><account id="1" type="cloud"/></accounts>\n', mode: 0o600, mtime: EPOCH - 2 * DAY },
    [`${FILES}/wallpapers/current.jpg`]: { content: { size: 900 * KiB, seed: 'wallpaper' }, mtime: EPOCH - 40 * DAY },
    [`${FILES}/downloads/`]: {}, // an empty directory that must come back
    'data/storage/el1/base/files/boot-flags.conf': { content: 'first_boot=0\n', mtime: EPOCH - 100 * DAY },
  }
}

function fmtBytes(n) {
  if (n < KiB) return `${n} B`
  if (n < MiB) return `${(n / KiB).toFixed(1)} KiB`
  return `${(n / MiB).toFixed(1)} MiB`
}

function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)))
  return rows.map((r) => r.map((v, c) => (c === 0 ? String(v).padEnd(widths[c]) : String(v).padStart(widths[c]))).join('   ')).join('\n')
}

async function main() {
  const root = device.createDevice()
  try {
    const apps = {
      'com.example.notes': notesApp(),
      'com.example.gallery': galleryApp(),
      'com.example.settings': settingsApp(),
    }
    for (const [name, files] of Object.entries(apps)) device.installBundle(root, name, { files })
    const names = Object.keys(apps)
    const before = Object.fromEntries(names.map((n) => [n, device.snapshotTree(device.sandboxOf(root, n))]))

    fs.rmSync(OUT, { recursive: true, force: true })
    const b = await backupToDir({ bundles: names, outDir: OUT, root })
    for (const n of names) device.wipeApp(root, n)
    const r = await restoreFromDir({ inDir: OUT, bundles: names, root })

    const rows = [['bundle', 'files', 'data', 'tar parts', 'big files', 'backup size']]
    const problems = []
    let totalFiles = 0
    let totalData = 0
    for (const n of names) {
      const snap = before[n]
      const files = [...snap.values()].filter((e) => e.type === 'file')
      const data = files.reduce((s, e) => s + e.size, 0)
      const sent = b.bundles[n].files
      const parts = sent.filter((u) => /(^|_)part\.\d+\.tar$/.test(u)).length
      const big = sent.length - parts - (sent.includes('manage.json') ? 1 : 0)
      rows.push([n, files.length, fmtBytes(data), parts, big, fmtBytes(b.bundles[n].bytes)])
      totalFiles += files.length
      totalData += data
      if (b.bundles[n].error) problems.push(`${n}: backup failed: ${b.bundles[n].error.code} ${b.bundles[n].error.message}`)
      if (r.bundles[n].error) problems.push(`${n}: restore failed: ${r.bundles[n].error.code} ${r.bundles[n].error.message}`)
      for (const d of device.diffSnapshots(snap, device.snapshotTree(device.sandboxOf(root, n)))) problems.push(`${n}: ${d}`)
    }
    rows.push(['total', totalFiles, fmtBytes(totalData), '', '', fmtBytes(b.bytes)])

    console.log(`device: ${root} (temporary)\n`)
    console.log(table(rows))
    console.log(`\nbackup:  ${b.files} files, ${fmtBytes(b.bytes)} in ${b.ms} ms  → ${path.relative(process.cwd(), OUT) || OUT}`)
    console.log(`restore: ${r.files} files, ${fmtBytes(r.bytes)} in ${r.ms} ms (after wiping every app)`)
    if (problems.length === 0) {
      console.log("verified: identical (every file's content, size, mode and mtime; every directory and its mode)")
      return 0
    }
    console.log(`verified: ${problems.length} difference(s):`)
    for (const p of problems.slice(0, 50)) console.log(`  ${p}`)
    if (problems.length > 50) console.log(`  … and ${problems.length - 50} more`)
    return 1
  } finally {
    fs.rmSync(root, { recursive: true, force: true })
  }
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (e) => {
    console.error(`demo failed: ${e.code !== undefined ? `${e.code} ` : ''}${e.message}`)
    process.exitCode = 1
  },
)
