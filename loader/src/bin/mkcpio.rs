//! Packs files into a cpio "newc" archive with the loader's own writer (`loader::cpio::write`,
//! the one that packs the built-in ramdisk), for `scripts/mkinitrd` and the benchmark boots.
//!
//! ```text
//! cargo run -p loader --bin mkcpio -- OUT.cpio FILE[=PATH] ...
//! ```
//!
//! Each FILE goes into the archive at PATH (default: its base name; a leading `/` is
//! dropped), in the order given, as a regular file with mode 0755.

use std::path::Path;
use std::process::ExitCode;

use loader::cpio;

const USAGE: &str = "usage: mkcpio OUT.cpio FILE[=PATH] ...";

/// Where `spec` (`FILE` or `FILE=PATH`) puts its file: the source file and the path in the
/// archive, without a leading `/`.
fn source_and_path(spec: &str) -> (&str, String) {
    let (source, path) = match spec.split_once('=') {
        Some((source, path)) if !path.is_empty() => (source, path.to_string()),
        Some((source, _)) => (source, base_name(source)),
        None => (spec, base_name(spec)),
    };
    (source, path.trim_start_matches('/').to_string())
}

fn base_name(source: &str) -> String {
    Path::new(source).file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default()
}

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    if matches!(arguments.first().map(String::as_str), Some("-h" | "--help")) {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let [out, specs @ ..] = arguments.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    if specs.is_empty() {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    let mut files = Vec::new();
    for spec in specs {
        let (source, path) = source_and_path(spec);
        match std::fs::read(source) {
            Ok(data) => files.push((path, data)),
            Err(error) => {
                eprintln!("mkcpio: {source}: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    let entries: Vec<(&str, u32, &[u8])> = files
        .iter()
        .map(|(path, data)| (path.as_str(), cpio::MODE_REGULAR | 0o755, data.as_slice()))
        .collect();
    if let Err(error) = std::fs::write(out, cpio::write(&entries)) {
        eprintln!("mkcpio: {out}: {error}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_goes_to_its_base_name_unless_a_path_is_given() {
        assert_eq!(source_and_path("work/init"), ("work/init", "init".to_string()));
        assert_eq!(source_and_path("work/init=/init"), ("work/init", "init".to_string()));
        assert_eq!(source_and_path("work/bench=/bin/procbench"), ("work/bench", "bin/procbench".to_string()));
        assert_eq!(source_and_path("work/init="), ("work/init", "init".to_string()));
    }
}
