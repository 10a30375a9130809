//! Builds the bundled plugins (`plugins/`, their own cargo workspace) for `wasm32-wasip2` and
//! hands the components to the crate, which embeds them for `serve --demo`. The WIT contract,
//! the guest SDK, the plugins and the test fixtures are built from source here, so the README's
//! two commands need nothing but rustup.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The bundled plugins, by folder under `plugins/`.
const BUNDLED: &[&str] = &[
    "calendar",
    "social-links",
    "ad-slot",
    "video-channel",
    "artisans-directory",
];

fn main() {
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR"));
    let plugins = manifest_dir.join("../plugins");
    let out = PathBuf::from(env("OUT_DIR"));
    for watched in [
        "Cargo.toml",
        "Cargo.lock",
        "wit",
        "sdk",
        "template",
        "fixtures",
        ".cargo",
    ]
    .iter()
    .chain(BUNDLED)
    {
        println!("cargo:rerun-if-changed=../plugins/{watched}");
    }
    println!("cargo:rerun-if-env-changed=ZELLIGE_PLUGINS_TARGET_DIR");
    // The admin UI is embedded (`http::admin_ui`): a new or changed file rebuilds the server.
    println!("cargo:rerun-if-changed=../admin-ui");
    println!("cargo:rerun-if-changed=vendor");
    // `<target>/<profile>/build/zellige-…/out` → `<target>/wasm-plugins`, beside the host build
    // but with its own lock, so this nested build never waits on the outer one.
    let target_dir = std::env::var_os("ZELLIGE_PLUGINS_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            out.ancestors()
                .nth(4)
                .map(|t| t.join("wasm-plugins"))
                .unwrap_or_else(|| plugins.join("target"))
        });
    ensure_wasm_target();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&plugins)
        .args([
            "build",
            "--release",
            "--locked",
            "--target",
            "wasm32-wasip2",
            "--workspace",
        ])
        .env("CARGO_TARGET_DIR", &target_dir);
    // The outer build's settings are for the host, not for the guests (clippy's wrapper and its
    // `-D warnings`, host rustflags, coverage flags …).
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "CLIPPY_ARGS",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
        "MFLAGS",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("running cargo for the bundled plugins: {e}"));
    assert!(
        status.success(),
        "building the bundled plugins (plugins/, target wasm32-wasip2) failed"
    );
    let release = target_dir.join("wasm32-wasip2/release");
    for name in BUNDLED {
        let lib = lib_name(&plugins.join(name).join("Cargo.toml"));
        let from = release.join(format!("{lib}.wasm"));
        let to = out.join(format!("{name}.wasm"));
        std::fs::copy(&from, &to)
            .unwrap_or_else(|e| panic!("copying {} to {}: {e}", from.display(), to.display()));
    }
    println!(
        "cargo:rustc-env=ZLG_PLUGINS_RELEASE_DIR={}",
        release.display()
    );
}

fn env(key: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| panic!("{key} is not set"))
}

/// The cdylib's file stem: the package name with `-` as `_`.
fn lib_name(cargo_toml: &Path) -> String {
    let text = std::fs::read_to_string(cargo_toml)
        .unwrap_or_else(|e| panic!("reading {}: {e}", cargo_toml.display()));
    let value: toml::Value = text
        .parse()
        .unwrap_or_else(|e| panic!("parsing {}: {e}", cargo_toml.display()));
    let package = value.get("package").and_then(|p| p.get("name"));
    let lib = value.get("lib").and_then(|l| l.get("name"));
    lib.or(package)
        .and_then(|v| v.as_str())
        .unwrap_or_else(|| panic!("{} has no package name", cargo_toml.display()))
        .replace('-', "_")
}

/// Adds the `wasm32-wasip2` target through rustup when the toolchain lacks it (the repository's
/// `rust-toolchain.toml` normally has rustup do this by itself).
fn ensure_wasm_target() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let libdir = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", "wasm32-wasip2"])
        .output();
    let present = matches!(&libdir, Ok(o) if o.status.success()
        && Path::new(String::from_utf8_lossy(&o.stdout).trim()).is_dir());
    if !present {
        let _ = Command::new("rustup")
            .args(["target", "add", "wasm32-wasip2"])
            .status();
    }
}
