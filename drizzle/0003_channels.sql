CREATE TABLE `channel_allow` (
	`channel` text NOT NULL,
	`sender_id` text NOT NULL,
	`sender_name` text,
	`via` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`channel`, `sender_id`)
);
--> statement-breakpoint
CREATE TABLE `channel_pairing` (
	`code` text PRIMARY KEY NOT NULL,
	`channel` text NOT NULL,
	`account_id` text NOT NULL,
	`sender_id` text NOT NULL,
	`sender_name` text,
	`chat_id` text NOT NULL,
	`status` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`decided_at` integer
);
--> statement-breakpoint
CREATE INDEX `channel_pairing_sender` ON `channel_pairing` (`channel`,`sender_id`,`status`);--> statement-breakpoint
CREATE TABLE `outbox` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`key` text NOT NULL,
	`run_id` text,
	`channel` text NOT NULL,
	`account_id` text,
	`target` text NOT NULL,
	`kind` text NOT NULL,
	`body` text NOT NULL,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`last_error` text,
	`platform_message_id` text,
	`created_at` integer NOT NULL,
	`sent_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `outbox_key_unique` ON `outbox` (`key`);--> statement-breakpoint
CREATE INDEX `outbox_due` ON `outbox` (`status`,`next_attempt_at`);--> statement-breakpoint
CREATE INDEX `outbox_run` ON `outbox` (`run_id`);