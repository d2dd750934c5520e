// Types of `require('backup')`: OpenHarmony's @ohos.file.backup, with the documented type
// names and overloads (spec/api-v18.md). Every type lives in the `backup` namespace, so
// `backup.File`, `backup.GeneralCallbacks`, … read exactly as in the docs.

/** An error from the backup service: `code` is the documented numeric error code; errors
 * delivered to onFileReady/onBundleBegin/onBundleEnd carry the bundle name in `data`. */
export interface BusinessError<T = void> extends Error {
  code: number
  data?: T
}

export type AsyncCallback<T, E = void> = (err: BusinessError<E>, data: T) => void
export type Callback<T> = (data: T) => void

declare namespace backup {
  export type { BusinessError, AsyncCallback, Callback }

  /** Application name and file URI. */
  export interface FileMeta {
    bundleName: string
    uri: string
  }

  /** An open file descriptor; close it with fs.closeSync when done. */
  export interface FileData {
    fd: number
  }

  /** The report (manifest) of a file in incremental backup and restore. */
  export interface FileManifestData {
    manifestFd: number
  }

  export interface IncrementalBackupTime {
    bundleName: string
    /** Seconds since the epoch. */
    lastIncrementalTime: number
  }

  export interface BackupParams {
    parameters?: string
  }

  export interface BackupPriority {
    priority?: number
  }

  export interface IncrementalBackupData extends IncrementalBackupTime, FileManifestData, BackupParams, BackupPriority {}

  /** A file handed over by the service; `manifestFd` is present for incremental backup and restore. */
  export interface File extends FileMeta, FileData, Partial<FileManifestData> {}

  export type OnBackupSizeReport = (reportInfo: string) => void

  export interface GeneralCallbacks {
    onFileReady: AsyncCallback<File>
    onBundleBegin: AsyncCallback<string, void | string>
    onBundleEnd: AsyncCallback<string, void | string>
    onAllBundlesEnd: AsyncCallback<undefined>
    onBackupServiceDied: Callback<undefined>
    onResultReport?: (bundleName: string, result: string) => void
    onProcess?: (bundleName: string, process: string) => void
    onBackupSizeReport?: OnBackupSizeReport
  }

  export function getBackupVersion(): string
  export function getLocalCapabilities(callback: AsyncCallback<FileData>): void
  export function getLocalCapabilities(): Promise<FileData>
  export function getLocalCapabilities(dataList: Array<IncrementalBackupTime>): Promise<FileData>
  export function getBackupInfo(bundleToBackup: string): string
  export function updateTimer(bundleName: string, timeout: number): boolean
  export function updateSendRate(bundleName: string, sendRate: number): boolean

  export class SessionBackup {
    constructor(callbacks: GeneralCallbacks)
    getLocalCapabilities(): Promise<FileData>
    getBackupDataSize(isPreciseScan: boolean, dataList: Array<IncrementalBackupTime>): Promise<void>
    appendBundles(bundlesToBackup: string[], callback: AsyncCallback<void>): void
    appendBundles(bundlesToBackup: string[], infos?: string[]): Promise<void>
    release(): Promise<void>
    cancel(bundleName: string): number
  }

  export class SessionRestore {
    constructor(callbacks: GeneralCallbacks)
    getLocalCapabilities(): Promise<FileData>
    appendBundles(remoteCapabilitiesFd: number, bundlesToBackup: string[], callback: AsyncCallback<void>): void
    appendBundles(remoteCapabilitiesFd: number, bundlesToBackup: string[], infos?: string[]): Promise<void>
    getFileHandle(fileMeta: FileMeta, callback: AsyncCallback<void>): void
    getFileHandle(fileMeta: FileMeta): Promise<void>
    publishFile(fileMeta: FileMeta, callback: AsyncCallback<void>): void
    publishFile(fileMeta: FileMeta): Promise<void>
    release(): Promise<void>
    cancel(bundleName: string): number
  }

  export class IncrementalBackupSession {
    constructor(callbacks: GeneralCallbacks)
    getLocalCapabilities(): Promise<FileData>
    getBackupDataSize(isPreciseScan: boolean, dataList: Array<IncrementalBackupTime>): Promise<void>
    appendBundles(bundlesToBackup: Array<IncrementalBackupData>): Promise<void>
    appendBundles(bundlesToBackup: Array<IncrementalBackupData>, infos: string[]): Promise<void>
    release(): Promise<void>
    cancel(bundleName: string): number
  }
}

/** `import { backup } from 'backup'` */
export { backup }
/** `import backup from 'backup'` */
export default backup
export const getBackupVersion: typeof backup.getBackupVersion
export const getLocalCapabilities: typeof backup.getLocalCapabilities
export const getBackupInfo: typeof backup.getBackupInfo
export const updateTimer: typeof backup.updateTimer
export const updateSendRate: typeof backup.updateSendRate
export const SessionBackup: typeof backup.SessionBackup
export type SessionBackup = backup.SessionBackup
export const SessionRestore: typeof backup.SessionRestore
export type SessionRestore = backup.SessionRestore
export const IncrementalBackupSession: typeof backup.IncrementalBackupSession
export type IncrementalBackupSession = backup.IncrementalBackupSession
export type FileMeta = backup.FileMeta
export type FileData = backup.FileData
export type FileManifestData = backup.FileManifestData
export type IncrementalBackupTime = backup.IncrementalBackupTime
export type IncrementalBackupData = backup.IncrementalBackupData
export type BackupParams = backup.BackupParams
export type BackupPriority = backup.BackupPriority
export type File = backup.File
export type GeneralCallbacks = backup.GeneralCallbacks
export type OnBackupSizeReport = backup.OnBackupSizeReport
