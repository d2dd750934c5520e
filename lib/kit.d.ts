// Types of `backup/kit`, standing in for `@kit.CoreFileKit`:
//   import { backup, fileIo as fs, BackupExtensionAbility, BundleVersion } from '@kit.CoreFileKit'

import backup from '../index'
import BackupExtensionAbility = require('./extension')
import type { BundleVersion, BackupExtensionContext } from './extension'

/** The part of `@ohos.file.fs` the @ohos.file.backup examples use. Paths under
 * `/data/storage/` are the caller's sandbox: `BACKUP_CLIENT_SANDBOX`, else `<device root>/client`. */
declare namespace fileIo {
  const OpenMode: {
    readonly READ_ONLY: 0
    readonly WRITE_ONLY: 1
    readonly READ_WRITE: 2
    readonly CREATE: 64
    readonly TRUNC: 512
    readonly APPEND: 1024
    readonly NONBLOCK: 2048
    readonly DIR: 65536
    readonly NOFOLLOW: 131072
    readonly SYNC: 1052672
  }

  class File {
    readonly fd: number
    readonly path: string
    readonly name: string
  }

  class Stat {
    readonly ino: number
    /** Permission bits (e.g. 0o644). */
    readonly mode: number
    readonly uid: number
    readonly gid: number
    readonly size: number
    /** Seconds since the epoch. */
    readonly atime: number
    readonly mtime: number
    readonly ctime: number
    readonly atimeNs?: bigint
    readonly mtimeNs?: bigint
    readonly ctimeNs?: bigint
    isBlockDevice(): boolean
    isCharacterDevice(): boolean
    isDirectory(): boolean
    isFIFO(): boolean
    isFile(): boolean
    isSocket(): boolean
    isSymbolicLink(): boolean
  }

  interface ReadOptions {
    /** Position in the file; the current offset when absent. */
    offset?: number
    length?: number
  }
  interface WriteOptions extends ReadOptions {
    encoding?: string
  }
  interface ReadTextOptions extends ReadOptions {
    encoding?: string
  }

  function openSync(path: string, mode?: number): File
  function closeSync(file: number | File): void
  /** An fd source is read from offset 0; an fd destination is written from offset 0. Neither is closed. */
  function copyFileSync(src: string | number, dest: string | number, mode?: number): void
  function accessSync(path: string, mode?: number): boolean
  function mkdirSync(path: string, recursion?: boolean): void
  function readTextSync(filePath: string, options?: ReadTextOptions | string): string
  function statSync(file: string | number): Stat
  function writeSync(fd: number, buffer: ArrayBuffer | ArrayBufferView | string, options?: WriteOptions): number
  function readSync(fd: number, buffer: ArrayBuffer | ArrayBufferView, options?: ReadOptions): number
  function unlinkSync(path: string): void
  /** Removes the directory and everything in it. */
  function rmdirSync(path: string): void
  function renameSync(oldPath: string, newPath: string): void
  interface Filter {
    suffix?: string[]
    /** Glob patterns ('*.txt'), matched against the file name. */
    displayName?: string[]
    fileSizeOver?: number
    /** Seconds since the epoch. */
    lastModifiedAfter?: number
  }
  interface ListFileOptions {
    /** Every file below the directory, as '/'-prefixed relative paths (directories not listed). */
    recursion?: boolean
    /** At most this many names (0: all). */
    listNum?: number
    filter?: Filter
  }
  function listFileSync(path: string, options?: ListFileOptions): string[]

  // The promise forms; each also takes a callback `(err, value)` as its last argument.
  function open(path: string, mode?: number): Promise<File>
  function close(file: number | File): Promise<void>
  function copyFile(src: string | number, dest: string | number, mode?: number): Promise<void>
  function access(path: string, mode?: number): Promise<boolean>
  function mkdir(path: string, recursion?: boolean): Promise<void>
  function readText(filePath: string, options?: ReadTextOptions | string): Promise<string>
  function stat(file: string | number): Promise<Stat>
  function write(fd: number, buffer: ArrayBuffer | ArrayBufferView | string, options?: WriteOptions): Promise<number>
  function read(fd: number, buffer: ArrayBuffer | ArrayBufferView, options?: ReadOptions): Promise<number>
  function unlink(path: string): Promise<void>
  function rmdir(path: string): Promise<void>
  function rename(oldPath: string, newPath: string): Promise<void>
  function listFile(path: string, options?: ListFileOptions): Promise<string[]>

  /** The directory that stands for `/data/storage/…` of the calling app. */
  function clientSandbox(): string
}

export { backup, fileIo, BackupExtensionAbility, BundleVersion, BackupExtensionContext }
declare const kit: { backup: typeof backup; fileIo: typeof fileIo; BackupExtensionAbility: typeof BackupExtensionAbility }
export default kit
