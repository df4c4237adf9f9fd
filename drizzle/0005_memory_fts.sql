-- Keyword indexes of memory chunks (rowid = memory_chunks.id). The word tokenizer ranks whole words (BM25); the
-- trigram one finds substrings, which is what Korean, Japanese and Chinese need (no spaces between words, particles
-- glued to nouns: 게이트웨이 inside 게이트웨이를).
CREATE VIRTUAL TABLE `memory_fts` USING fts5(`text`, tokenize = 'unicode61 remove_diacritics 2');
--> statement-breakpoint
CREATE VIRTUAL TABLE `memory_fts_trigram` USING fts5(`text`, tokenize = 'trigram');
