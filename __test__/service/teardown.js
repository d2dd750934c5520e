'use strict'
// Jest's globalTeardown: no service process of this tree outlives the test run. Services stop
// by themselves once idle (at once when their device was removed); this stops, at the end of
// the run, every one still running from this tree's lib/service/main.js.
const fs = require('fs')
const path = require('path')

const MAIN = path.join(__dirname, '..', '..', 'lib', 'service', 'main.js')

function services() {
  const out = []
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
      if (argv[1] === MAIN) out.push({ pid: Number(pid), root: argv[argv.indexOf('--root') + 1] })
    } catch {}
  }
  return out
}

module.exports = async function teardown() {
  const { stopService } = require('../../lib/device.js')
  for (const s of services()) {
    try {
      if (fs.existsSync(path.join(s.root, 'service', 'service.sock'))) stopService(s.root)
    } catch {}
  }
  const deadline = Date.now() + 5000
  while (services().length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  for (const s of services()) {
    try {
      process.kill(s.pid, 'SIGKILL')
    } catch {}
  }
}
