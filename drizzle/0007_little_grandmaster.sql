CREATE TABLE `device_pair_requests` (
	`request_id` text PRIMARY KEY NOT NULL,
	`device_id` text NOT NULL,
	`public_key` text NOT NULL,
	`display_name` text,
	`platform` text,
	`device_family` text,
	`client_id` text,
	`client_mode` text,
	`role` text NOT NULL,
	`scopes` text DEFAULT '[]' NOT NULL,
	`remote_ip` text,
	`reason` text NOT NULL,
	`status` text NOT NULL,
	`created_at` integer NOT NULL,
	`decided_at` integer
);
--> statement-breakpoint
CREATE INDEX `device_pair_requests_device` ON `device_pair_requests` (`device_id`,`status`);--> statement-breakpoint
CREATE TABLE `device_tokens` (
	`device_id` text NOT NULL,
	`role` text NOT NULL,
	`token_hash` text NOT NULL,
	`scopes` text DEFAULT '[]' NOT NULL,
	`issued_at` integer NOT NULL,
	`last_used_at` integer,
	PRIMARY KEY(`device_id`, `role`),
	FOREIGN KEY (`device_id`) REFERENCES `devices`(`device_id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `devices` (
	`device_id` text PRIMARY KEY NOT NULL,
	`public_key` text NOT NULL,
	`display_name` text,
	`platform` text,
	`device_family` text,
	`client_id` text,
	`client_mode` text,
	`roles` text DEFAULT '[]' NOT NULL,
	`scopes` text DEFAULT '[]' NOT NULL,
	`remote_ip` text,
	`created_at` integer NOT NULL,
	`approved_at` integer NOT NULL,
	`last_seen_at` integer
);
