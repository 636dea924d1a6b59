//! Sessions live in the metadata store, whichever backend it is.
use super::Db;
use async_trait::async_trait;
use tower_sessions::{
    session::{Id, Record},
    session_store::{self, ExpiredDeletion, SessionStore},
};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

/// A tower-sessions store on the metadata store's pool.
#[derive(Debug, Clone)]
pub enum MetaSessionStore {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl MetaSessionStore {
    pub fn new(db: Db) -> Self {
        match db {
            Db::Sqlite(p) => MetaSessionStore::Sqlite(SqliteStore::new(p)),
            Db::Postgres(p) => MetaSessionStore::Postgres(PostgresStore::new(p)),
        }
    }

    /// Creates the session table if it is missing.
    pub async fn migrate(&self) -> Result<(), sqlx::Error> {
        match self {
            MetaSessionStore::Sqlite(s) => s.migrate().await,
            MetaSessionStore::Postgres(s) => s.migrate().await,
        }
    }
}

#[async_trait]
impl SessionStore for MetaSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            MetaSessionStore::Sqlite(s) => s.create(record).await,
            MetaSessionStore::Postgres(s) => s.create(record).await,
        }
    }
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            MetaSessionStore::Sqlite(s) => s.save(record).await,
            MetaSessionStore::Postgres(s) => s.save(record).await,
        }
    }
    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            MetaSessionStore::Sqlite(s) => s.load(id).await,
            MetaSessionStore::Postgres(s) => s.load(id).await,
        }
    }
    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            MetaSessionStore::Sqlite(s) => s.delete(id).await,
            MetaSessionStore::Postgres(s) => s.delete(id).await,
        }
    }
}

#[async_trait]
impl ExpiredDeletion for MetaSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            MetaSessionStore::Sqlite(s) => s.delete_expired().await,
            MetaSessionStore::Postgres(s) => s.delete_expired().await,
        }
    }
}
