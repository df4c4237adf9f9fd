/** The one error type of `gateway update`: a stable code for --json and scripts, and a message meant for people. */
import { NamedError } from "../util/named-error.ts"

const CODES = [
  "BAD_BASE_URL",
  "UNSUPPORTED_PLATFORM",
  "NOT_COMPILED",
  "NOT_WRITABLE",
  "DOWNLOAD_FAILED",
  "NO_SUMS_ENTRY",
  "CHECKSUM_MISMATCH",
  "SMOKE_TEST_FAILED",
  "REPLACE_FAILED",
  "BAD_ARGS",
] as const

export type UpdateErrorCode = (typeof CODES)[number]

export const UpdateError = NamedError.create("UpdateError", (z) => z.object({ code: z.enum(CODES), message: z.string() }))
export type UpdateError = InstanceType<typeof UpdateError>
