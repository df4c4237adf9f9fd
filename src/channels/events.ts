/** What the channel core publishes: pairing requests for the owner, and deliveries that failed for good. */
import { z } from "zod"
import { defineEvent } from "../bus/index.ts"

export const PairingRequested = defineEvent("channels.pairing.requested", () =>
  z.object({ channel: z.string(), code: z.string(), senderId: z.string(), senderName: z.string().optional(), expiresAt: z.number() }),
)

export const DeliveryFailed = defineEvent("channels.delivery.failed", () =>
  z.object({ channel: z.string(), key: z.string(), runId: z.string().optional(), to: z.string(), error: z.string(), attempts: z.number() }),
)
