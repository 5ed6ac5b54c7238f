"""Contains all the data models used in inputs/outputs"""

from __future__ import annotations

from .access_token import AccessToken
from .account import Account
from .api_key_info import ApiKeyInfo
from .api_key_token_data import ApiKeyTokenData
from .b_tree_map import BTreeMap
from .basic_secret import BasicSecret
from .basic_token_data import BasicTokenData
from .client_body import ClientBody
from .client_credentials_token_data import ClientCredentialsTokenData
from .config_field_info import ConfigFieldInfo
from .connect_authorization_code_request import ConnectAuthorizationCodeRequest
from .connect_authorization_code_request_flow import ConnectAuthorizationCodeRequestFlow
from .connect_device_request import ConnectDeviceRequest
from .connect_device_request_flow import ConnectDeviceRequestFlow
from .connect_flow import ConnectFlow
from .connect_response import ConnectResponse
from .connect_session import ConnectSession
from .connect_session_created import ConnectSessionCreated
from .connect_session_request import ConnectSessionRequest
from .connect_status import ConnectStatus
from .connect_status_response import ConnectStatusResponse
from .create_access_token_request import CreateAccessTokenRequest
from .create_api_key_request import CreateApiKeyRequest
from .create_provider_request import CreateProviderRequest
from .create_webhook_request import CreateWebhookRequest
from .created_api_key import CreatedApiKey
from .created_webhook import CreatedWebhook
from .delete_provider_response import DeleteProviderResponse
from .delete_token_response import DeleteTokenResponse
from .delivery_attempt import DeliveryAttempt
from .device_connect_response import DeviceConnectResponse
from .error_body import ErrorBody
from .event_kind import EventKind
from .get_token_response import GetTokenResponse
from .health_status import HealthStatus
from .jwt_token_data import JwtTokenData
from .key_state import KeyState
from .minted_secret import MintedSecret
from .o_auth_2_secret import OAuth2Secret
from .o_auth_2_token_data import OAuth2TokenData
from .outcome import Outcome
from .provider_info import ProviderInfo
from .provider_info_scope_labels import ProviderInfoScopeLabels
from .refresh_token_response import RefreshTokenResponse
from .revocation import Revocation
from .scope import Scope
from .service_account_token_data import ServiceAccountTokenData
from .session_connect import SessionConnect
from .source import Source
from .store_api_key_token_request import StoreApiKeyTokenRequest
from .store_api_key_token_request_token_type import StoreApiKeyTokenRequestTokenType
from .store_basic_token_request import StoreBasicTokenRequest
from .store_basic_token_request_token_type import StoreBasicTokenRequestTokenType
from .store_client_credentials_token_request import StoreClientCredentialsTokenRequest
from .store_client_credentials_token_request_token_type import (
    StoreClientCredentialsTokenRequestTokenType,
)
from .store_jwt_token_request import StoreJwtTokenRequest
from .store_jwt_token_request_token_type import StoreJwtTokenRequestTokenType
from .store_o_auth_2_token_request import StoreOAuth2TokenRequest
from .store_o_auth_2_token_request_token_type import StoreOAuth2TokenRequestTokenType
from .store_service_account_token_request import StoreServiceAccountTokenRequest
from .store_service_account_token_request_token_type import (
    StoreServiceAccountTokenRequestTokenType,
)
from .store_token_response import StoreTokenResponse
from .tenant_provider_response import TenantProviderResponse
from .tenant_provider_response_definition import TenantProviderResponseDefinition
from .token_event import TokenEvent
from .token_metadata import TokenMetadata
from .token_status import TokenStatus
from .token_type import TokenType
from .tool import Tool
from .update_provider_request import UpdateProviderRequest
from .webhook import Webhook
from .webhook_delivery import WebhookDelivery
from .webhook_event import WebhookEvent

__all__ = (
    "AccessToken",
    "Account",
    "ApiKeyInfo",
    "ApiKeyTokenData",
    "BTreeMap",
    "BasicSecret",
    "BasicTokenData",
    "ClientBody",
    "ClientCredentialsTokenData",
    "ConfigFieldInfo",
    "ConnectAuthorizationCodeRequest",
    "ConnectAuthorizationCodeRequestFlow",
    "ConnectDeviceRequest",
    "ConnectDeviceRequestFlow",
    "ConnectFlow",
    "ConnectResponse",
    "ConnectSession",
    "ConnectSessionCreated",
    "ConnectSessionRequest",
    "ConnectStatus",
    "ConnectStatusResponse",
    "CreateAccessTokenRequest",
    "CreateApiKeyRequest",
    "CreateProviderRequest",
    "CreateWebhookRequest",
    "CreatedApiKey",
    "CreatedWebhook",
    "DeleteProviderResponse",
    "DeleteTokenResponse",
    "DeliveryAttempt",
    "DeviceConnectResponse",
    "ErrorBody",
    "EventKind",
    "GetTokenResponse",
    "HealthStatus",
    "JwtTokenData",
    "KeyState",
    "MintedSecret",
    "OAuth2Secret",
    "OAuth2TokenData",
    "Outcome",
    "ProviderInfo",
    "ProviderInfoScopeLabels",
    "RefreshTokenResponse",
    "Revocation",
    "Scope",
    "ServiceAccountTokenData",
    "SessionConnect",
    "Source",
    "StoreApiKeyTokenRequest",
    "StoreApiKeyTokenRequestTokenType",
    "StoreBasicTokenRequest",
    "StoreBasicTokenRequestTokenType",
    "StoreClientCredentialsTokenRequest",
    "StoreClientCredentialsTokenRequestTokenType",
    "StoreJwtTokenRequest",
    "StoreJwtTokenRequestTokenType",
    "StoreOAuth2TokenRequest",
    "StoreOAuth2TokenRequestTokenType",
    "StoreServiceAccountTokenRequest",
    "StoreServiceAccountTokenRequestTokenType",
    "StoreTokenResponse",
    "TenantProviderResponse",
    "TenantProviderResponseDefinition",
    "TokenEvent",
    "TokenMetadata",
    "TokenStatus",
    "TokenType",
    "Tool",
    "UpdateProviderRequest",
    "Webhook",
    "WebhookDelivery",
    "WebhookEvent",
)
