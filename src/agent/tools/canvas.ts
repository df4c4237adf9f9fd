/**
 * The `canvas` tool: the agent writes HTML/CSS/JS into `<workspace>/canvas/` to show a person a page it made; the
 * gateway serves the folder at /__openclaw__/canvas/ on its own port, and open pages reload when a file changes.
 */
import { z } from "zod"
import { CANVAS_URL_PREFIX, CanvasPathError, listCanvasFiles, readCanvasFile, writeCanvasFile } from "../../canvas/files.ts"
import { defineTool, ToolError, type ToolDef } from "./tool.ts"

const Params = z.object({
  action: z.enum(["write", "read", "list"]).describe("write: create or replace a file; read: return a file's text; list: every canvas file"),
  path: z.string().optional().describe("File path relative to the canvas folder, e.g. index.html or app/style.css (write and read)"),
  content: z.string().optional().describe("The whole file's text (write)"),
})

const fail = (err: unknown): never => {
  if (err instanceof CanvasPathError) throw new ToolError({ message: `canvas: ${err.message}` })
  throw err
}

export function createCanvasTool(): ToolDef<typeof Params> {
  return defineTool({
    name: "canvas",
    description:
      `Show the user a web page you make. Write HTML, CSS and JS files into the canvas folder (workspace/canvas/); the gateway serves them at ${CANVAS_URL_PREFIX}<path> ` +
      "on its own port, and open pages reload by themselves when you write again. Use relative links between canvas files; no external CDNs are needed. " +
      "Extensions: .html .htm .css .js .mjs .json .svg .txt .md.",
    parameters: Params,
    async execute(args, ctx) {
      if (args.action === "list") {
        const files = listCanvasFiles(ctx.workspace)
        if (files.length === 0) return { output: "The canvas is empty.", meta: { files: [] } }
        return {
          output: files.map((f) => `${f.path} (${f.size} bytes) ${CANVAS_URL_PREFIX}${f.path}`).join("\n"),
          meta: { files },
        }
      }
      if (!args.path) throw new ToolError({ message: `canvas ${args.action} needs a path, e.g. "index.html"` })
      if (args.action === "read") {
        let file: ReturnType<typeof readCanvasFile>
        try {
          file = readCanvasFile(ctx.workspace, args.path)
        } catch (err) {
          return fail(err)
        }
        if (!file) throw new ToolError({ message: `canvas: ${args.path} does not exist; list shows the files there are` })
        return { output: new TextDecoder().decode(file.body), meta: { path: file.path, url: CANVAS_URL_PREFIX + file.path } }
      }
      if (args.content === undefined) throw new ToolError({ message: "canvas write needs content (the whole file's text)" })
      let written: ReturnType<typeof writeCanvasFile>
      try {
        written = writeCanvasFile(ctx.workspace, args.path, args.content)
      } catch (err) {
        return fail(err)
      }
      const url = CANVAS_URL_PREFIX + written.path
      return {
        output: `Wrote canvas/${written.path} (${written.size} bytes). It is served at ${url} on the gateway's port; open pages reload on their own.`,
        meta: { path: written.path, url, size: written.size },
      }
    },
  })
}
