// Types of `backup/basic-services`, standing in for `@kit.BasicServicesKit`.

/** An error with the documented numeric `code`; `data` carries extra information (for
 * per-bundle backup errors: the bundle name). Errors thrown or delivered by `backup` satisfy
 * `instanceof BusinessError`. */
export declare class BusinessError<T = void> extends Error {
  constructor(code: number, message?: string, data?: T)
  code: number
  data?: T
}

export type AsyncCallback<T, E = void> = (err: BusinessError<E>, data: T) => void
export type Callback<T> = (data: T) => void

declare const basicServices: { BusinessError: typeof BusinessError }
export default basicServices
