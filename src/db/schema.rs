//! Table definitions shared by both backends (kept in step with `migrations/`).

diesel::table! {
    api_keys (id) {
        id -> Text,
        tenant -> Text,
        name -> Text,
        key_hash -> Text,
        prefix -> Text,
        scopes -> Text,
        user_id -> Nullable<Text>,
        expires_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    tokens (tenant, user_id, integration_key) {
        tenant -> Text,
        user_id -> Text,
        integration_key -> Text,
        provider -> Text,
        token_type -> Text,
        ciphertext -> Text,
        scopes -> Nullable<Text>,
        expires_at -> Nullable<Timestamp>,
        status -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        refresh_lease_owner -> Nullable<Text>,
        refresh_lease_until -> Nullable<BigInt>,
        cooldown_until -> Nullable<BigInt>,
        last_refresh_at -> Nullable<BigInt>,
        account -> Nullable<Text>,
        refresh_failures -> Integer,
        background_at -> Nullable<BigInt>,
        replaced_status -> Nullable<Text>,
        connection_config -> Nullable<Text>,
    }
}

diesel::table! {
    token_events (id) {
        id -> BigInt,
        tenant -> Text,
        user_id -> Text,
        integration_key -> Text,
        event -> Text,
        outcome -> Text,
        reason -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    access_tokens (id) {
        id -> Text,
        token_hash -> Text,
        api_key_id -> Text,
        tenant -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        destroyed_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(access_tokens -> api_keys (api_key_id));
diesel::allow_tables_to_appear_in_same_query!(access_tokens, api_keys);

diesel::table! {
    key_check (id) {
        id -> Integer,
        ciphertext -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    oauth_states (state_hash) {
        state_hash -> Text,
        tenant -> Text,
        user_id -> Text,
        integration_key -> Text,
        provider -> Text,
        scopes -> Nullable<Text>,
        redirect_uri -> Text,
        verifier_ciphertext -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        connect_id -> Nullable<Text>,
        connection_config -> Nullable<Text>,
    }
}

diesel::table! {
    connects (connect_id) {
        connect_id -> Text,
        tenant -> Text,
        user_id -> Text,
        integration_key -> Text,
        provider -> Text,
        flow -> Text,
        status -> Text,
        error -> Nullable<Text>,
        scopes -> Nullable<Text>,
        device_ciphertext -> Nullable<Text>,
        interval_secs -> Integer,
        next_poll_at -> Nullable<BigInt>,
        poll_failures -> Integer,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<BigInt>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        session_id -> Nullable<Text>,
    }
}

diesel::table! {
    connect_sessions (id) {
        id -> Text,
        tenant -> Text,
        user_id -> Text,
        token_hash -> Text,
        providers -> Nullable<Text>,
        redirect_uri -> Nullable<Text>,
        popup -> Bool,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    console_sessions (id_hash) {
        id_hash -> Text,
        tenant -> Text,
        key_id -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Text,
        tenant -> Text,
        url -> Text,
        events -> Text,
        secret_ciphertext -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_messages (id) {
        id -> Text,
        webhook_id -> Text,
        tenant -> Text,
        event_type -> Text,
        payload -> Text,
        created_at -> Timestamp,
        attempts -> Integer,
        next_attempt_at -> BigInt,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<BigInt>,
        delivered_at -> Nullable<Timestamp>,
        failed_at -> Nullable<Timestamp>,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> BigInt,
        message_id -> Text,
        attempted_at -> Timestamp,
        status_code -> Nullable<Integer>,
        error -> Nullable<Text>,
        duration_ms -> BigInt,
    }
}

diesel::table! {
    tenant_providers (tenant, provider_key) {
        tenant -> Text,
        provider_key -> Text,
        definition -> Text,
        client_id -> Nullable<Text>,
        client_secret_ciphertext -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}
