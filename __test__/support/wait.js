'use strict'
// Waiting in tests, one copy for every suite: `sleep`, and `until`, which looks again every
// 10 ms until `pred()` (sync or async) holds; the test's own timeout bounds the wait.

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

async function until(pred) {
  while (!(await pred())) await sleep(10)
}

module.exports = { sleep, until }
