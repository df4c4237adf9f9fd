CREATE TABLE `messages` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`session_key` text NOT NULL,
	`session_id` text NOT NULL,
	`body` text NOT NULL,
	`role` text NOT NULL,
	`run_id` text,
	`model` text,
	`usage` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `messages_session` ON `messages` (`session_key`,`session_id`,`id`);--> statement-breakpoint
CREATE TABLE `runs` (
	`run_id` text PRIMARY KEY NOT NULL,
	`session_key` text NOT NULL,
	`agent_id` text NOT NULL,
	`status` text NOT NULL,
	`input` text,
	`model` text,
	`started_at` integer NOT NULL,
	`ended_at` integer,
	`error` text,
	`text` text,
	`usage` text,
	`cost_usd` real DEFAULT 0 NOT NULL,
	`total_tokens` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE INDEX `runs_started` ON `runs` (`started_at`);--> statement-breakpoint
CREATE INDEX `runs_session` ON `runs` (`session_key`,`started_at`);--> statement-breakpoint
CREATE TABLE `sessions` (
	`key` text PRIMARY KEY NOT NULL,
	`session_id` text NOT NULL,
	`agent_id` text NOT NULL,
	`kind` text NOT NULL,
	`label` text,
	`model` text,
	`queue_mode` text,
	`parent_key` text,
	`depth` integer DEFAULT 0 NOT NULL,
	`input_tokens` integer DEFAULT 0 NOT NULL,
	`output_tokens` integer DEFAULT 0 NOT NULL,
	`total_tokens` integer DEFAULT 0 NOT NULL,
	`cost_usd` real DEFAULT 0 NOT NULL,
	`context_tokens` integer DEFAULT 0 NOT NULL,
	`compaction_count` integer DEFAULT 0 NOT NULL,
	`last_run_id` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
