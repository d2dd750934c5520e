'use strict'
// Synchronous throws of the API (DESIGN.md §5.2: bad arguments throw at once).

/**
 * What `fn()` threw synchronously. A call that returned instead fails the test: a rejected
 * promise is not a synchronous throw (it is kept from surfacing as unhandled).
 */
function thrownBy(fn) {
  let ret
  try {
    ret = fn()
  } catch (e) {
    return e
  }
  const promise = ret && typeof ret.then === 'function'
  if (promise) ret.then(
    () => {},
    () => {},
  )
  throw new Error(`expected a synchronous throw, got ${promise ? 'a promise' : String(ret)}`)
}

module.exports = { thrownBy }
