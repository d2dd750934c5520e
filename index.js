'use strict'
// `require('backup')`: the documented @ohos.file.backup API. The native binding (built by
// `napi build` into binding.js + backup.<platform>.node) checks every argument, runs the
// service and emits events; this file only gives the classes their documented names, keeps
// the callbacks object on the JS side (so a session and its callbacks can be collected
// together) and adds the callback forms of the promise methods.

const fs = require('fs')
const { native, syncEnvironment } = require('./lib/native.js')

const KIND = { backup: 0, restore: 1, incremental: 2 }

// Errors and promises made by the addon belong to Node's main realm. Under Jest (or any vm
// context) this file runs in another realm, where they would fail `instanceof Error` /
// `instanceof Promise`; adopt them into ours.
function adopt(e) {
  if (e && typeof e === 'object' && !(e instanceof Error) && Object.prototype.toString.call(e) === '[object Error]') {
    Object.setPrototypeOf(e, Error.prototype)
  }
  return e
}

function adoptPromise(p) {
  if (!p || typeof p.then !== 'function' || p instanceof Promise) return p
  return new Promise((resolve, reject) => p.then(resolve, (e) => reject(adopt(e))))
}

// Calls into the addon: a synchronous throw or a rejection carries an adopted error.
function call(fn) {
  try {
    return adoptPromise(fn())
  } catch (e) {
    throw adopt(e)
  }
}
const ERROR_FIRST = new Set(['onFileReady', 'onBundleBegin', 'onBundleEnd', 'onAllBundlesEnd'])

function closeQuietly(fd) {
  if (typeof fd === 'number' && fd >= 0) {
    try {
      fs.closeSync(fd)
    } catch {}
  }
}

// A thrown callback must surface as an uncaught exception with the original error, not
// vanish inside the native call.
function invoke(cb, ...args) {
  try {
    cb(...args)
  } catch (e) {
    process.nextTick(() => {
      throw e
    })
  }
}

// The one function the native event queue calls, in emission order.
function makeDispatcher(callbacks) {
  return function dispatch(name, a, b) {
    let cb = callbacks[name]
    // API 10's example names it onRestoreServiceDied; keep that working.
    if (name === 'onBackupServiceDied' && typeof cb !== 'function') cb = callbacks.onRestoreServiceDied
    if (typeof cb !== 'function') {
      // Nobody takes the file: its fds are ours to close.
      if (name === 'onFileReady' && b) {
        closeQuietly(b.fd)
        closeQuietly(b.manifestFd)
      }
      return
    }
    if (ERROR_FIRST.has(name)) {
      if (a) invoke(cb, adopt(a))
      else invoke(cb, undefined, b)
    } else if (name === 'onBackupSizeReport') {
      invoke(cb, a)
    } else if (name === 'onBackupServiceDied') {
      invoke(cb, undefined, undefined)
    } else {
      invoke(cb, a, b)
    }
  }
}

// The callback form of a promise method: `cb(undefined, value)` or `cb(err)`.
function settle(promise, args) {
  const last = args[args.length - 1]
  if (typeof last !== 'function') return promise
  promise.then(
    (value) => process.nextTick(last, undefined, value),
    (err) => process.nextTick(last, err),
  )
  return undefined
}

const kNative = Symbol('native')
const kDispatch = Symbol('dispatch')

function defineSession(kind, name) {
  const Session = class {
    constructor(...args) {
      syncEnvironment()
      const session = call(() => new native.NativeSession(kind, args))
      Object.defineProperty(this, kNative, { value: session })
      // The callbacks live on the JS object, read when events arrive.
      Object.defineProperty(this, kDispatch, { value: makeDispatcher(args[0]) })
    }

    getLocalCapabilities(...args) {
      return call(() => this[kNative].getLocalCapabilities(args))
    }

    appendBundles(...args) {
      return settle(call(() => this[kNative].appendBundles(this[kDispatch], args)), args)
    }

    release(...args) {
      return call(() => this[kNative].release(args))
    }

    cancel(...args) {
      return call(() => this[kNative].cancel(args))
    }
  }
  Object.defineProperty(Session, 'name', { value: name })
  return Session
}

const SessionBackup = defineSession(KIND.backup, 'SessionBackup')
const SessionRestore = defineSession(KIND.restore, 'SessionRestore')
const IncrementalBackupSession = defineSession(KIND.incremental, 'IncrementalBackupSession')

for (const S of [SessionBackup, IncrementalBackupSession]) {
  S.prototype.getBackupDataSize = function getBackupDataSize(...args) {
    return call(() => this[kNative].getBackupDataSize(this[kDispatch], args))
  }
}

SessionRestore.prototype.getFileHandle = function getFileHandle(...args) {
  return settle(call(() => this[kNative].getFileHandle(this[kDispatch], args)), args)
}

SessionRestore.prototype.publishFile = function publishFile(...args) {
  return settle(call(() => this[kNative].publishFile(this[kDispatch], args)), args)
}

function getLocalCapabilities(...args) {
  syncEnvironment()
  return settle(call(() => native.getLocalCapabilities(args)), args)
}

const backup = {
  getLocalCapabilities,
  getBackupVersion: (...args) => call(() => native.getBackupVersion(args)),
  // undefined (not null) when the service cannot answer, as on the device.
  getBackupInfo: (...args) => (syncEnvironment(), call(() => native.getBackupInfo(args)) ?? undefined),
  updateTimer: (...args) => (syncEnvironment(), call(() => native.updateTimer(args))),
  updateSendRate: (...args) => (syncEnvironment(), call(() => native.updateSendRate(args))),
  SessionBackup,
  SessionRestore,
  IncrementalBackupSession,
}

// `require('backup')`, `import backup from 'backup'` and `import { backup } from 'backup'`.
backup.backup = backup
backup.default = backup
module.exports = backup
