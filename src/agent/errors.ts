/** Why the agent refused to take a message (daily budget spent, shutting down, invalid request). */
export class RunRejected extends Error {
  constructor(
    message: string,
    readonly kind: "budget" | "limit" | "invalid",
  ) {
    super(message)
    this.name = "RunRejected"
  }
}
