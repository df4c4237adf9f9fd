CREATE TABLE `memory_chunks` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`gen` text NOT NULL,
	`path` text NOT NULL,
	`source` text NOT NULL,
	`start_line` integer NOT NULL,
	`end_line` integer NOT NULL,
	`hash` text NOT NULL,
	`model` text,
	`text` text NOT NULL,
	`embedding` blob,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `memory_chunks_gen_path` ON `memory_chunks` (`gen`,`path`);--> statement-breakpoint
CREATE TABLE `memory_embedding_cache` (
	`provider` text NOT NULL,
	`model` text NOT NULL,
	`hash` text NOT NULL,
	`dims` integer NOT NULL,
	`embedding` blob NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`provider`, `model`, `hash`)
);
--> statement-breakpoint
CREATE TABLE `memory_files` (
	`gen` text NOT NULL,
	`path` text NOT NULL,
	`source` text NOT NULL,
	`hash` text NOT NULL,
	`mtime` integer NOT NULL,
	`size` integer NOT NULL,
	`indexed_at` integer NOT NULL,
	PRIMARY KEY(`gen`, `path`)
);
--> statement-breakpoint
CREATE TABLE `memory_state` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL,
	`updated_at` integer NOT NULL
);
