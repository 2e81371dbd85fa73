-- An optional alias for a reference audio (the OpenAI-compatible API's `voice`), unique ignoring
-- case. Pending uploads hold their name too, so two uploads of one name cannot both succeed.
ALTER TABLE reference_audio ADD COLUMN name text;
CREATE UNIQUE INDEX reference_audio_name_unique ON reference_audio (lower(name)) WHERE name IS NOT NULL;
