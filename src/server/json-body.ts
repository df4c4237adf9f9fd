/**
 * JSON request bodies through Hono's validator middleware and our zod schemas: handlers read `c.req.valid("json")`,
 * and each route decides what a refused body answers (its own error shape), with describeIssues naming the fields.
 */
import type { Context } from "hono"
import { HTTPException } from "hono/http-exception"
import { validator } from "hono/validator"
import type { z } from "zod"
import { describeIssues } from "../protocol/index.ts"

/** Why a body was refused: it is not JSON, or it is JSON that does not match the schema (`issues` names the fields). */
export type BodyProblem = { kind: "not-json" } | { kind: "invalid"; issues: string }

const JSON_TYPE = /^application\/([\w.-]+\+)?json$/i

/** Validator middleware for a JSON body; `reject` answers for a body that is not JSON or does not match `schema`. */
export function jsonBody<S extends z.ZodType>(schema: S, reject: (c: Context, problem: BodyProblem) => Response) {
  const validate = validator("json", async (value, c): Promise<z.output<S> | Response> => {
    // Hono reads only bodies labelled as JSON; JSON sent without the header (curl -d) has always been accepted.
    if (!JSON_TYPE.test(c.req.header("content-type")?.split(";")[0]?.trim() ?? "")) {
      try {
        value = await c.req.json()
      } catch {
        return reject(c, { kind: "not-json" })
      }
    }
    const parsed = schema.safeParse(value)
    return parsed.success ? parsed.data : reject(c, { kind: "invalid", issues: describeIssues(parsed.error) })
  })
  // Malformed JSON makes the validator throw an HTTPException before `reject` can answer; map it here, so routes
  // keep their error shape (errors thrown further down the chain pass through untouched).
  const middleware: typeof validate = async (c, next) => {
    let validated = false
    try {
      return await validate(c, () => {
        validated = true
        return next()
      })
    } catch (err) {
      if (!validated && err instanceof HTTPException) return reject(c, { kind: "not-json" })
      throw err
    }
  }
  return middleware
}
