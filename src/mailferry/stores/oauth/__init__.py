"""OAuth2 access tokens for XOAUTH2 target logins, renewed for as long as a migration runs.

- ``cache``: ``CachedTokenProvider``, the ``TokenProvider`` (``stores.logins``) of every
  kind: per mailbox, renewed before expiry, one request at a time, ``invalidate``;
- ``entra``: Microsoft Entra app-only (client secret or certificate, MSAL);
- ``google``: a Google service account with domain-wide delegation (google-auth);
- ``refresh_token``: a generic OAuth2 refresh-token grant (httpx);
- ``settings``: ``provider_from_settings(kind, values)``, what the interfaces call;
- ``renewal``: a sync the server stopped by refusing the token runs again, bounded.

Import the modules themselves (``from mailferry.stores.oauth.settings import
provider_from_settings``): MSAL and google-auth load only when a provider of theirs is
made, so the job path that imports ``renewal`` stays light.
"""
