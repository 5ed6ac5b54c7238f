from __future__ import annotations

from enum import Enum


class StrEnum(str, Enum):
    """`enum.StrEnum` (3.11) for 3.9: members are strings and print as their value."""

    def __str__(self) -> str:
        return str(self.value)


class StoreOAuth2TokenRequestProvider(StrEnum):
    AIRTABLE = "airtable"
    ASANA = "asana"
    ATLASSIAN = "atlassian"
    AUTH0 = "auth0"
    BITBUCKET = "bitbucket"
    BOX = "box"
    CALENDLY = "calendly"
    CLICKUP = "clickup"
    DIGITALOCEAN = "digitalocean"
    DISCORD = "discord"
    DROPBOX = "dropbox"
    FIGMA = "figma"
    GITHUB = "github"
    GITLAB = "gitlab"
    GOOGLE = "google"
    HEROKU = "heroku"
    HUBSPOT = "hubspot"
    INTERCOM = "intercom"
    LINEAR = "linear"
    LINKEDIN = "linkedin"
    MAILCHIMP = "mailchimp"
    MICROSOFT = "microsoft"
    MIRO = "miro"
    MONDAY = "monday"
    NOTION = "notion"
    OKTA = "okta"
    PIPEDRIVE = "pipedrive"
    QUICKBOOKS = "quickbooks"
    REDDIT = "reddit"
    SALESFORCE = "salesforce"
    SENTRY = "sentry"
    SHOPIFY = "shopify"
    SLACK = "slack"
    SPOTIFY = "spotify"
    STRAVA = "strava"
    TODOIST = "todoist"
    TWITCH = "twitch"
    WEBEX = "webex"
    X = "x"
    XERO = "xero"
    ZENDESK = "zendesk"
    ZOHO = "zoho"
    ZOOM = "zoom"

    def __str__(self) -> str:
        return str(self.value)
