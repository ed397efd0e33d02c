//! The operations command, `eda-admin`, as the suites and `scripts/test.sh` run it.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Once;

/// A command running `eda-admin`, built from this workspace first if it changed.
///
/// It is built together with this crate (`cargo build -p admin -p e2e`), as `scripts/test.sh`
/// builds it: cargo then resolves the SDK's features once for both, and builds it once. Alone
/// (`cargo run -p admin`), admin's narrower features would build the whole SDK a second time.
pub fn eda_admin() -> Command {
    static BUILT: Once = Once::new();
    BUILT.call_once(|| {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "--locked", "--manifest-path"])
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml"))
            .args(["-p", "admin", "-p", "e2e"])
            .status()
            .expect("run cargo build");
        assert!(status.success(), "cargo build -p admin -p e2e failed");
    });
    Command::new(built_binary("eda-admin"))
}

/// A binary that cargo put beside the test running now: a test is built into
/// `<target>/<profile>/deps/`, the workspace's binaries into `<target>/<profile>/`.
fn built_binary(name: &str) -> PathBuf {
    let test = std::env::current_exe().expect("the test's own path");
    let profile = test
        .parent()
        .and_then(|deps| deps.parent())
        .expect("a test lives in <target>/<profile>/deps");
    profile.join(name)
}
