CREATE TABLE universities (
    id UUID PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    joined_on DATE NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE programs (
    id UUID PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE bases (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    organisation TEXT NOT NULL,
    city TEXT NOT NULL,
    host_university_id UUID NOT NULL REFERENCES universities (id),
    coordinator_email TEXT NOT NULL,
    coordinator_name TEXT,
    coordinator_phone TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX bases_host_university_idx ON bases (host_university_id);
CREATE INDEX bases_city_idx ON bases (city);

CREATE TABLE base_programs (
    base_id UUID NOT NULL REFERENCES bases (id) ON DELETE CASCADE,
    program_id UUID NOT NULL REFERENCES programs (id),
    PRIMARY KEY (base_id, program_id)
);
CREATE INDEX base_programs_program_idx ON base_programs (program_id);

CREATE TABLE cycles (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    applications_open_at TIMESTAMPTZ NOT NULL,
    applications_close_at TIMESTAMPTZ NOT NULL,
    max_preferences INTEGER NOT NULL CHECK (max_preferences BETWEEN 1 AND 50),
    starts_on DATE NOT NULL,
    ends_on DATE NOT NULL,
    inputs_version BIGINT NOT NULL DEFAULT 0,
    inputs_changed_at TIMESTAMPTZ NOT NULL,
    published_run_id UUID,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CHECK (applications_close_at > applications_open_at),
    CHECK (ends_on >= starts_on)
);

CREATE TABLE cycle_seats (
    cycle_id UUID NOT NULL REFERENCES cycles (id) ON DELETE CASCADE,
    base_id UUID NOT NULL REFERENCES bases (id) ON DELETE CASCADE,
    seats INTEGER NOT NULL CHECK (seats BETWEEN 0 AND 10000),
    taken INTEGER NOT NULL DEFAULT 0,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (cycle_id, base_id),
    CHECK (taken >= 0 AND taken <= seats)
);
CREATE INDEX cycle_seats_base_idx ON cycle_seats (base_id);

CREATE TABLE students (
    id UUID PRIMARY KEY,
    university_id UUID NOT NULL REFERENCES universities (id),
    student_number TEXT NOT NULL,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    program_id UUID NOT NULL REFERENCES programs (id),
    cohort_year INTEGER NOT NULL,
    score DOUBLE PRECISION CHECK (score BETWEEN 0 AND 100),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (university_id, student_number)
);
CREATE INDEX students_program_idx ON students (program_id);

CREATE TABLE users (
    id UUID PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('alliance_admin', 'university_admin', 'base_coordinator', 'student')),
    university_id UUID REFERENCES universities (id),
    base_id UUID REFERENCES bases (id),
    student_id UUID UNIQUE REFERENCES students (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    CHECK (role <> 'university_admin' OR university_id IS NOT NULL),
    CHECK (role <> 'base_coordinator' OR base_id IS NOT NULL),
    CHECK (role <> 'student' OR (student_id IS NOT NULL AND university_id IS NOT NULL))
);
CREATE INDEX users_university_idx ON users (university_id);
CREATE INDEX users_base_idx ON users (base_id);

CREATE TABLE api_tokens (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);

CREATE TABLE applications (
    id UUID PRIMARY KEY,
    cycle_id UUID NOT NULL REFERENCES cycles (id) ON DELETE CASCADE,
    student_id UUID NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    submitted_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (cycle_id, student_id)
);
CREATE INDEX applications_student_idx ON applications (student_id);

CREATE TABLE application_preferences (
    application_id UUID NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    position INTEGER NOT NULL CHECK (position >= 1),
    base_id UUID NOT NULL REFERENCES bases (id),
    PRIMARY KEY (application_id, position),
    UNIQUE (application_id, base_id)
);
CREATE INDEX application_preferences_base_idx ON application_preferences (base_id);

CREATE TABLE base_rankings (
    cycle_id UUID NOT NULL REFERENCES cycles (id) ON DELETE CASCADE,
    base_id UUID NOT NULL REFERENCES bases (id) ON DELETE CASCADE,
    student_id UUID NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    position INTEGER NOT NULL CHECK (position >= 1),
    PRIMARY KEY (cycle_id, base_id, student_id),
    UNIQUE (cycle_id, base_id, position)
);

CREATE TABLE match_runs (
    id UUID PRIMARY KEY,
    cycle_id UUID NOT NULL REFERENCES cycles (id) ON DELETE CASCADE,
    seed BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('completed', 'published')),
    inputs_version BIGINT NOT NULL,
    applicants INTEGER NOT NULL,
    matched INTEGER NOT NULL,
    unmatched INTEGER NOT NULL,
    seats INTEGER NOT NULL,
    stats TEXT NOT NULL,
    load_ms DOUBLE PRECISION NOT NULL,
    engine_ms DOUBLE PRECISION NOT NULL,
    store_ms DOUBLE PRECISION NOT NULL,
    created_by UUID NOT NULL REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL,
    published_at TIMESTAMPTZ
);
CREATE INDEX match_runs_cycle_idx ON match_runs (cycle_id);

CREATE TABLE match_assignments (
    run_id UUID NOT NULL REFERENCES match_runs (id) ON DELETE CASCADE,
    student_id UUID NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    base_id UUID REFERENCES bases (id),
    choice_rank INTEGER,
    unmatched_reason TEXT,
    PRIMARY KEY (run_id, student_id)
);

CREATE TABLE placements (
    id UUID PRIMARY KEY,
    cycle_id UUID NOT NULL REFERENCES cycles (id) ON DELETE CASCADE,
    student_id UUID NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    base_id UUID NOT NULL REFERENCES bases (id),
    status TEXT NOT NULL CHECK (status IN ('offered', 'confirmed', 'declined', 'withdrawn', 'completed')),
    source TEXT NOT NULL CHECK (source IN ('match', 'second_round')),
    run_id UUID REFERENCES match_runs (id),
    decline_reason TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX placements_one_live_per_cycle ON placements (cycle_id, student_id)
    WHERE status IN ('offered', 'confirmed', 'completed');
CREATE INDEX placements_cycle_base_idx ON placements (cycle_id, base_id);
CREATE INDEX placements_student_idx ON placements (student_id);

CREATE TABLE placement_events (
    id UUID PRIMARY KEY,
    placement_id UUID NOT NULL REFERENCES placements (id) ON DELETE CASCADE,
    at TIMESTAMPTZ NOT NULL,
    actor_user_id UUID REFERENCES users (id),
    from_status TEXT,
    to_status TEXT NOT NULL,
    reason TEXT
);
CREATE INDEX placement_events_placement_idx ON placement_events (placement_id, at);

CREATE TABLE direct_applications (
    id UUID PRIMARY KEY,
    cycle_id UUID NOT NULL REFERENCES cycles (id) ON DELETE CASCADE,
    student_id UUID NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    base_id UUID NOT NULL REFERENCES bases (id),
    status TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'rejected')),
    placement_id UUID REFERENCES placements (id),
    decided_by UUID REFERENCES users (id),
    decided_at TIMESTAMPTZ,
    reason TEXT,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX direct_applications_one_pending ON direct_applications (cycle_id, student_id, base_id)
    WHERE status = 'pending';
CREATE INDEX direct_applications_base_idx ON direct_applications (cycle_id, base_id);

CREATE TABLE email_outbox (
    id UUID PRIMARY KEY,
    kind TEXT NOT NULL,
    placement_id UUID REFERENCES placements (id) ON DELETE SET NULL,
    recipient TEXT NOT NULL,
    cc TEXT NOT NULL,
    reply_to TEXT,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_error TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    sent_at TIMESTAMPTZ
);
CREATE INDEX email_outbox_due_idx ON email_outbox (status, next_attempt_at);
CREATE UNIQUE INDEX email_outbox_one_confirmation ON email_outbox (placement_id, kind);

CREATE TABLE email_attempts (
    id UUID PRIMARY KEY,
    email_id UUID NOT NULL REFERENCES email_outbox (id) ON DELETE CASCADE,
    at TIMESTAMPTZ NOT NULL,
    succeeded BOOLEAN NOT NULL,
    error TEXT
);
CREATE INDEX email_attempts_email_idx ON email_attempts (email_id);
