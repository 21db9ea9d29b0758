//! The README's list of settings is made from the registry
//! (`core::config`); this test fails when it is stale. Run with
//! `OXMPI_BLESS=1` to rewrite it.

const BEGIN: &str = "<!-- settings: generated from src/core/config.rs by tests/config.rs -->\n";
const END: &str = "<!-- settings end -->";

#[test]
fn readme_lists_every_setting() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text.find(BEGIN).expect("README has the settings marker") + BEGIN.len();
    let end = text[start..].find(END).expect("README has the end marker") + start;
    let fresh = mpi::core::config::markdown();
    if std::env::var_os("OXMPI_BLESS").is_some() {
        std::fs::write(
            &path,
            format!("{}{}{}", &text[..start], fresh, &text[end..]),
        )
        .unwrap();
        return;
    }
    assert!(
        text[start..end] == fresh,
        "README's settings are stale: regenerate with `OXMPI_BLESS=1 cargo test --test config`"
    );
}
