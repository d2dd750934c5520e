'use strict'
// Runs a test file of the suite again over the process transport (BACKUP_SERVICE=process): the
// doc examples, the round trips and the event-order tests run on both transports (DESIGN.md
// §2). Every device the file creates has its service process stopped after the file, also on
// failure, so none outlives the run.
const device = require('backup/device')
const { serviceProcesses } = require('./support.js')

module.exports = function overProcess(load) {
  process.env.BACKUP_SERVICE = 'process'
  const roots = []
  const create = device.createDevice
  device.createDevice = (...args) => {
    const root = create(...args)
    roots.push(root)
    return root
  }
  afterAll(() => {
    for (const root of roots) {
      try {
        device.stopService(root)
      } catch {}
      // A root already removed has no socket any more: its service goes by signal.
      for (const pid of serviceProcesses(root)) process.kill(pid, 'SIGKILL')
    }
  })
  load()
}
