/** Config of the web_search tool (tools.web.search) and the headless browser tool (tools.browser). */
import { z } from "zod"

export const WebSearch = z
  .strictObject({
    provider: z
      .enum(["searxng", "brave", "tavily"])
      .optional()
      .describe("Search backend of web_search and the web-search skill; unset = web_search answers with an error naming this key"),
    baseUrl: z
      .url()
      .optional()
      .describe(
        "searxng: the instance's root, required (e.g. http://127.0.0.1:8888; its JSON format must be enabled); brave / tavily: API root override (default https://api.search.brave.com, https://api.tavily.com)",
      ),
    apiKey: z.string().optional().describe("API key for brave / tavily (prefer apiKeyEnv so the key stays out of the file)"),
    apiKeyEnv: z.string().optional().describe("Environment variable holding the API key (default BRAVE_API_KEY / TAVILY_API_KEY)"),
    maxResults: z.number().int().min(1).max(20).default(5).describe("Results returned when the caller does not say (at most 20)"),
    timeoutMs: z.number().int().min(100).default(15_000).describe("Timeout of one search request"),
  })
  .describe("web_search provider")

export const Browser = z
  .strictObject({
    executablePath: z
      .string()
      .optional()
      .describe("Chromium or Chrome binary for the browser tool; default: chromium, chromium-browser, google-chrome or google-chrome-stable on PATH"),
    idleTimeoutMs: z.number().int().min(1000).default(300_000).describe("Close the shared headless browser after this long without a browser call"),
    timeoutMs: z.number().int().min(100).default(30_000).describe("Timeout of one browser action (navigation, click, typing)"),
    maxTextChars: z.number().int().min(100).default(20_000).describe("Page text returned by the browser tool is cut here"),
    maxLinks: z.number().int().min(0).default(100).describe("Links returned per page at most"),
  })
  .describe("Headless browser tool (playwright-core driving a system Chromium; never downloads a browser)")
