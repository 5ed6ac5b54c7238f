from __future__ import annotations

from enum import Enum


class StrEnum(str, Enum):
    """`enum.StrEnum` (3.11) for 3.9: members are strings and print as their value."""

    def __str__(self) -> str:
        return str(self.value)


class StoreApiKeyTokenRequestProvider(StrEnum):
    AIRTABLE = "airtable"
    ANTHROPIC = "anthropic"
    ASANA = "asana"
    CALENDLY = "calendly"
    CIRCLECI = "circleci"
    CLICKUP = "clickup"
    CLOUDFLARE = "cloudflare"
    COHERE = "cohere"
    DEEPSEEK = "deepseek"
    DIGITALOCEAN = "digitalocean"
    ELEVENLABS = "elevenlabs"
    FIREWORKS = "fireworks"
    GEMINI = "gemini"
    GITHUB = "github"
    GITLAB = "gitlab"
    GROQ = "groq"
    HEROKU = "heroku"
    HUBSPOT = "hubspot"
    HUGGINGFACE = "huggingface"
    INTERCOM = "intercom"
    MISTRAL = "mistral"
    MONDAY = "monday"
    NETLIFY = "netlify"
    NOTION = "notion"
    OPENAI = "openai"
    OPENROUTER = "openrouter"
    PERPLEXITY = "perplexity"
    PINECONE = "pinecone"
    REPLICATE = "replicate"
    SENDGRID = "sendgrid"
    SENTRY = "sentry"
    STRIPE = "stripe"
    TODOIST = "todoist"
    TOGETHER = "together"
    TRELLO = "trello"
    VERCEL = "vercel"

    def __str__(self) -> str:
        return str(self.value)
