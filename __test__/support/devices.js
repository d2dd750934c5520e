'use strict'
// Device fixtures shared by the suites: devices that are removed after the test file (or after
// each test), bundles of many big sparse files (slow to send), and what the service left in a
// bundle's work area.
const fs = require('fs')
const path = require('path')
const device = require('backup/device')

const FILES = 'data/storage/el2/base/files'
const WORK_AREA = 'data/storage/el2/base/.backup'

/** `newDevice(...args)` makes a device (as `createDevice`); every one goes after the file's tests. */
function tempDevices() {
  const roots = []
  afterAll(() => {
    for (const r of roots.splice(0)) fs.rmSync(r, { recursive: true, force: true })
  })
  return (...args) => {
    const root = device.createDevice(...args)
    roots.push(root)
    return root
  }
}

/**
 * Each test gets a fresh device in use (BACKUP_DEVICE_ROOT, extension logs off), removed after
 * it: `const dev = useFreshDevice()`, then `dev.root`.
 */
function useFreshDevice() {
  const dev = { root: null }
  beforeEach(() => {
    dev.root = device.createDevice()
    process.env.BACKUP_DEVICE_ROOT = dev.root
    process.env.BACKUP_EXTENSION_LOG = 'off'
  })
  afterEach(() => fs.rmSync(dev.root, { recursive: true, force: true }))
  return dev
}

/**
 * Adds `count` sparse big files (over 2 MiB, so each travels as a file of its own) to the
 * files of the installed bundle `name`: at the default 60 files per second the bundle needs
 * about count / 60 s to send. `grow`: file i is i·grow bytes longer (distinct sizes).
 */
function addSparseBigFiles(root, name, count, { grow = 0, prefix = 's' } = {}) {
  const dir = path.join(device.sandboxOf(root, name), FILES)
  fs.mkdirSync(dir, { recursive: true })
  for (let i = 0; i < count; i++) {
    const fd = fs.openSync(path.join(dir, `${prefix}${i}.bin`), 'w')
    fs.ftruncateSync(fd, (2 << 20) + 1 + i * grow)
    fs.closeSync(fd)
  }
}

/**
 * What the service left in `name`'s work area: every file (relative to the work area), and
 * every folder inside its backup/ and restore/ folders.
 */
function workAreaLeft(root, name) {
  const dir = path.join(device.sandboxOf(root, name), WORK_AREA)
  const out = []
  const walk = (d, depth) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name)
      if (!e.isDirectory()) out.push(path.relative(dir, p))
      else {
        if (depth > 0) out.push(path.relative(dir, p) + '/')
        walk(p, depth + 1)
      }
    }
  }
  if (fs.existsSync(dir)) walk(dir, 0)
  return out
}

module.exports = { FILES, WORK_AREA, tempDevices, useFreshDevice, addSparseBigFiles, workAreaLeft }
