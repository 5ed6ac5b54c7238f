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
    }
}
