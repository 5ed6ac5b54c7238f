from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TYPE_CHECKING, TypeVar, cast

if TYPE_CHECKING:
    from typing_extensions import Self

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="ClientCredentialsTokenData")


@_attrs_define
class ClientCredentialsTokenData:
    """`token_data` of a `client_credentials` credential: an OAuth client that mints its own access
    tokens (RFC 6749 §4.4). The client secret is never returned.

        Attributes:
            client_id (str):
            client_secret (str):
            audience (None | str | Unset): The API the token is for, where the provider wants an `audience` parameter.
            resource (None | str | Unset): An absolute URI naming the API the token is for (RFC 8707 `resource`).
            scope (None | str | Unset): Space-separated scopes to ask for (Microsoft:
                `https://graph.microsoft.com/.default`).
            tenant (int | None | str | Unset): The directory tenant, where the provider's endpoint names one (Microsoft: a
                tenant id or
                domain; never `common`).
    """

    client_id: str
    client_secret: str
    audience: None | str | Unset = UNSET
    resource: None | str | Unset = UNSET
    scope: None | str | Unset = UNSET
    tenant: int | None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        client_id = self.client_id

        client_secret = self.client_secret

        audience: None | str | Unset
        if isinstance(self.audience, Unset):
            audience = UNSET
        else:
            audience = self.audience

        resource: None | str | Unset
        if isinstance(self.resource, Unset):
            resource = UNSET
        else:
            resource = self.resource

        scope: None | str | Unset
        if isinstance(self.scope, Unset):
            scope = UNSET
        else:
            scope = self.scope

        tenant: int | None | str | Unset
        if isinstance(self.tenant, Unset):
            tenant = UNSET
        else:
            tenant = self.tenant

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "client_id": client_id,
                "client_secret": client_secret,
            }
        )
        if audience is not UNSET:
            field_dict["audience"] = audience
        if resource is not UNSET:
            field_dict["resource"] = resource
        if scope is not UNSET:
            field_dict["scope"] = scope
        if tenant is not UNSET:
            field_dict["tenant"] = tenant

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        client_id = d.pop("client_id")

        client_secret = d.pop("client_secret")

        def _parse_audience(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast("None | str | Unset", data)

        audience = _parse_audience(d.pop("audience", UNSET))

        def _parse_resource(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast("None | str | Unset", data)

        resource = _parse_resource(d.pop("resource", UNSET))

        def _parse_scope(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast("None | str | Unset", data)

        scope = _parse_scope(d.pop("scope", UNSET))

        def _parse_tenant(data: object) -> int | None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast("int | None | str | Unset", data)

        tenant = _parse_tenant(d.pop("tenant", UNSET))

        client_credentials_token_data = cls(
            client_id=client_id,
            client_secret=client_secret,
            audience=audience,
            resource=resource,
            scope=scope,
            tenant=tenant,
        )

        return client_credentials_token_data
