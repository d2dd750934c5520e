'use strict'
// `@ohos.hilog` (and `hilog` of `@kit.PerformanceAnalysisKit`): an app's log lines, written
// where its console output goes (in an extension host: the service's stderr, prefixed with
// the bundle name). A line reads as on a device, `I A00000/testTag: onBackup ok`.
//
// Formats as the docs describe: `%{public}s` prints the argument, `%{private}s` and a plain
// `%s` (private by default) print `<private>`; specifiers d/i (number, bigint), s (string,
// boolean, undefined, null), o/O (objects, as JSON), and `%%`. BACKUP_HILOG_PRIVATE=show prints
// private arguments too, as a debug build's `hilog -p off` does; BACKUP_HILOG_LEVEL (debug,
// info, warn, error, fatal; default debug) is the lowest level that is printed.

const util = require('util')

const LogLevel = Object.freeze({ DEBUG: 3, INFO: 4, WARN: 5, ERROR: 6, FATAL: 7 })
const LETTER = { 3: 'D', 4: 'I', 5: 'W', 6: 'E', 7: 'F' }
const TAG_MAX_BYTES = 31

function minLevel() {
  const name = String(process.env.BACKUP_HILOG_LEVEL || 'debug').toUpperCase()
  return LogLevel[name] || LogLevel.DEBUG
}

const validDomain = (domain) => Number.isInteger(domain) && domain >= 0 && domain <= 0xffff

/** Whether a line of `level` for `domain` and `tag` would be printed. */
function isLoggable(domain, tag, level) {
  return validDomain(domain) && typeof tag === 'string' && Number.isInteger(level) && level >= minLevel() && level <= LogLevel.FATAL
}

function showValue(spec, value) {
  switch (spec) {
    case 'd':
    case 'i':
      if (typeof value === 'bigint') return value.toString()
      return typeof value === 'number' ? String(Math.trunc(value)) : String(Number.parseInt(value, 10))
    case 'o':
    case 'O':
      if (value === undefined) return 'undefined'
      try {
        return JSON.stringify(value)
      } catch {
        return util.inspect(value)
      }
    default:
      return String(value)
  }
}

const SPEC = /%(?:\{(public|private)\})?([dioOs%])/g

/** `format` with its arguments, as hilog prints it. */
function formatLine(format, args) {
  const showPrivate = process.env.BACKUP_HILOG_PRIVATE === 'show'
  let i = 0
  return String(format).replace(SPEC, (all, privacy, spec) => {
    if (spec === '%') return privacy ? all : '%'
    if (i >= args.length) return ''
    const value = args[i++]
    if (privacy !== 'public' && !showPrivate) return '<private>'
    return showValue(spec, value)
  })
}

function truncateTag(tag) {
  const bytes = Buffer.from(String(tag), 'utf8')
  return bytes.length <= TAG_MAX_BYTES ? String(tag) : bytes.subarray(0, TAG_MAX_BYTES).toString('utf8')
}

function print(level, sink) {
  return (domain, tag, format, ...args) => {
    if (!isLoggable(domain, String(tag), level)) return
    const head = `${LETTER[level]} A${domain.toString(16).toUpperCase().padStart(5, '0')}/${truncateTag(tag)}`
    console[sink](`${head}: ${formatLine(format, args)}`)
  }
}

const hilog = {
  LogLevel,
  isLoggable,
  debug: print(LogLevel.DEBUG, 'debug'),
  info: print(LogLevel.INFO, 'info'),
  warn: print(LogLevel.WARN, 'warn'),
  error: print(LogLevel.ERROR, 'error'),
  fatal: print(LogLevel.FATAL, 'error'),
}
hilog.hilog = hilog
hilog.default = hilog
module.exports = hilog
