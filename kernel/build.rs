//! Builds the ring-3 programs in `user/` — the Rust ones with cargo, the C ones in `user/c`
//! with `musl-gcc -static` — and packs them into the built-in initial ramdisk
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
    ("bin/killtest", "killtest"),
    ("bin/orphans", "orphans"),
    ("bin/badpointers", "badpointers"),
    ("bin/readline", "readline"),
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
        // Under `cargo clippy`, the outer build's compiler wrapper must not run on user/.
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CLIPPY_ARGS")
        .status()
        .expect("kernel/build.rs: could not run cargo to build user/");
    assert!(status.success(), "kernel/build.rs: building the user programs failed");

    let binaries = target_dir.join("x86_64-unknown-none/release");
    let mut contents: Vec<(String, Vec<u8>)> = PROGRAMS
        .iter()
        .map(|(path, binary)| {
            let file = binaries.join(binary);
            let bytes =
                std::fs::read(&file).unwrap_or_else(|e| panic!("kernel/build.rs: {}: {e}", file.display()));
            (path.to_string(), bytes)
        })
        .collect();
    contents.extend(build_c_programs(&user_dir.join("c"), &out_dir));
    let entries: Vec<(&str, u32, &[u8])> = contents
        .iter()
        .map(|(path, bytes)| (path.as_str(), loader::cpio::MODE_REGULAR | 0o755, bytes.as_slice()))
        .collect();
    std::fs::write(out_dir.join("initrd.cpio"), loader::cpio::write(&entries)).unwrap();

    println!("cargo:rerun-if-changed=../user/src");
    println!("cargo:rerun-if-changed=../user/c");
    println!("cargo:rerun-if-changed=../user/Cargo.toml");
    println!("cargo:rerun-if-changed=../abi/src");
}

/// Compiles each `user/c/NAME.c` with `musl-gcc -static` into the ramdisk as `bin/NAME`:
/// unmodified C programs that run through the Linux ABI. Without musl-gcc (scripts/setup
/// installs it) they are left out, with a warning, and the tests that run them say so.
fn build_c_programs(source_dir: &std::path::Path, out_dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let compiler = env::var("LETHE_MUSL_GCC").unwrap_or_else(|_| "musl-gcc".into());
    if Command::new(&compiler).arg("--version").output().is_err() {
        println!(
            "cargo:warning=no {compiler}: the C programs of user/c are not in the ramdisk (run scripts/setup)"
        );
        return Vec::new();
    }
    let mut sources: Vec<PathBuf> = std::fs::read_dir(source_dir)
        .map(|entries| entries.filter_map(Result::ok).map(|entry| entry.path()).collect())
        .unwrap_or_default();
    sources.retain(|path| path.extension().is_some_and(|extension| extension == "c"));
    sources.sort();
    sources
        .iter()
        .map(|source| {
            let name = source.file_stem().unwrap().to_string_lossy().into_owned();
            let output = out_dir.join(&name);
            if name.ends_with("-pie") {
                link_static_pie(&compiler, source, &output);
            } else {
                let status = Command::new(&compiler)
                    .args(["-static", "-O2", "-Wall", "-Werror", "-o"])
                    .arg(&output)
                    .arg(source)
                    .status()
                    .expect("kernel/build.rs: could not run musl-gcc");
                assert!(status.success(), "kernel/build.rs: musl-gcc failed on {}", source.display());
            }
            (format!("bin/{name}"), std::fs::read(&output).unwrap())
        })
        .collect()
}

/// Builds a static-PIE program (ET_DYN without an interpreter) from `source`: musl-gcc's own
/// `-static-pie` links the non-relocating start file (the result crashes on Linux too), so
/// the link names musl's self-relocating `rcrt1.o` itself.
fn link_static_pie(compiler: &str, source: &std::path::Path, output: &std::path::Path) {
    let musl =
        PathBuf::from(env::var("LETHE_MUSL_LIB").unwrap_or_else(|_| "/usr/lib/x86_64-linux-musl".into()));
    let object = output.with_extension("o");
    let run = |command: &mut Command| {
        let status = command.status().expect("kernel/build.rs: could not run the compiler");
        assert!(status.success(), "kernel/build.rs: building {} as static PIE failed", source.display());
    };
    run(Command::new(compiler)
        .args(["-fPIE", "-O2", "-Wall", "-Werror", "-c", "-o"])
        .arg(&object)
        .arg(source));
    let libgcc =
        Command::new("gcc").arg("-print-libgcc-file-name").output().expect("kernel/build.rs: no gcc");
    let libgcc = String::from_utf8_lossy(&libgcc.stdout).trim().to_string();
    run(Command::new("gcc")
        .args(["-static-pie", "-nostdlib", "-Wl,--no-dynamic-linker", "-o"])
        .arg(output)
        .arg(musl.join("rcrt1.o"))
        .arg(musl.join("crti.o"))
        .arg(&object)
        .arg(musl.join("libc.a"))
        .arg(libgcc)
        .arg(musl.join("crtn.o")));
}
