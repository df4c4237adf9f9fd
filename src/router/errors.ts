/** A reused idempotency key whose parameters differ from the first use; nothing was changed. */
export class IdempotencyConflict extends Error {
  constructor(
    message: string,
    readonly fields: string[],
  ) {
    super(message)
    this.name = "IdempotencyConflict"
  }
}
