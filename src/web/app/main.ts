/**
 * The gateway's web page: token once (kept in localStorage), then chat with streamed replies and tool activity,
 * sessions and their history, approvals (exec, channel and device pairing), health, channels, cron jobs and the log.
 * Panels for methods this gateway does not advertise stay hidden.
 */
import { ago, button, clip, contentText, $, h } from "./dom.ts"
import { Gateway, gatewayUrl, RequestError } from "./gateway.ts"

const TOKEN_KEY = "gateway.token"
const POLL_MS = 4000
const LOG_POLL_MS = 2000
const MAX_LOG_LINES = 1000

let gw: Gateway | undefined
let retryMs = 1000
let reconnectTimer: number | undefined
let pollTimer: number | undefined
let logTimer: number | undefined
let logCursor: number | undefined

// ---- connection -----------------------------------------------------------------------------------------------

function setStatus(text: string, state: "ok" | "wait" | "bad"): void {
  const el = $("conn-status")
  el.textContent = text
  el.dataset.state = state
}

async function connect(token: string | undefined): Promise<void> {
  clearTimeout(reconnectTimer)
  setStatus("Connecting…", "wait")
  try {
    gw = await Gateway.open(gatewayUrl(), token, onClosed)
  } catch (err) {
    gw = undefined
    if (err instanceof RequestError && err.isAuth) return showLogin(token ? "That token was not accepted." : "")
    if (err instanceof RequestError) return showLogin(err.message)
    setStatus(`Disconnected: ${(err as Error).message}.${originHint()} Retrying…`, "bad")
    return scheduleReconnect()
  }
  retryMs = 1000
  setStatus(`Connected to gateway ${gw.hello.server.version}`, "ok")
  $("login").hidden = true
  $("main").hidden = false
  $("forget").hidden = !localStorage.getItem(TOKEN_KEY)
  gw.onEvent(onEvent)
  $("device-pairing-box").hidden = !gw.has("device.pair.list")
  $("cron-box").hidden = !gw.has("cron.list")
  renderHealth(gw.hello.snapshot.health)
  void loadHistory()
  void refreshApprovals()
  void refreshVisible()
  clearInterval(pollTimer)
  pollTimer = window.setInterval(() => void refreshApprovals(), POLL_MS)
}

/**
 * The gateway refuses a browser WebSocket from an origin it does not know (before the upgrade, so the page only sees a
 * failed connection): loopback and IP-address origins are allowed, a host name must be in the allowlist.
 */
function originHint(): string {
  const host = location.hostname
  if (host === "localhost" || /^[\d.]+$/.test(host) || host.startsWith("[")) return ""
  return ` If the gateway refuses this page's origin, add ${location.origin} to gateway.controlUi.allowedOrigins.`
}

function onClosed(ev: CloseEvent): void {
  gw = undefined
  clearInterval(pollTimer)
  setStatus(`Disconnected (${ev.reason || ev.code}). Reconnecting…`, "bad")
  scheduleReconnect()
}

function scheduleReconnect(): void {
  clearTimeout(reconnectTimer)
  reconnectTimer = window.setTimeout(() => void connect(localStorage.getItem(TOKEN_KEY) ?? undefined), retryMs)
  retryMs = Math.min(retryMs * 2, 30_000)
}

function showLogin(error: string): void {
  setStatus("Not connected", "bad")
  $("main").hidden = true
  $("login").hidden = false
  $("login-error").textContent = error
  $<HTMLInputElement>("token").focus()
}

$("login-form").addEventListener("submit", (ev) => {
  ev.preventDefault()
  const token = $<HTMLInputElement>("token").value.trim()
  if (!token) return
  localStorage.setItem(TOKEN_KEY, token)
  $<HTMLInputElement>("token").value = ""
  void connect(token)
})

$("forget").addEventListener("click", () => {
  localStorage.removeItem(TOKEN_KEY)
  gw?.close()
  gw = undefined
  clearTimeout(reconnectTimer)
  clearInterval(pollTimer)
  $("forget").hidden = true
  showLogin("")
})

/** Shows a failed request's message where the person is looking (never throws). */
function report(err: unknown, where: HTMLElement): void {
  const msg = err instanceof Error ? err.message : String(err)
  where.append(h("li", { class: "error", text: msg, attrs: { role: "alert" } }))
}

// ---- tabs -----------------------------------------------------------------------------------------------------

const tabs = [...document.querySelectorAll<HTMLButtonElement>('[role="tab"]')]
function selectTab(tab: HTMLButtonElement, focus = false): void {
  for (const t of tabs) {
    const on = t === tab
    t.setAttribute("aria-selected", String(on))
    t.tabIndex = on ? 0 : -1
    $(t.getAttribute("aria-controls")!).hidden = !on
  }
  if (focus) tab.focus()
  void refreshVisible()
}
for (const t of tabs) {
  t.addEventListener("click", () => selectTab(t))
  t.addEventListener("keydown", (ev) => {
    const i = tabs.indexOf(t)
    const next = ev.key === "ArrowRight" ? i + 1 : ev.key === "ArrowLeft" ? i - 1 : ev.key === "Home" ? 0 : ev.key === "End" ? tabs.length - 1 : -2
    if (next === -2) return
    ev.preventDefault()
    selectTab(tabs[(next + tabs.length) % tabs.length]!, true)
  })
}
const visible = (id: string) => !$(id).hidden

async function refreshVisible(): Promise<void> {
  if (!gw) return
  if (visible("view-sessions")) await loadSessions()
  if (visible("view-status")) await loadStatus()
  clearInterval(logTimer)
  if (visible("view-logs")) {
    await tailLogs()
    logTimer = window.setInterval(() => void tailLogs(), LOG_POLL_MS)
  }
}

// ---- chat -----------------------------------------------------------------------------------------------------

const messages = $<HTMLOListElement>("messages")
let sessionKey = "main"
/** Full key of the open session once the gateway told us ("agent:main:main"), for matching events. */
let fullKey = ""
const myRuns = new Set<string>()
const bubbles = new Map<string, HTMLLIElement>()
const toolRows = new Map<string, HTMLLIElement>()
const activeRuns = new Set<string>()

function scrollDown(): void {
  messages.scrollTop = messages.scrollHeight
}

function addMessage(role: string, text: string, extra = ""): HTMLLIElement {
  const li = h("li", { class: `msg ${role} ${extra}`.trim() }, h("span", { class: "who", text: role === "user" ? "You" : "Agent" }), h("p", { text }))
  messages.append(li)
  scrollDown()
  return li
}

function ours(p: { runId?: string; sessionKey?: string }): boolean {
  if (p.runId && myRuns.has(p.runId)) return true
  const k = p.sessionKey ?? ""
  return k === fullKey || k === sessionKey || k.endsWith(`:${sessionKey}`)
}

function setRunning(runId: string, on: boolean): void {
  if (on) activeRuns.add(runId)
  else activeRuns.delete(runId)
  $("abort").hidden = activeRuns.size === 0
  // A screen reader hears the finished reply once, not every streamed fragment.
  messages.setAttribute("aria-busy", String(activeRuns.size > 0))
}

function onChat(p: { runId: string; sessionKey: string; state: string; message?: { content: unknown }; errorMessage?: string; deltaText?: string }): void {
  if (!ours(p)) return
  if (!fullKey && p.sessionKey.includes(":")) fullKey = p.sessionKey
  let li = bubbles.get(p.runId)
  if (!li && (p.state === "delta" || p.state === "final" || p.state === "error")) {
    li = addMessage("assistant", "", "streaming")
    li.dataset.runId = p.runId
    bubbles.set(p.runId, li)
  }
  if (p.state === "status") setRunning(p.runId, true)
  if (!li) return
  const text = p.message ? contentText(p.message.content) : (li.querySelector("p")!.textContent ?? "") + (p.deltaText ?? "")
  if (p.state === "delta") {
    setRunning(p.runId, true)
    li.querySelector("p")!.textContent = text
  } else if (p.state === "final") {
    li.querySelector("p")!.textContent = text
    li.classList.remove("streaming")
    li.classList.add("done")
    setRunning(p.runId, false)
  } else if (p.state === "error" || p.state === "aborted") {
    li.classList.remove("streaming")
    li.classList.add("failed")
    li.append(h("p", { class: "error", text: p.state === "aborted" ? "Stopped." : `Error: ${p.errorMessage ?? "the run failed"}` }))
    setRunning(p.runId, false)
  }
  scrollDown()
}

function onAgent(p: { runId: string; sessionKey?: string; stream: string; data: Record<string, unknown> }): void {
  if (!ours(p)) return
  if (p.stream === "lifecycle" && (p.data.phase === "end" || p.data.phase === "error")) setRunning(p.runId, false)
  if (p.stream !== "tool") return
  const d = p.data as { phase: string; name: string; toolCallId: string; args?: unknown; result?: string; isError?: boolean; meta?: { url?: unknown } }
  let li = toolRows.get(d.toolCallId)
  if (!li) {
    const args = d.args === undefined ? "" : clip(JSON.stringify(d.args), 300)
    li = h(
      "li",
      { class: "tool running", attrs: { "data-tool": d.name } },
      h("span", { class: "who", text: "Tool" }),
      h("p", {}, h("strong", { text: d.name }), " ", h("code", { text: args })),
      h("p", { class: "tool-state", text: "running…" }),
    )
    toolRows.set(d.toolCallId, li)
    // Before the reply that follows it, when the reply's bubble already exists.
    const bubble = bubbles.get(p.runId)
    if (bubble && !bubble.querySelector("p")?.textContent) messages.insertBefore(li, bubble)
    else messages.append(li)
  }
  if (d.phase === "result") {
    li.classList.remove("running")
    li.classList.add(d.isError ? "failed" : "done")
    li.querySelector(".tool-state")!.textContent = `${d.isError ? "failed: " : "→ "}${clip(d.result ?? "", 400)}`
    // A page the agent made with the canvas tool: open it (same origin, served sandboxed).
    const url = d.meta?.url
    if (d.name === "canvas" && !d.isError && typeof url === "string" && url.startsWith("/__openclaw__/canvas/")) {
      li.append(h("p", {}, h("a", { text: "Open the page", attrs: { href: url, target: "_blank", rel: "noopener noreferrer" } })))
    }
  }
  scrollDown()
}

async function loadHistory(): Promise<void> {
  if (!gw) return
  messages.replaceChildren()
  bubbles.clear()
  toolRows.clear()
  try {
    const res = await gw.request<{ sessionKey: string; messages: { role: string; content: unknown }[]; sessionInfo?: { key: string; activeRunIds: string[] } }>(
      "chat.history",
      { sessionKey, limit: 200 },
    )
    fullKey = res.sessionInfo?.key ?? ""
    for (const m of res.messages) addMessage(m.role, contentText(m.content))
    if (res.messages.length === 0) messages.append(h("li", { class: "empty", text: `No messages in ${sessionKey} yet.` }))
  } catch (err) {
    report(err, messages)
  }
}

$("session-form").addEventListener("submit", (ev) => {
  ev.preventDefault()
  openSession($<HTMLInputElement>("session-key").value.trim() || "main")
})

function openSession(key: string): void {
  sessionKey = key
  fullKey = ""
  $<HTMLInputElement>("session-key").value = key
  void loadHistory()
}

$("composer").addEventListener("submit", (ev) => {
  ev.preventDefault()
  void send()
})
$("message").addEventListener("keydown", (ev) => {
  const k = ev as KeyboardEvent
  if (k.key === "Enter" && !k.shiftKey && !k.isComposing) {
    ev.preventDefault()
    void send()
  }
})

async function send(): Promise<void> {
  const box = $<HTMLTextAreaElement>("message")
  const text = box.value.trim()
  if (!text || !gw) return
  box.value = ""
  messages.querySelector(".empty")?.remove()
  addMessage("user", text)
  try {
    const res = await gw.request<{ runId: string; status: string; mergedInto?: string }>("chat.send", {
      sessionKey,
      message: text,
      idempotencyKey: crypto.randomUUID(),
    })
    // A message collected into a run already going (queue modes) is answered by that run.
    const runId = res.mergedInto ?? res.runId
    myRuns.add(runId)
    if (res.status === "started" || res.status === "in_flight") setRunning(runId, true)
  } catch (err) {
    report(err, messages)
  }
}

$("abort").addEventListener("click", () => {
  void gw?.request("chat.abort", { sessionKey }).catch((err) => report(err, messages))
})

// ---- sessions -------------------------------------------------------------------------------------------------

async function loadSessions(): Promise<void> {
  const list = $("sessions")
  try {
    const res = await gw!.request<{
      sessions: { key: string; displayName: string; updatedAt: number; totalTokens: number; lastMessage?: string; hasActiveRun: boolean }[]
    }>("sessions.list", { limit: 200, includeLastMessage: true })
    list.replaceChildren(
      ...res.sessions.map((s) =>
        h(
          "li",
          { class: "item" },
          button(
            s.displayName || s.key,
            () => {
              openSession(s.key)
              selectTab($<HTMLButtonElement>("tab-chat"), true)
            },
            { class: "link", ariaLabel: `Open session ${s.key}` },
          ),
          h("span", { class: "meta", text: `${s.key} · ${ago(s.updatedAt)} · ${s.totalTokens} tokens${s.hasActiveRun ? " · running" : ""}` }),
          s.lastMessage ? h("span", { class: "preview", text: clip(s.lastMessage, 160) }) : null,
        ),
      ),
    )
    if (res.sessions.length === 0) list.append(h("li", { class: "empty", text: "No sessions yet." }))
  } catch (err) {
    list.replaceChildren()
    report(err, list)
  }
}
$("sessions-refresh").addEventListener("click", () => void loadSessions())

// ---- approvals ------------------------------------------------------------------------------------------------

interface ExecApproval {
  id: string
  command: string
  cwd?: string
  sessionKey?: string
  expiresAtMs: number
}
const execApprovals = new Map<string, ExecApproval>()
let channelRequests: { channel: string; code: string; senderId: string; senderName?: string; expiresAt: number }[] = []
let deviceRequests: { requestId: string; deviceId: string; displayName?: string; platform?: string; clientId?: string; remoteIp?: string; ts: number }[] = []

function updateBadge(): void {
  const n = execApprovals.size + channelRequests.length + deviceRequests.length
  const badge = $("approvals-badge")
  badge.hidden = n === 0
  badge.textContent = String(n)
  badge.setAttribute("aria-label", `${n} waiting`)
}

async function refreshApprovals(): Promise<void> {
  if (!gw) return
  const g = gw
  await Promise.all([
    g.has("exec.approval.list")
      ? g
          .request<{ approvals: ExecApproval[] }>("exec.approval.list")
          .then((r) => {
            execApprovals.clear()
            for (const a of r.approvals) execApprovals.set(a.id, a)
          })
          .catch(() => {})
      : undefined,
    g.has("channels.pairing.list")
      ? g
          .request<{ requests: typeof channelRequests }>("channels.pairing.list")
          .then((r) => {
            channelRequests = r.requests
          })
          .catch(() => {})
      : undefined,
    g.has("device.pair.list")
      ? g
          .request<{ pending: typeof deviceRequests }>("device.pair.list")
          .then((r) => {
            deviceRequests = r.pending ?? []
          })
          .catch(() => {})
      : undefined,
  ])
  renderApprovals()
}

function decisionRow(title: (Node | string)[], detail: string, actions: HTMLButtonElement[]): HTMLLIElement {
  return h("li", { class: "item approval" }, h("p", {}, ...title), h("span", { class: "meta", text: detail }), h("div", { class: "actions" }, ...actions))
}

function act(p: Promise<unknown>, where: HTMLElement): void {
  p.then(() => refreshApprovals()).catch((err) => report(err, where))
}

function renderApprovals(): void {
  const exec = $("exec-approvals")
  exec.replaceChildren(
    ...[...execApprovals.values()].map((a) =>
      decisionRow(
        [h("code", { text: a.command })],
        `${a.sessionKey ?? ""}${a.cwd ? ` · in ${a.cwd}` : ""} · expires ${ago(a.expiresAtMs)}`,
        (
          [
            ["Allow once", "allow-once", ""],
            ["Always allow", "allow-always", "ghost"],
            ["Deny", "deny", "danger"],
          ] as const
        ).map(([label, decision, cls]) =>
          button(
            label,
            () =>
              act(
                gw!.request("exec.approval.resolve", { id: a.id, decision }).then(() => execApprovals.delete(a.id)),
                exec,
              ),
            {
              class: cls,
              ariaLabel: `${label}: ${a.command}`,
            },
          ),
        ),
      ),
    ),
  )
  if (execApprovals.size === 0) exec.append(h("li", { class: "empty", text: "No commands are waiting." }))

  const ch = $("channel-pairing")
  ch.replaceChildren(
    ...channelRequests.map((r) =>
      decisionRow(
        [h("strong", { text: r.senderName ?? r.senderId }), ` on ${r.channel} · code `, h("code", { text: r.code })],
        `user ${r.senderId} · expires ${ago(r.expiresAt)}`,
        [
          button("Approve", () => act(gw!.request("channels.pairing.approve", { channel: r.channel, code: r.code }), ch), {
            ariaLabel: `Approve ${r.senderName ?? r.senderId} on ${r.channel}`,
          }),
          button("Dismiss", () => act(gw!.request("channels.pairing.dismiss", { channel: r.channel, code: r.code }), ch), {
            class: "ghost",
            ariaLabel: `Dismiss ${r.senderName ?? r.senderId} on ${r.channel}`,
          }),
        ],
      ),
    ),
  )
  if (channelRequests.length === 0) ch.append(h("li", { class: "empty", text: "Nobody is asking to pair." }))

  const dev = $("device-pairing")
  dev.replaceChildren(
    ...deviceRequests.map((r) =>
      decisionRow(
        [h("strong", { text: r.displayName ?? r.deviceId.slice(0, 16) }), ` ${r.platform ?? ""} ${r.clientId ?? ""}`],
        `${r.remoteIp ?? ""} · asked ${ago(r.ts)}`,
        [
          button("Approve", () => act(gw!.request("device.pair.approve", { requestId: r.requestId }), dev), {
            ariaLabel: `Approve device ${r.displayName ?? r.deviceId}`,
          }),
          button("Reject", () => act(gw!.request("device.pair.reject", { requestId: r.requestId }), dev), {
            class: "danger",
            ariaLabel: `Reject device ${r.displayName ?? r.deviceId}`,
          }),
        ],
      ),
    ),
  )
  if (deviceRequests.length === 0) dev.append(h("li", { class: "empty", text: "No devices are waiting." }))
  updateBadge()
}

// ---- status ---------------------------------------------------------------------------------------------------

function renderHealth(health: Record<string, unknown> | undefined): void {
  const dl = $("health")
  if (!health || !("ok" in health)) return
  const facts: [string, string][] = [
    ["Healthy", health.ok ? "yes" : "no"],
    ["Default agent", String(health.defaultAgentId ?? "—")],
    ["Sessions", String((health.sessions as { count?: number } | undefined)?.count ?? "—")],
    ["Heartbeat", health.heartbeatSeconds ? `every ${health.heartbeatSeconds} s` : "off"],
    ["Checked", ago(health.ts as number)],
  ]
  dl.replaceChildren(...facts.flatMap(([k, v]) => [h("dt", { text: k }), h("dd", { text: v })]))
}

async function loadStatus(): Promise<void> {
  const g = gw!
  const dl = $("health")
  try {
    renderHealth(await g.request("health"))
    const st = await g.request<{ version: string; uptimeMs: number; connections: number; agent: { model: string | null; activeRuns: number } }>("status")
    const more: [string, string][] = [
      ["Version", st.version],
      ["Up for", `${Math.round(st.uptimeMs / 60000)} min`],
      ["Model", st.agent.model ?? "—"],
      ["Active runs", String(st.agent.activeRuns)],
      ["Connections", String(st.connections)],
    ]
    dl.append(...more.flatMap(([k, v]) => [h("dt", { text: k }), h("dd", { text: v })]))
    // Pages the agent made with its canvas tool (served sandboxed on this port).
    dl.append(
      h("dt", { text: "Canvas" }),
      h("dd", {}, h("a", { text: "/__openclaw__/canvas/", attrs: { href: "/__openclaw__/canvas/", target: "_blank", rel: "noopener noreferrer" } })),
    )
  } catch (err) {
    dl.append(h("dd", { class: "error", text: (err as Error).message }))
  }
  try {
    const res = await g.request<{
      channels: { channel: string; configured: boolean; connected: boolean; lastError?: string; outbox: { pending: number; failed: number; sent: number } }[]
    }>("channels.status")
    const rows = res.channels.map((c) =>
      h(
        "tr",
        {},
        h("th", { text: c.channel, attrs: { scope: "row" } }),
        h("td", { text: c.configured ? "yes" : "no" }),
        h("td", { text: c.connected ? "yes" : "no" }),
        h("td", { text: `${c.outbox.sent} sent, ${c.outbox.pending} waiting, ${c.outbox.failed} failed` }),
        h("td", { text: c.lastError ?? "" }),
      ),
    )
    $("channels")
      .querySelector("tbody")!
      .replaceChildren(...rows)
  } catch {}
  if (g.has("cron.list")) {
    try {
      const res = await g.request<{ jobs: CronJob[] }>("cron.list", { includeDisabled: true })
      $("cron")
        .querySelector("tbody")!
        .replaceChildren(
          ...res.jobs.map((j) =>
            h(
              "tr",
              {},
              h("th", { text: j.name ?? j.id, attrs: { scope: "row" } }),
              h("td", { text: scheduleText(j.schedule) }),
              h("td", { text: j.enabled === false ? "no" : "yes" }),
              h("td", { text: ago(j.state?.nextRunAtMs) }),
              h("td", { text: j.state?.lastStatus ? `${j.state.lastStatus} ${ago(j.state.lastRunAtMs)}` : "—" }),
            ),
          ),
        )
      if (res.jobs.length === 0)
        $("cron")
          .querySelector("tbody")!
          .append(h("tr", {}, h("td", { text: "No cron jobs.", attrs: { colspan: "5" } })))
    } catch {}
  }
}
$("status-refresh").addEventListener("click", () => void loadStatus())

interface CronJob {
  id: string
  name?: string
  enabled?: boolean
  schedule?: { kind: string; at?: string | number; everyMs?: number; expr?: string; tz?: string }
  state?: { nextRunAtMs?: number; lastRunAtMs?: number; lastStatus?: string }
}
function scheduleText(s: CronJob["schedule"]): string {
  if (!s) return "—"
  if (s.kind === "cron") return `${s.expr}${s.tz ? ` (${s.tz})` : ""}`
  if (s.kind === "every") return `every ${Math.round((s.everyMs ?? 0) / 1000)} s`
  if (s.kind === "at") return `at ${typeof s.at === "number" ? new Date(s.at).toLocaleString() : s.at}`
  return s.kind
}

// ---- logs -----------------------------------------------------------------------------------------------------

function logLine(raw: string): string {
  try {
    const o = JSON.parse(raw) as Record<string, unknown>
    const time = typeof o.time === "string" ? o.time : typeof o.ts === "number" ? new Date(o.ts).toISOString() : ""
    const { time: _t, ts: _s, level, msg, message, ...rest } = o
    const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : ""
    return `${time.slice(11, 23)} ${String(level ?? "").padEnd(5)} ${String(msg ?? message ?? "")}${extra}`
  } catch {
    return raw
  }
}

async function tailLogs(): Promise<void> {
  if (!gw) return
  const pre = $("logs")
  try {
    const res = await gw.request<{ cursor: number; lines: string[]; reset: boolean }>(
      "logs.tail",
      logCursor === undefined ? { limit: 200 } : { cursor: logCursor },
    )
    logCursor = res.cursor
    if (res.reset) pre.textContent = ""
    if (res.lines.length) {
      const all = `${pre.textContent ?? ""}${res.lines.map(logLine).join("\n")}\n`.split("\n")
      pre.textContent = all.slice(-MAX_LOG_LINES - 1).join("\n")
      if ($<HTMLInputElement>("logs-follow").checked) pre.scrollTop = pre.scrollHeight
    }
  } catch (err) {
    pre.textContent += `\n[${(err as Error).message}]\n`
  }
}
$("logs-clear").addEventListener("click", () => {
  $("logs").textContent = ""
})

// ---- events ---------------------------------------------------------------------------------------------------

function onEvent(event: string, payload: unknown): void {
  const p = payload as Record<string, unknown>
  switch (event) {
    case "chat":
      return onChat(p as unknown as Parameters<typeof onChat>[0])
    case "agent":
      return onAgent(p as unknown as Parameters<typeof onAgent>[0])
    case "health":
      return renderHealth(p)
    case "exec.approval.requested": {
      const r = p as unknown as { id: string; request: { command: string; cwd?: string; sessionKey?: string }; expiresAtMs: number }
      execApprovals.set(r.id, { id: r.id, ...r.request, expiresAtMs: r.expiresAtMs })
      return renderApprovals()
    }
    case "exec.approval.resolved":
      execApprovals.delete(String(p.id))
      return renderApprovals()
    case "device.pair.requested":
    case "device.pair.resolved":
      void refreshApprovals()
      return
  }
}

// ---- start ----------------------------------------------------------------------------------------------------

// A gateway with auth mode none needs no token: try without one first when none is stored.
void connect(localStorage.getItem(TOKEN_KEY) ?? undefined)
