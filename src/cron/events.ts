/** What cron and the heartbeat publish: job changes and runs (wire event `cron`), beats (wire event `heartbeat`). */
import { defineEvent } from "../bus/index.ts"
import { CronEvent, HeartbeatEvent } from "../protocol/methods/cron.ts"

export const CronChanged = defineEvent("cron.changed", () => CronEvent())
export const HeartbeatBeat = defineEvent("cron.heartbeat", () => HeartbeatEvent())
