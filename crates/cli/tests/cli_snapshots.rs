//! Snapshot tests of help, errors and exit codes (`tests/cmd/*.toml`).
//! Regenerate after an intended change with `TRYCMD=overwrite cargo test -p sealpost --test cli_snapshots`.

#[test]
fn cli_snapshots() {
    trycmd::TestCases::new().env("SEALPOST_RETRY_BASE_MS", "10").env("NO_COLOR", "1").case("tests/cmd/*.toml");
}
