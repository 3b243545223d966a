//! Snapshot tests of `sealpost jwt decode|verify|sign` (`tests/jwt/*.toml`), with a
//! fixed `--now` so output is stable, and exact exit codes (0, 1, 10).
//! Regenerate after an intended change: `TRYCMD=overwrite cargo test -p sealpost --test jwt_cli`.

#[test]
fn jwt_snapshots() {
    trycmd::TestCases::new().env("NO_COLOR", "1").case("tests/jwt/*.toml");
}
