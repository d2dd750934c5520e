'use strict'
// Reading and writing the fds the API hands over, one copy for every suite.
const fs = require('fs')

/**
 * Everything in the file behind `fd`, by pread from `position` (0: the whole file, whatever
 * the fd's offset); `null` reads from the fd's own offset on, as read(2) does.
 */
function readFd(fd, position = 0) {
  const chunks = []
  const buf = Buffer.allocUnsafe(1 << 20)
  for (let pos = position; ; ) {
    const n = fs.readSync(fd, buf, 0, buf.length, pos)
    if (n === 0) return Buffer.concat(chunks)
    chunks.push(Buffer.from(buf.subarray(0, n)))
    if (pos !== null) pos += n
  }
}

/** Writes all of `data` at the fd's offset (a short write is continued). */
function writeFd(fd, data) {
  for (let off = 0; off < data.length; ) off += fs.writeSync(fd, data, off, data.length - off)
}

module.exports = { readFd, writeFd }
