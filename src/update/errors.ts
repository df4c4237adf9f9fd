/** The one error type of `gateway update`: a stable code for --json and scripts, and a message meant for people. */
export type UpdateErrorCode =
  | "BAD_BASE_URL"
  | "UNSUPPORTED_PLATFORM"
  | "NOT_COMPILED"
  | "NOT_WRITABLE"
  | "DOWNLOAD_FAILED"
  | "NO_SUMS_ENTRY"
  | "CHECKSUM_MISMATCH"
  | "SMOKE_TEST_FAILED"
  | "REPLACE_FAILED"
  | "BAD_ARGS"

export class UpdateError extends Error {
  override readonly name = "UpdateError"
  constructor(
    readonly code: UpdateErrorCode,
    message: string,
  ) {
    super(message)
  }
}
