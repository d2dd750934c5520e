'use strict'
// `this.context` of an app's backup extension: its directories as real paths on this machine
// (so Node's `fs` works on them, and `fileIo` too), under the app's sandbox laid out as the
// device lays it out. `area` switches the encryption area as on a device: files, cache, temp,
// preferences and database directories move between data/storage/el1 and el2 (and el3–el5);
// the default is EL2.

const path = require('path')
const { AreaMode } = require('./context-constant.js')
const { WORK_AREA } = require('../device.js')

const AREAS = new Set(Object.values(AreaMode))

class BackupExtensionContext {
  constructor(sandboxDir, bundleName, bundleCodeDir) {
    Object.defineProperty(this, '_area', { value: AreaMode.EL2, writable: true })
    this.bundleName = bundleName
    /** The sandbox root on this machine ("/" as the app sees it). */
    this.sandboxDir = sandboxDir
    this.bundleCodeDir = bundleCodeDir
  }

  get area() {
    return this._area
  }

  set area(mode) {
    if (!AREAS.has(mode)) throw new TypeError(`context.area must be a contextConstant.AreaMode value (0-4), got ${mode}`)
    this._area = mode
  }

  /** data/storage/el<N> of the current area. */
  get areaDir() {
    return path.join(this.sandboxDir, 'data/storage', `el${this._area + 1}`)
  }

  get filesDir() {
    return path.join(this.areaDir, 'base/files')
  }

  get cacheDir() {
    return path.join(this.areaDir, 'base/cache')
  }

  get tempDir() {
    return path.join(this.areaDir, 'base/temp')
  }

  get preferencesDir() {
    return path.join(this.areaDir, 'base/preferences')
  }

  get databaseDir() {
    return path.join(this.areaDir, 'database')
  }

  get distributedFilesDir() {
    return path.join(this.sandboxDir, 'data/storage/el2/distributedfiles')
  }

  /** `.backup/restore/`: where a fullBackupOnly restore leaves the data for the app. */
  get backupDir() {
    return path.join(this.sandboxDir, WORK_AREA, 'restore')
  }
}

module.exports = { BackupExtensionContext }
