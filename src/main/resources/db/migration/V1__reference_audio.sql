-- Reference audio: metadata here, the uploaded bytes in object storage under storage_key.
-- An upload is 'pending' from before its object is written until after; only 'ready' rows are
-- visible. Pending rows left by a crash are swept together with their object.
CREATE TABLE reference_audio (
    id               uuid PRIMARY KEY,
    state            text NOT NULL CHECK (state IN ('pending', 'ready')),
    filename         text NOT NULL,
    bytes            bigint NOT NULL CHECK (bytes > 0),
    created_at       timestamptz NOT NULL,
    text             text NOT NULL,
    format           text NOT NULL CHECK (format IN ('wav', 'mp3', 'pcm')),
    encoding         text NOT NULL,
    sample_rate      integer NOT NULL CHECK (sample_rate > 0),
    channels         integer NOT NULL CHECK (channels > 0),
    duration_seconds double precision NOT NULL CHECK (duration_seconds > 0),
    checksum         text NOT NULL,
    storage_key      text NOT NULL UNIQUE
);

CREATE INDEX reference_audio_ready_by_created ON reference_audio (created_at, id) WHERE state = 'ready';
CREATE INDEX reference_audio_pending ON reference_audio (created_at) WHERE state = 'pending';

-- Prompt features computed once per reference audio and model version (speech tokens, speaker
-- embedding, prompt mel), filled by the engine. Deleted with their reference audio.
CREATE TABLE prompt_features (
    reference_audio_id uuid NOT NULL REFERENCES reference_audio (id) ON DELETE CASCADE,
    model_version      text NOT NULL,
    speech_tokens      integer[] NOT NULL,
    speaker_embedding  real[] NOT NULL,
    prompt_mel         bytea NOT NULL,
    prompt_mel_frames  integer NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (reference_audio_id, model_version)
);
