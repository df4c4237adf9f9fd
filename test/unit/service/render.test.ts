import { describe, expect, test } from "bun:test"
import { readFileSync, writeFileSync } from "node:fs"
import { parseLaunchctlPrint, parsePlist, PlistError, renderLaunchdPlist, renderPlist, xmlEscape } from "../../../src/service/launchd-plist.ts"
import { runFlags } from "../../../src/service/manager.ts"
import { servicePath } from "../../../src/service/spec.ts"
import { buildSystemdFiles } from "../../../src/service/systemd.ts"
import {
  escapeSpecifiers,
  parseEnvironmentFile,
  parseExecStart,
  quoteExecArg,
  renderEnvironmentFile,
  renderExecStart,
  renderSystemdUnit,
  unitValue,
  UnitValueError,
} from "../../../src/service/systemd-unit.ts"
import { goldenFiles } from "./golden.ts"

const lines = (text: string) => text.split("\n")

describe("systemd quoting", () => {
  test("plain words stay bare; % and $ are escaped everywhere", () => {
    expect(quoteExecArg("/usr/local/bin/gateway")).toBe("/usr/local/bin/gateway")
    expect(quoteExecArg("--port")).toBe("--port")
    expect(quoteExecArg("100%")).toBe("100%%")
    expect(quoteExecArg("$HOME")).toBe("$$HOME")
    expect(quoteExecArg("${X}")).toBe("$${X}")
    expect(escapeSpecifiers("/srv/%h/x")).toBe("/srv/%%h/x")
  })
  test("spaces, quotes and backslashes are double-quoted with C escapes", () => {
    expect(quoteExecArg("/opt/my gateway/bin")).toBe('"/opt/my gateway/bin"')
    expect(quoteExecArg('say "hi"')).toBe('"say \\"hi\\""')
    expect(quoteExecArg("a\\b")).toBe('"a\\\\b"')
    expect(quoteExecArg("it's")).toBe(`"it's"`)
    expect(quoteExecArg("")).toBe('""')
    expect(quoteExecArg(";")).toBe('";"')
    expect(quoteExecArg("tab\there")).toBe('"tab\there"')
  })
  test("CR, LF and other control characters are rejected", () => {
    expect(() => quoteExecArg("a\nExecStartPre=/bin/evil")).toThrow(UnitValueError)
    expect(() => quoteExecArg("a\rb")).toThrow(UnitValueError)
    expect(() => quoteExecArg("a\x00b")).toThrow(UnitValueError)
    expect(() => renderEnvironmentFile({ GATEWAY_TOKEN: "x\ny" })).toThrow(UnitValueError)
    expect(() => renderSystemdUnit({ scope: "user", execStart: ["/bin/true"], environmentFile: { path: "/x\n/y" } })).toThrow(UnitValueError)
  })
  test("ExecStart needs an absolute program", () => {
    expect(() => renderExecStart(["gateway", "run"])).toThrow(/absolute/)
  })
  test("parseExecStart inverts renderExecStart", () => {
    const cases = [
      ["/usr/bin/gateway", "run", "--port", "18789"],
      ["/opt/my gateway/gw", "run", "--home", "/srv/state 100%", "--bind", "lan"],
      ["/x/y", 'q"uote', "back\\slash", "$dollar", "${brace}", "", ";", "it's", "%h", "tab\tx"],
    ]
    for (const argv of cases) expect(parseExecStart(renderExecStart(argv))).toEqual(argv)
  })
  test("runFlags reads --home/--port/--bind back, both spellings", () => {
    expect(runFlags(["run", "--home", "/h", "--port=80", "--bind", "lan"])).toEqual({ home: "/h", port: 80, bind: "lan" })
  })
})

describe("environment file", () => {
  test("bare safe values, quoted others, round trip", () => {
    const vars = { GATEWAY_HOME: "/home/a b/.gateway", PATH: "/usr/bin:/bin", GATEWAY_TOKEN: 'a"b$c`d\\e' }
    const text = renderEnvironmentFile(vars, "header")
    expect(lines(text)).toContain("PATH=/usr/bin:/bin")
    expect(lines(text)).toContain('GATEWAY_HOME="/home/a b/.gateway"')
    expect(text.startsWith("# header\n")).toBe(true)
    expect(parseEnvironmentFile(text)).toEqual(vars)
  })
  test("invalid names are rejected", () => {
    expect(() => renderEnvironmentFile({ "BAD-NAME": "x" })).toThrow(UnitValueError)
  })
})

describe("systemd units", () => {
  const base = { name: "gateway", program: ["/usr/local/bin/gateway"], pathValue: "/usr/bin:/bin", port: 18789 }
  test("user unit: restart policy, env file, seccomp hardening, default.target, no namespaces", () => {
    const f = buildSystemdFiles({
      ...base,
      scope: "user",
      home: "/home/a/.gateway",
      token: "s3cr3t-token-0123456789",
      envFile: { path: "/home/a/.config/gateway/gateway.env" },
    })
    const l = lines(f.unit)
    for (const want of [
      "ExecStart=/usr/local/bin/gateway run --home /home/a/.gateway --port 18789",
      "EnvironmentFile=/home/a/.config/gateway/gateway.env",
      "Restart=on-failure",
      "RestartSec=3",
      "RestartPreventExitStatus=78",
      "StartLimitIntervalSec=60",
      "StartLimitBurst=5",
      "KillMode=mixed",
      "TimeoutStopSec=30",
      "UMask=0077",
      "NoNewPrivileges=yes",
      "WantedBy=default.target",
    ]) {
      expect(l).toContain(want)
    }
    expect(f.unit).not.toContain("network-online")
    expect(f.unit).not.toContain("ProtectSystem")
    expect(f.unit).not.toContain("User=")
    expect(f.unit).not.toContain("MemoryDenyWriteExecute")
    expect(f.unit).not.toContain("s3cr3t")
    expect(f.unit).not.toMatch(/^Environment=/m)
    expect(parseEnvironmentFile(f.envFile)).toEqual({ GATEWAY_HOME: "/home/a/.gateway", PATH: "/usr/bin:/bin", GATEWAY_TOKEN: "s3cr3t-token-0123456789" })
    // The [Restart]/[Kill] keys sit in [Service], the start limit in [Unit].
    expect(unitValue(f.unit, "Service", "KillMode")).toBe("mixed")
    expect(unitValue(f.unit, "Unit", "StartLimitBurst")).toBe("5")
  })
  test("system unit: User=, StateDirectory, ConfigurationDirectory, namespaces, --home at the state dir", () => {
    const f = buildSystemdFiles({ ...base, scope: "system", home: "/var/lib/gateway", userName: "gw", envFile: { path: "/etc/gateway/gateway.env" } })
    const l = lines(f.unit)
    for (const want of [
      "User=gw",
      "ExecStart=/usr/local/bin/gateway run --home /var/lib/gateway --port 18789",
      "StateDirectory=gateway",
      "CacheDirectory=gateway",
      "ConfigurationDirectory=gateway",
      "ProtectSystem=strict",
      "ProtectHome=true",
      "PrivateTmp=yes",
      "RestrictSUIDSGID=yes",
      "LockPersonality=yes",
      "CapabilityBoundingSet=",
      "After=network-online.target",
      "WantedBy=multi-user.target",
    ]) {
      expect(l).toContain(want)
    }
    expect(f.unit).not.toContain("MemoryDenyWriteExecute")
    expect(f.unit).not.toContain("ReadWritePaths")
    expect(f.envVars).toMatchObject({ GATEWAY_HOME: "/var/lib/gateway", HOME: "/var/lib/gateway", XDG_CACHE_HOME: "/var/cache/gateway" })
  })
  test("system unit with a home elsewhere: ReadWritePaths; under /home: ProtectHome=read-only; port < 1024 keeps the capability", () => {
    const f = buildSystemdFiles({
      ...base,
      port: 443,
      scope: "system",
      home: "/home/gw/state dir",
      userName: "gw",
      envFile: { path: "/etc/gateway/gateway.env" },
    })
    expect(lines(f.unit)).toContain('ReadWritePaths="/home/gw/state dir"')
    expect(lines(f.unit)).toContain("ProtectHome=read-only")
    expect(lines(f.unit)).toContain("AmbientCapabilities=CAP_NET_BIND_SERVICE")
    expect(f.unit).not.toContain("StateDirectory=")
  })
  test("image user unit keeps the %h specifier and an optional env file", () => {
    const f = buildSystemdFiles({ ...base, scope: "user", envFile: { path: "%h/.config/gateway/gateway.env", optional: true, specifiers: true } })
    expect(lines(f.unit)).toContain("EnvironmentFile=-%h/.config/gateway/gateway.env")
    expect(lines(f.unit)).toContain("ExecStart=/usr/local/bin/gateway run --port 18789")
  })
  test("servicePath: binary dir first, existing user dirs, system dirs, homebrew on macOS, no duplicates", () => {
    const p = servicePath({ binaryDir: "/usr/local/bin", home: "/h", platform: "darwin", exists: (d) => d === "/h/.local/bin" })
    expect(p).toBe("/usr/local/bin:/h/.local/bin:/opt/homebrew/bin:/opt/homebrew/sbin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin")
  })
})

describe("launchd plist", () => {
  const opts = {
    label: "ai.gateway",
    programArguments: ["/Applications/My <App>/gateway", "run", "--home", "/Users/a&b/.gateway"],
    workingDirectory: "/Users/a&b/.gateway",
    environment: { PATH: "/usr/bin:/bin", GATEWAY_HOME: "/Users/a&b/.gateway" },
    standardOutPath: "/Users/a&b/.gateway/logs/service.out.log",
    standardErrorPath: "/Users/a&b/.gateway/logs/service.err.log",
  }
  test("parses as a property list with the expected keys and values", () => {
    const xml = renderLaunchdPlist(opts)
    const d = parsePlist(xml) as Record<string, unknown>
    expect(d.Label).toBe("ai.gateway")
    expect(d.ProgramArguments).toEqual(opts.programArguments)
    expect(d.RunAtLoad).toBe(true)
    expect(d.KeepAlive).toEqual({ SuccessfulExit: false })
    expect(d.ThrottleInterval).toBe(10)
    expect(d.Umask).toBe(63)
    expect(d.WorkingDirectory).toBe(opts.workingDirectory)
    expect(d.EnvironmentVariables).toEqual(opts.environment)
    expect(d.StandardOutPath).toBe(opts.standardOutPath)
    expect(d.StandardErrorPath).toBe(opts.standardErrorPath)
  })
  test("every string is XML-escaped", () => {
    const xml = renderLaunchdPlist(opts)
    expect(xml).toContain("<string>/Applications/My &lt;App&gt;/gateway</string>")
    expect(xml).toContain("/Users/a&amp;b/.gateway")
    expect(xml).not.toMatch(/&(?!amp;|lt;|gt;|quot;|apos;)/)
    expect(xmlEscape(`<'">&`)).toBe("&lt;&apos;&quot;&gt;&amp;")
    expect(() => xmlEscape("bell\x07")).toThrow(PlistError)
  })
  test("the parser is strict", () => {
    const doc = (inner: string) => `<?xml version="1.0"?><plist version="1.0">${inner}</plist>`
    expect(parsePlist(doc("<dict><key>a</key><integer>-3</integer><key>b</key><array><string/><true/></array></dict>"))).toEqual({ a: -3, b: ["", true] })
    expect(parsePlist(doc("<string>&#x41;&#66;&amp;</string>"))).toBe("AB&")
    expect(() => parsePlist(doc("<dict><key>a</key></dict>"))).toThrow(PlistError)
    expect(() => parsePlist(doc("<dict><string>x</string></dict>"))).toThrow(PlistError)
    expect(() => parsePlist(doc("<array><string>x</string></dict>"))).toThrow(PlistError)
    expect(() => parsePlist(doc("<string>a<b/></string>"))).toThrow(PlistError)
    expect(() => parsePlist(doc("<integer>1.5</integer>"))).toThrow(PlistError)
    expect(() => parsePlist(`${doc("<true/>")}junk`)).toThrow(PlistError)
    expect(() => renderPlist({ x: 1.5 })).toThrow(PlistError)
  })
  test("launchctl print: state, pid and last exit code from the top level only", () => {
    const text = [
      "gui/501/ai.gateway = {",
      "\tactive count = 1",
      "\tpath = /Users/a/Library/LaunchAgents/ai.gateway.plist",
      "\tstate = running",
      "\tendpoints = {",
      "\t\tstate = active",
      "\t}",
      "\truns = 3",
      "\tpid = 4242",
      "\tlast exit code = 78: EX_CONFIG",
      "}",
    ].join("\n")
    expect(parseLaunchctlPrint(text)).toEqual({
      path: "/Users/a/Library/LaunchAgents/ai.gateway.plist",
      state: "running",
      runs: 3,
      pid: 4242,
      lastExitCode: 78,
      lastExitText: "78: EX_CONFIG",
    })
    expect(parseLaunchctlPrint("x = {\n\tstate = not running\n\tlast exit code = (never exited)\n}").lastExitCode).toBeUndefined()
  })
})

describe("reference files in install/", () => {
  test("match the renderers (UPDATE_GOLDEN=1 rewrites them)", () => {
    for (const [path, text] of Object.entries(goldenFiles())) {
      if (process.env.UPDATE_GOLDEN === "1") writeFileSync(path, text)
      expect(readFileSync(path, "utf8")).toBe(text)
    }
  })
  test("the reference plist parses", () => {
    const plist = Object.entries(goldenFiles()).find(([p]) => p.endsWith(".plist"))![1]
    expect((parsePlist(plist) as Record<string, unknown>).Label).toBe("ai.gateway")
  })
})

describe("system unit with the exec sandbox", () => {
  const base = {
    scope: "system" as const,
    name: "gateway",
    program: ["/usr/local/bin/gateway"],
    home: "/var/lib/gateway",
    userName: "gateway",
    envFile: { path: "/etc/gateway/gateway.env" },
    pathValue: "/usr/local/bin:/usr/bin:/bin",
  }
  test("bubblewrap gets its namespaces and mount calls; without the sandbox both stay locked", () => {
    const locked = buildSystemdFiles(base).unit
    expect(locked).toContain("RestrictNamespaces=yes\n")
    expect(locked).toMatch(/SystemCallFilter=~.*@mount/)
    const sandboxed = buildSystemdFiles({ ...base, execSandbox: true }).unit
    expect(sandboxed).not.toContain("RestrictNamespaces")
    expect(sandboxed).not.toContain("@mount")
    expect(sandboxed).toContain("SystemCallFilter=~@clock @cpu-emulation @debug @module @obsolete")
    expect(sandboxed).toContain("NoNewPrivileges=yes")
  })
})
