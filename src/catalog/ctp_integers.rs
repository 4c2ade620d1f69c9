//! The persistent counters behind CTP's `@integer`: one sequence per key type, the same number
//! for the same value in every run. Values are originals (PHI) and stay in the local catalog.

use rusqlite::{params, OptionalExtension};

use super::{sql, Catalog, CatalogError};

impl Catalog {
    /// The number for (`key_type`, `value`), assigning the next one (1, 2, …) when new.
    pub fn ctp_integer(&mut self, key_type: &str, value: &str) -> Result<u64, CatalogError> {
        let tx = self.conn.transaction().map_err(sql("begin @integer"))?;
        let found: Option<i64> = tx
            .query_row(
                "SELECT n FROM ctp_integers WHERE key_type = ?1 AND value = ?2",
                params![key_type, value],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql("read @integer"))?;
        let n = match found {
            Some(n) => n,
            None => {
                let next: i64 = tx
                    .query_row(
                        "SELECT COALESCE(MAX(n), 0) + 1 FROM ctp_integers WHERE key_type = ?1",
                        params![key_type],
                        |r| r.get(0),
                    )
                    .map_err(sql("next @integer"))?;
                tx.execute(
                    "INSERT INTO ctp_integers (key_type, value, n) VALUES (?1, ?2, ?3)",
                    params![key_type, value, next],
                )
                .map_err(sql("assign @integer"))?;
                next
            }
        };
        tx.commit().map_err(sql("commit @integer"))?;
        Ok(n.max(0) as u64)
    }
}

/// A catalog connection as the CTP engine's @integer store (its own connection, so workers on
/// any thread can use it).
pub struct CatalogIntegers(std::sync::Mutex<Catalog>);

impl CatalogIntegers {
    /// Wraps an open catalog connection.
    pub fn new(catalog: Catalog) -> Self {
        CatalogIntegers(std::sync::Mutex::new(catalog))
    }
}

impl crate::deid::ctp::IntegerStore for CatalogIntegers {
    fn get_or_assign(&self, key_type: &str, value: &str) -> Result<u64, String> {
        let mut c = self
            .0
            .lock()
            .map_err(|_| "the @integer store is unusable after a worker panic".to_string())?;
        c.ctp_integer(key_type, value).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deid::ctp::IntegerStore;

    #[test]
    fn numbers_persist_per_key_type_across_connections() {
        let tmp = tempfile::tempdir().expect("tmp");
        let path = tmp.path().join("catalog.db");
        {
            let s = CatalogIntegers::new(Catalog::open(&path).expect("open"));
            assert_eq!(s.get_or_assign("ptid", "a"), Ok(1));
            assert_eq!(s.get_or_assign("ptid", "b"), Ok(2));
            assert_eq!(s.get_or_assign("acc", "a"), Ok(1));
        }
        let mut c = Catalog::open(&path).expect("reopen");
        assert_eq!(c.ctp_integer("ptid", "b").expect("n"), 2);
        assert_eq!(c.ctp_integer("ptid", "c").expect("n"), 3);
    }
}
