'use strict'
// Runs a test file of the suite again over the in-process transport (BACKUP_SERVICE=inprocess):
// the doc examples, the round trips and the event-order tests run on both transports
// (DESIGN.md §2); the rest of the suite runs over the default, the service process.
module.exports = function overInProcess(load) {
  process.env.BACKUP_SERVICE = 'inprocess'
  load()
}
