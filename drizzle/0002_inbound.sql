ALTER TABLE `messages` ADD `input_id` text;--> statement-breakpoint
CREATE INDEX `messages_input` ON `messages` (`input_id`);--> statement-breakpoint
ALTER TABLE `runs` ADD `carried_by` text;--> statement-breakpoint
ALTER TABLE `runs` ADD `origin` text;--> statement-breakpoint
ALTER TABLE `runs` ADD `delivery` text;--> statement-breakpoint
ALTER TABLE `runs` ADD `accepted_at` integer;--> statement-breakpoint
CREATE INDEX `runs_status` ON `runs` (`status`);--> statement-breakpoint
CREATE INDEX `runs_carried_by` ON `runs` (`carried_by`);