'use strict'
// Processes in tests.
const fs = require('fs')

/**
 * Whether `pid` still runs. A zombie has ended and counts as gone, unless `orZombie` (for a
 * child of this process, which must also have been reaped).
 */
function alive(pid, { orZombie = false } = {}) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return orZombie || !/^\S+ \(.*\) Z/.test(stat)
  } catch {
    return false
  }
}

module.exports = { alive }
