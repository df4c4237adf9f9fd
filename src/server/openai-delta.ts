/**
 * Turns a run's assistant snapshots into OpenAI `delta.content` pieces. OpenAI's stream has no way to take text back,
 * so after a model retry (the run's next snapshot carries `replace`) nothing is sent until the new attempt has caught
 * up with what the client already holds: if it repeats it, only the new tail goes out; if it says something else,
 * the new attempt follows after a blank line instead of being glued onto the abandoned text.
 */
export class OpenAiDeltas {
  /** Text of the current model step already sent to the client. */
  private sent = ""
  private catchingUp = false

  /** One assistant event of the run: `text` is the step's text so far, `delta` the newest piece. */
  push(ev: { text?: string; delta?: string; replace?: boolean }): string {
    const text = ev.text ?? ""
    const delta = ev.delta ?? ""
    if (ev.replace) this.catchingUp = this.sent.length > 0
    else if (!this.catchingUp && text === delta) this.sent = "" // first piece of a new step
    if (!this.catchingUp) {
      this.sent += delta
      return delta
    }
    if (this.sent.startsWith(text)) return "" // still repeating what the client has
    this.catchingUp = false
    if (text.startsWith(this.sent)) {
      const tail = text.slice(this.sent.length)
      this.sent = text
      return tail
    }
    this.sent = text
    return `\n\n${text}`
  }
}
