//! The five plugins that ship with Zellige (SPEC §7), built from `plugins/` by the crate's build
//! script and embedded here so `serve --demo` can install them without a separate step.

/// A bundled plugin: its manifest text and component bytes.
pub struct Bundled {
    pub id: &'static str,
    pub manifest: &'static str,
    pub wasm: &'static [u8],
}

macro_rules! bundled {
    ($id:literal) => {
        Bundled {
            id: $id,
            manifest: include_str!(concat!("../../../plugins/", $id, "/plugin.toml")),
            wasm: include_bytes!(concat!(env!("OUT_DIR"), "/", $id, ".wasm")),
        }
    };
}

/// Every bundled plugin.
pub const BUNDLED: [Bundled; 5] = [
    bundled!("calendar"),
    bundled!("social-links"),
    bundled!("ad-slot"),
    bundled!("video-channel"),
    bundled!("artisans-directory"),
];

/// Where the build put the `wasm32-wasip2` components of `plugins/` (bundled plugins, template
/// and test fixtures), for tests and benchmarks.
pub const RELEASE_DIR: &str = env!("ZLG_PLUGINS_RELEASE_DIR");
