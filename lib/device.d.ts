// Types of `backup/device`: the helper that creates and inspects device directories.

/** A file's content: text, bytes, or `{ size, seed? }` = deterministic pseudo-random bytes
 * (seed defaults to the path). */
export type FileContent = string | Uint8Array | { size: number; seed?: string | number }

/** Sandbox-relative path ('data/storage/el2/base/files/a.txt'; trailing '/' = directory) → content.
 * `mtime` is a Date or milliseconds since the epoch; files default to now, in whole seconds. */
export type Files = Record<
  string,
  FileContent | { content?: FileContent; size?: number; seed?: string | number; mode?: number; mtime?: Date | number } | null
>

export interface DeviceInfo {
  deviceType?: string
  systemFullName?: string
}

export interface InstallOptions {
  versionCode?: number
  versionName?: string
  appIndex?: number
  /** true (default): an extension without code; false: none (backup gives 13500005);
   * a string: its srcEntry, relative to the bundle's directory. */
  extension?: boolean | string
  /** An absolute path copied to the srcEntry location. */
  extensionSource?: string
  /** backup_config.json (default `{ allowToBackupRestore: true }`); null: no profile. */
  config?: Record<string, unknown> | string | null
  files?: Files
}

export interface SnapshotEntry {
  type: 'file' | 'dir' | 'symlink' | 'other'
  size: number
  /** Permission bits. */
  mode: number
  /** Whole milliseconds. */
  mtimeMs: number
  sha256?: string
}

export type Snapshot = Map<string, SnapshotEntry>

export const WORK_AREA: string
/** BACKUP_DEVICE_ROOT, else $XDG_DATA_HOME/backup/device, else ~/.local/share/backup/device. */
export function defaultRoot(): string
/** Creates or updates a device; default root: a fresh temp directory. Returns the root. */
export function createDevice(root?: string, info?: DeviceInfo): string
export function createDevice(info: DeviceInfo): string
/** Sets BACKUP_DEVICE_ROOT. */
export function useDevice(root: string): string
/** Returns the bundle's sandbox directory. */
export function installBundle(root: string, bundleName: string, opts?: InstallOptions): string
/** Installs an OpenHarmony app project (DevEco Studio layout: AppScope/app.json5,
 * <module>/src/main/module.json5, its "type": "backup" extension and profile) and returns its
 * bundle name; the extension runs from the project's sources. Throws an Error naming the
 * missing or broken file; then nothing is installed. */
export function installProject(root: string, projectDir: string): string
export function uninstallBundle(root: string, bundleName: string): void
export function writeFiles(root: string, bundleName: string, files: Files): void
export function sandboxOf(root: string, bundleName: string): string
export function bundleDir(root: string, bundleName: string): string
export function listBundles(root: string): string[]
export function bundleInfo(root: string, bundleName: string): Record<string, any> & { config: Record<string, any> | null }
/** Empties the sandbox, keeping the directory. */
export function wipeApp(root: string, bundleName: string): void
export function snapshotTree(dir: string, opts?: { exclude?: string[] }): Snapshot
/** Readable differences, [] when equal; directory mtimes only with `dirMtime: true`. */
export function diffSnapshots(a: Snapshot, b: Snapshot, opts?: { dirMtime?: boolean }): string[]
/** A sandbox-relative path without leading or trailing '/'; throws for '..', '.' or empty segments. */
export function relativePath(p: string): string
/**
 * A testing aid: the backup service of `root` (default: BACKUP_DEVICE_ROOT or the default
 * device) dies: its service process is killed (SIGKILL), or with BACKUP_SERVICE=inprocess the
 * in-process service stops as if it had. Its active session, if it has work in flight, gets
 * `onBackupServiceDied` and nothing after it; its calls then fail with 13900020; the device is
 * free for a new session. Returns whether a session was active. Needs the built addon.
 */
export function simulateServiceDeath(root?: string): boolean
/** Stops the service process of `root` if one runs and waits until it is gone; whether one ran. */
export function stopService(root: string): boolean
