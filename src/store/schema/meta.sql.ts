/** Key/value facts about this state home (schema epoch, first start, boot count). */
import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core"

export const meta = sqliteTable("meta", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
  updatedAt: integer("updated_at").notNull(),
})
