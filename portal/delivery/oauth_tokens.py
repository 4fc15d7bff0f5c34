"""The CRMs' OAuth tokens in the portal's database, so that every machine
signs with the same access token and one machine at a time refreshes it
(portal.crm.oauth asks the store for its turn; here the turn is
`Database.turn`: an advisory lock on PostgreSQL, a file lock beside the
SQLite file). Zoho caps how many access tokens one refresh token may mint:
machines refreshing on their own would spend that cap several times over.

Tokens are sealed with a key derived from the secret key. A portal that
kept its tokens in files under the instance folder reads that file until
the first refresh stores the tokens here."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select

from portal.crm.oauth import FileTokenStore, TokenStore, TokenStores, token_file
from portal.db.engine import Database
from portal.db.keys import Keys, seal, unseal
from portal.db.models import utcnow
from portal.db.shared_models import OAuthToken


class DatabaseTokenStore:
    def __init__(self, database: Database, key: bytes, crm: str, earlier_file: Path) -> None:
        self.database = database
        self.key = key
        self.crm = crm
        self.earlier = FileTokenStore(earlier_file)

    @property
    def where(self) -> str:
        return f"the portal's database ({self.database.safe_url}), sealed with the secret key"

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        with self.database.turn(f"oauth:{self.crm}"):
            yield

    def load(self) -> dict[str, Any] | None:
        with self.database.transaction() as db:
            sealed = db.execute(select(OAuthToken.sealed_token)
                                .where(OAuthToken.crm == self.crm)).scalar()
        if sealed is None:
            return self.earlier.load()
        opened = unseal(self.key, sealed, self.crm.encode())
        if opened is None:
            return None  # sealed under another secret key: obtain a new token
        data = json.loads(opened)
        return data if isinstance(data, dict) else None

    def save(self, token: Mapping[str, Any]) -> None:
        sealed = seal(self.key, json.dumps(dict(token)).encode(), self.crm.encode())
        with self.database.transaction() as db:
            db.execute(delete(OAuthToken).where(OAuthToken.crm == self.crm))
            db.execute(insert(OAuthToken).values(crm=self.crm, sealed_token=sealed,
                                                 updated_at=utcnow()))


def database_token_stores(database: Database, secret_key: str, state_dir: Path) -> TokenStores:
    """The token store of each CRM, by its configured name, in `database`."""
    key = Keys(secret_key).derive("oauth token")

    def store(crm: str) -> TokenStore:
        return DatabaseTokenStore(database, key, crm, token_file(state_dir, crm))

    return store
