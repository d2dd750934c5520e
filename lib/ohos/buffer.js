'use strict'
// `@ohos.buffer`: clients use `buffer.from`, `buffer.alloc`, `buffer.concat`, … next to the
// kit; Node's Buffer has the same functions with the same meaning, so they are Node's.
const { Buffer } = require('buffer')

const buffer = {
  Buffer,
  from: Buffer.from.bind(Buffer),
  alloc: Buffer.alloc.bind(Buffer),
  allocUninitialized: Buffer.allocUnsafe.bind(Buffer),
  allocUninitializedFromPool: Buffer.allocUnsafe.bind(Buffer),
  concat: Buffer.concat.bind(Buffer),
  byteLength: Buffer.byteLength.bind(Buffer),
  compare: Buffer.compare.bind(Buffer),
  isBuffer: Buffer.isBuffer.bind(Buffer),
  isEncoding: Buffer.isEncoding.bind(Buffer),
  transcode: require('buffer').transcode,
}
buffer.default = buffer
module.exports = buffer
