CREATE TABLE `cron_jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`agent_id` text NOT NULL,
	`enabled` integer NOT NULL,
	`schedule` text NOT NULL,
	`session_target` text NOT NULL,
	`wake_mode` text NOT NULL,
	`payload` text NOT NULL,
	`delivery` text,
	`delete_after_run` integer DEFAULT false NOT NULL,
	`missed` text DEFAULT 'skip' NOT NULL,
	`created_at_ms` integer NOT NULL,
	`updated_at_ms` integer NOT NULL,
	`next_run_at_ms` integer,
	`running_at_ms` integer,
	`last_run_at_ms` integer,
	`last_status` text,
	`last_error` text,
	`last_duration_ms` integer
);
--> statement-breakpoint
CREATE TABLE `cron_runs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`job_id` text NOT NULL,
	`run_id` text,
	`ts` integer NOT NULL,
	`run_at_ms` integer NOT NULL,
	`duration_ms` integer NOT NULL,
	`status` text NOT NULL,
	`error` text,
	`summary` text,
	`next_run_at_ms` integer
);
--> statement-breakpoint
CREATE INDEX `cron_runs_job` ON `cron_runs` (`job_id`,`id`);--> statement-breakpoint
CREATE TABLE `heartbeats` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ts` integer NOT NULL,
	`status` text NOT NULL,
	`reason` text,
	`run_id` text,
	`duration_ms` integer,
	`preview` text,
	`to` text,
	`channel` text
);
--> statement-breakpoint
CREATE TABLE `nodes` (
	`node_id` text PRIMARY KEY NOT NULL,
	`status` text NOT NULL,
	`request_id` text,
	`display_name` text,
	`custom_name` text,
	`platform` text,
	`version` text,
	`device_family` text,
	`remote_ip` text,
	`caps` text DEFAULT '[]' NOT NULL,
	`commands` text DEFAULT '[]' NOT NULL,
	`created_at` integer NOT NULL,
	`approved_at` integer,
	`last_seen_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `nodes_request_id_unique` ON `nodes` (`request_id`);--> statement-breakpoint
CREATE INDEX `nodes_status` ON `nodes` (`status`);