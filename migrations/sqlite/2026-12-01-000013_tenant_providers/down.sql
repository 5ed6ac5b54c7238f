DROP TABLE tenant_providers;
