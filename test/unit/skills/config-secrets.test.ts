/** skills.entries.<key>.env holds a skill's API keys by variable name: every value is masked in config.get and scrubbed from logs. */
import { describe, expect, test } from "bun:test"
import { REDACTED, redact, restoreRedacted, secretValues } from "../../../src/config/load.ts"

describe("skills.entries secrets", () => {
  const cfg = {
    skills: { entries: { weather: { enabled: true, apiKey: "wk-123456789", env: { WEATHER_TOKEN: "tok-abcdefgh", REGION: "eu-west-1" } } } },
    // An `env` elsewhere (not a skill's) keeps its values: only the skill entry's map is a secrets map.
    other: { env: { MODE: "verbose-mode" } },
  }

  test("redact masks every value of a skill's env map and its apiKey; restore puts them back", () => {
    const red = redact(cfg) as typeof cfg
    expect(red.skills.entries.weather).toEqual({ enabled: true, apiKey: REDACTED, env: { WEATHER_TOKEN: REDACTED, REGION: REDACTED } })
    expect(red.other.env.MODE).toBe("verbose-mode")
    expect(restoreRedacted(red, cfg)).toEqual(cfg)
  })

  test("secretValues (what log lines are scrubbed of) has them", () => {
    expect(secretValues(cfg).sort()).toEqual(["eu-west-1", "tok-abcdefgh", "wk-123456789"])
  })
})
