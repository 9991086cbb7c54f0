"""Endpoints: New/Get/Set/Remove-MigrationEndpoint and Test-MigrationServerAvailability."""
