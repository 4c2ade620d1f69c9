//! Fails when ui/src/lib/backend/bindings.ts differs from what the Rust types generate.
//! Regenerate with `DEPOSIT_UPDATE_BINDINGS=1 cargo test -p deposit-app --test bindings`.

use std::path::Path;

#[test]
fn checked_in_bindings_are_current() {
    let checked_in = Path::new(env!("CARGO_MANIFEST_DIR")).join(deposit_app::BINDINGS_PATH);
    let dir = tempfile::tempdir().expect("tempdir");
    let fresh = dir.path().join("bindings.ts");
    deposit_app::export_bindings(&fresh).expect("export bindings");
    let fresh_text = std::fs::read_to_string(&fresh).expect("read fresh bindings");
    if std::env::var_os("DEPOSIT_UPDATE_BINDINGS").is_some() {
        std::fs::write(&checked_in, &fresh_text).expect("write bindings");
        return;
    }
    let old = std::fs::read_to_string(&checked_in).unwrap_or_default();
    assert!(
        old == fresh_text,
        "{} is stale; regenerate with DEPOSIT_UPDATE_BINDINGS=1 cargo test -p deposit-app --test bindings",
        checked_in.display()
    );
}
