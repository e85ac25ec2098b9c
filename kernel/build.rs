//! Builds the ring-3 programs in `user/` and packs them into the built-in initial ramdisk
//! (`$OUT_DIR/initrd.cpio`, a cpio newc archive the kernel embeds).
//!
//! The programs are built by a nested cargo with their own target directory and their own
//! flags: the kernel's flags for the bare target (code model `kernel`, a higher-half image
//! base) must not reach them, so `RUSTFLAGS` replaces the configured ones and the
//! `CARGO_ENCODED_RUSTFLAGS` this script inherits is dropped.

use std::env;
use std::path::PathBuf;
use std::process::Command;

/// Programs in the ramdisk: (path in the ramdisk, binary name in `user/`).
const PROGRAMS: &[(&str, &str)] = &[
    ("init", "init"),
    ("bin/hello", "hello"),
    ("bin/syscalls", "syscalls"),
    ("bin/segfault", "segfault"),
    ("bin/kernel-read", "kernel-read"),
    ("bin/forkwait", "forkwait"),
];

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let user_dir = manifest_dir.join("../user");
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let target_dir = manifest_dir.join("../target/user");
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());

    let status = Command::new(cargo)
        .current_dir(&user_dir)
        .args(["build", "--release", "--offline", "--target", "x86_64-unknown-none", "--bins"])
        .arg("--target-dir")
        .arg(&target_dir)
        .env("RUSTFLAGS", "-C relocation-model=static")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .status()
        .expect("kernel/build.rs: could not run cargo to build user/");
    assert!(status.success(), "kernel/build.rs: building the user programs failed");

    let binaries = target_dir.join("x86_64-unknown-none/release");
    let contents: Vec<(&str, Vec<u8>)> = PROGRAMS
        .iter()
        .map(|(path, binary)| {
            let file = binaries.join(binary);
            let bytes =
                std::fs::read(&file).unwrap_or_else(|e| panic!("kernel/build.rs: {}: {e}", file.display()));
            (*path, bytes)
        })
        .collect();
    let entries: Vec<(&str, u32, &[u8])> = contents
        .iter()
        .map(|(path, bytes)| (*path, loader::cpio::MODE_REGULAR | 0o755, bytes.as_slice()))
        .collect();
    std::fs::write(out_dir.join("initrd.cpio"), loader::cpio::write(&entries)).unwrap();

    println!("cargo:rerun-if-changed=../user/src");
    println!("cargo:rerun-if-changed=../user/Cargo.toml");
}
