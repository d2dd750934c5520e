'use strict'
// Stands in for `@kit.BasicServicesKit`: the `BusinessError` the documentation examples import.
// On OpenHarmony it is only an interface (an `Error` with a numeric `code` and optional `data`);
// here it is also a class, so JS code can create one and test errors with `instanceof`.

class BusinessError extends Error {
  /**
   * @param {number} code    the documented numeric error code
   * @param {string} [message]
   * @param {*} [data]       extra data, e.g. the bundle name of a per-bundle error
   */
  constructor(code, message, data) {
    super(message === undefined ? `Error ${code}` : String(message))
    this.code = code
    if (data !== undefined) this.data = data
  }

  // Errors made by the native addon are plain `Error`s with a numeric `code` (as on
  // OpenHarmony), so `err instanceof BusinessError` must accept them as well.
  static [Symbol.hasInstance](value) {
    return value instanceof Error && typeof value.code === 'number'
  }
}

module.exports = { BusinessError }
module.exports.default = module.exports
