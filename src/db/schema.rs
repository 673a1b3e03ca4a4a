//! The tables, one definition for both backends (see `sql_types` for how ids and instants map).

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::sql_types::*;
    universities (id) {
        id -> DbUuid,
        code -> Text,
        name -> Text,
        joined_on -> Date,
        created_at -> Instant,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::sql_types::*;
    programs (id) {
        id -> DbUuid,
        code -> Text,
        name -> Text,
        created_at -> Instant,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::sql_types::*;
    bases (id) {
        id -> DbUuid,
        name -> Text,
        organisation -> Text,
        city -> Text,
        host_university_id -> DbUuid,
        coordinator_email -> Text,
        coordinator_name -> Nullable<Text>,
        coordinator_phone -> Nullable<Text>,
        active -> Bool,
        created_at -> Instant,
        updated_at -> Instant,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::sql_types::*;
    base_programs (base_id, program_id) {
        base_id -> DbUuid,
        program_id -> DbUuid,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::sql_types::*;
    cycles (id) {
        id -> DbUuid,
        name -> Text,
        applications_open_at -> Instant,
        applications_close_at -> Instant,
        max_preferences -> Integer,
        starts_on -> Date,
        ends_on -> Date,
        inputs_version -> BigInt,
        published_run_id -> Nullable<DbUuid>,
        created_at -> Instant,
        updated_at -> Instant,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::sql_types::*;
    cycle_seats (cycle_id, base_id) {
        cycle_id -> DbUuid,
        base_id -> DbUuid,
        seats -> Integer,
        taken -> Integer,
        updated_at -> Instant,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::sql_types::*;
    students (id) {
        id -> DbUuid,
        university_id -> DbUuid,
        student_number -> Text,
        name -> Text,
        email -> Text,
        program_id -> DbUuid,
        cohort_year -> Integer,
        score -> Nullable<Double>,
        created_at -> Instant,
        updated_at -> Instant,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::sql_types::*;
    users (id) {
        id -> DbUuid,
        email -> Text,
        password_hash -> Nullable<Text>,
        role -> Text,
        university_id -> Nullable<DbUuid>,
        base_id -> Nullable<DbUuid>,
        student_id -> Nullable<DbUuid>,
        created_at -> Instant,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::sql_types::*;
    api_tokens (id) {
        id -> DbUuid,
        user_id -> DbUuid,
        token_hash -> Text,
        created_at -> Instant,
        expires_at -> Instant,
        revoked_at -> Nullable<Instant>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::sql_types::*;
    applications (id) {
        id -> DbUuid,
        cycle_id -> DbUuid,
        student_id -> DbUuid,
        submitted_at -> Instant,
        updated_at -> Instant,
        university_id -> DbUuid,
        program_id -> DbUuid,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::sql_types::*;
    application_preferences (application_id, position) {
        application_id -> DbUuid,
        position -> Integer,
        base_id -> DbUuid,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::sql_types::*;
    base_rankings (cycle_id, base_id, student_id) {
        cycle_id -> DbUuid,
        base_id -> DbUuid,
        student_id -> DbUuid,
        position -> Integer,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::sql_types::*;
    match_runs (id) {
        id -> DbUuid,
        cycle_id -> DbUuid,
        seed -> BigInt,
        status -> Text,
        inputs_version -> BigInt,
        applicants -> Integer,
        matched -> Integer,
        unmatched -> Integer,
        seats -> Integer,
        stats -> Text,
        load_ms -> Double,
        engine_ms -> Double,
        store_ms -> Double,
        created_by -> DbUuid,
        created_at -> Instant,
        published_at -> Nullable<Instant>,
        instance_sha256 -> Nullable<Text>,
        result_sha256 -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::sql_types::*;
    match_assignments (run_id, student_id) {
        run_id -> DbUuid,
        student_id -> DbUuid,
        base_id -> Nullable<DbUuid>,
        choice_rank -> Nullable<Integer>,
        unmatched_reason -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::sql_types::*;
    placements (id) {
        id -> DbUuid,
        cycle_id -> DbUuid,
        student_id -> DbUuid,
        base_id -> DbUuid,
        status -> Text,
        source -> Text,
        run_id -> Nullable<DbUuid>,
        decline_reason -> Nullable<Text>,
        created_at -> Instant,
        updated_at -> Instant,
        university_id -> DbUuid,
        program_id -> DbUuid,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::sql_types::*;
    placement_events (id) {
        id -> DbUuid,
        placement_id -> DbUuid,
        at -> Instant,
        actor_user_id -> Nullable<DbUuid>,
        from_status -> Nullable<Text>,
        to_status -> Text,
        reason -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::sql_types::*;
    direct_applications (id) {
        id -> DbUuid,
        cycle_id -> DbUuid,
        student_id -> DbUuid,
        base_id -> DbUuid,
        status -> Text,
        placement_id -> Nullable<DbUuid>,
        decided_by -> Nullable<DbUuid>,
        decided_at -> Nullable<Instant>,
        reason -> Nullable<Text>,
        created_at -> Instant,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::sql_types::*;
    email_outbox (id) {
        id -> DbUuid,
        kind -> Text,
        placement_id -> Nullable<DbUuid>,
        recipient -> Text,
        cc -> Text,
        reply_to -> Nullable<Text>,
        subject -> Text,
        body_text -> Text,
        body_html -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Instant,
        last_error -> Nullable<Text>,
        created_at -> Instant,
        sent_at -> Nullable<Instant>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::sql_types::*;
    email_attempts (id) {
        id -> DbUuid,
        email_id -> DbUuid,
        at -> Instant,
        succeeded -> Bool,
        error -> Nullable<Text>,
    }
}

diesel::joinable!(bases -> universities (host_university_id));
diesel::joinable!(base_programs -> bases (base_id));
diesel::joinable!(base_programs -> programs (program_id));
diesel::joinable!(cycle_seats -> cycles (cycle_id));
diesel::joinable!(cycle_seats -> bases (base_id));
diesel::joinable!(students -> universities (university_id));
diesel::joinable!(students -> programs (program_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(applications -> cycles (cycle_id));
diesel::joinable!(applications -> students (student_id));
diesel::joinable!(application_preferences -> applications (application_id));
diesel::joinable!(application_preferences -> bases (base_id));
diesel::joinable!(match_assignments -> match_runs (run_id));
diesel::joinable!(match_assignments -> students (student_id));
diesel::joinable!(placements -> students (student_id));
diesel::joinable!(placements -> bases (base_id));
diesel::joinable!(placements -> cycles (cycle_id));
diesel::joinable!(placement_events -> placements (placement_id));
diesel::joinable!(direct_applications -> students (student_id));
diesel::joinable!(email_attempts -> email_outbox (email_id));

diesel::allow_tables_to_appear_in_same_query!(
    universities,
    programs,
    bases,
    base_programs,
    cycles,
    cycle_seats,
    students,
    users,
    api_tokens,
    applications,
    application_preferences,
    base_rankings,
    match_runs,
    match_assignments,
    placements,
    placement_events,
    direct_applications,
    email_outbox,
    email_attempts,
);

// The statistics group applications and placements by columns of several tables at once.
diesel::allow_columns_to_appear_in_same_group_by_clause!(
    placements::university_id,
    placements::program_id,
    placements::status,
    placements::base_id,
    bases::host_university_id,
    applications::university_id,
);

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::sql_types::*;
    web_sessions (id) {
        id -> DbUuid,
        user_id -> DbUuid,
        session_hash -> Text,
        csrf_token -> Text,
        created_at -> Instant,
        last_seen_at -> Instant,
        revoked_at -> Nullable<Instant>,
        sso_provider -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::sql_types::*;
    password_links (id) {
        id -> DbUuid,
        user_id -> DbUuid,
        token_hash -> Text,
        purpose -> Text,
        created_at -> Instant,
        expires_at -> Instant,
        used_at -> Nullable<Instant>,
    }
}

diesel::joinable!(web_sessions -> users (user_id));
diesel::joinable!(password_links -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(web_sessions, users);
diesel::allow_tables_to_appear_in_same_query!(password_links, users);

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::sql_types::*;
    cycle_input_counts (cycle_id, slot) {
        cycle_id -> DbUuid,
        slot -> Integer,
        changes -> Integer,
    }
}

diesel::joinable!(cycle_input_counts -> cycles (cycle_id));
diesel::allow_tables_to_appear_in_same_query!(cycle_input_counts, cycles);

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::sql_types::*;
    sso_attempts (id) {
        id -> DbUuid,
        provider -> Text,
        browser_hash -> Text,
        state_hash -> Text,
        nonce -> Text,
        pkce_verifier -> Text,
        created_at -> Instant,
        used_at -> Nullable<Instant>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::sql_types::*;
    sso_tickets (ticket_hash) {
        ticket_hash -> Text,
        seen_at -> Instant,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::sql_types::*;
    student_erasures (id) {
        id -> DbUuid,
        student_id -> DbUuid,
        erased_by -> DbUuid,
        reason -> Text,
        at -> Instant,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::sql_types::*;
    cycle_secrets (cycle_id) {
        cycle_id -> DbUuid,
        pseudonym_key -> Text,
    }
}

diesel::joinable!(cycle_secrets -> cycles (cycle_id));
diesel::allow_tables_to_appear_in_same_query!(cycle_secrets, cycles);
