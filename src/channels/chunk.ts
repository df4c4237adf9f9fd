/**
 * Splits a reply into messages a platform accepts (Telegram 4,096 characters, Discord 2,000). Cuts prefer a paragraph
 * break, then a line break, then a space; a word is cut only when it alone is longer than a message. A cut inside a
 * fenced code block closes the fence at the end of the piece and reopens it (same language) at the start of the next,
 * so every piece renders as code.
 */

const FENCE = /^(\s*)(```|~~~)(.*)$/

/** The fence open at the end of `text` (its opening line), or undefined when all fences are closed. */
function openFence(text: string): string | undefined {
  let open: string | undefined
  for (const line of text.split("\n")) {
    const m = FENCE.exec(line)
    if (!m) continue
    if (open === undefined) open = `${m[2]}${m[3]?.trim() ?? ""}`
    else if (line.trim().startsWith(open.slice(0, 3))) open = undefined
  }
  return open
}

/** The best cut position in `text` at or before `max`. */
function cutAt(text: string, max: number): number {
  const window = text.slice(0, max)
  const floor = Math.floor(max / 3) // a cut this early would leave a tiny piece: look for something better first
  for (const sep of ["\n\n", "\n", " "]) {
    const i = window.lastIndexOf(sep)
    if (i >= floor) return i + sep.length
  }
  return max
}

export function chunkText(text: string, max: number): string[] {
  if (max < 20) throw new Error(`chunk size ${max} is too small`)
  const pieces: string[] = []
  let rest = text
  let reopen = ""
  while (rest.length > 0) {
    const body = reopen + rest
    if (body.length <= max) {
      pieces.push(body)
      break
    }
    // Leave room for a closing fence.
    const room = max - 4
    let cut = cutAt(body, room)
    if (cut <= reopen.length) cut = room // the reopened fence alone must not be the whole piece
    let piece = body.slice(0, cut)
    const fence = openFence(piece)
    piece = piece.replace(/\s+$/, "")
    if (fence) piece = `${piece}\n${fence.slice(0, 3)}`
    pieces.push(piece)
    rest = body.slice(cut).replace(/^\n+/, "")
    reopen = fence ? `${fence}\n` : ""
  }
  return pieces.filter((p) => p.trim().length > 0)
}
