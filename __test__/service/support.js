'use strict'
// What the service tests share: a fresh device per test whose service runs as a process
// (stopped again after the test, also on failure), finding service processes, and client
// processes (fixtures/client.js) whose events are read line by line.
const fs = require('fs')
const path = require('path')
const { spawn } = require('child_process')
const device = require('backup/device')
const { native, syncEnvironment } = require('../../lib/native.js')

const CLIENT = path.join(__dirname, 'fixtures', 'client.js')

const { sleep, until } = require('../support/wait.js')
// A killed service process is a zombie until reaped: it counts as gone.
const { alive } = require('../support/processes.js')
const { WORK_AREA, workAreaLeft } = require('../support/devices.js')

/** The pids of the live service processes of `root`. */
function serviceProcesses(root) {
  const out = []
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
      const at = argv.indexOf('--root')
      if (argv.some((a) => a.endsWith(path.join('service', 'main.js'))) && at > 0 && argv[at + 1] === root && alive(Number(pid))) out.push(Number(pid))
    } catch {}
  }
  return out
}

/** The status of `root`'s service process (null when none runs). */
function serviceStatus(root) {
  syncEnvironment()
  const s = native.serviceStatus(root)
  return s === null ? null : JSON.parse(s)
}

const clients = []

/** A client process running fixtures/client.js; `c.lines` fills as it prints. */
function startClient(root, kind, bundles, env = {}) {
  const proc = spawn(process.execPath, [CLIENT, kind, bundles.join(',')], {
    env: { ...process.env, BACKUP_DEVICE_ROOT: root, BACKUP_SERVICE: 'process', BACKUP_EXTENSION_LOG: 'off', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const c = { proc, lines: [], exited: false }
  let buf = ''
  proc.stdout.on('data', (d) => {
    buf += d
    let i
    while ((i = buf.indexOf('\n')) >= 0) {
      c.lines.push(JSON.parse(buf.slice(0, i)))
      buf = buf.slice(i + 1)
    }
  })
  c.done = new Promise((r) => proc.on('close', () => r((c.exited = true))))
  c.saw = (ev) => c.lines.some((l) => l.ev === ev)
  c.kill9 = async () => {
    proc.kill('SIGKILL')
    await c.done
  }
  clients.push(c)
  return c
}

/**
 * Each test gets a fresh device served by a service process (BACKUP_SERVICE=process); after
 * it, its clients are killed, its service stopped and the device removed.
 */
function useProcessDevice() {
  const dev = { root: null }
  const saved = process.env.BACKUP_SERVICE
  beforeEach(() => {
    dev.root = device.createDevice()
    process.env.BACKUP_DEVICE_ROOT = dev.root
    process.env.BACKUP_SERVICE = 'process'
    process.env.BACKUP_EXTENSION_LOG = 'off'
  })
  afterEach(async () => {
    for (const c of clients.splice(0)) if (!c.exited) await c.kill9()
    device.stopService(dev.root)
    for (const pid of serviceProcesses(dev.root)) process.kill(pid, 'SIGKILL')
    fs.rmSync(dev.root, { recursive: true, force: true })
    if (saved === undefined) delete process.env.BACKUP_SERVICE
    else process.env.BACKUP_SERVICE = saved
  })
  return dev
}

module.exports = { sleep, alive, until, serviceProcesses, serviceStatus, workAreaLeft, startClient, useProcessDevice, WORK_AREA }
