//! pid 1 of the built-in ramdisk: shrugs off SIGKILL and SIGTERM sent to it (init gets only
//! the signals it has handlers for, as on Linux), starts each configured program (fork +
//! execve), reports how it ended, collects every orphan handed to it (docs/design.md R9), and
//! exits with 0 if all programs exited with 0.
#![no_std]
#![no_main]

use user::println;
use user::syscall::signal::{SIGKILL, SIGTERM};
use user::syscall::{self, WNOHANG};

user::entry!(main);

/// What init starts, in order.
const PROGRAMS: &[&[u8]] =
    &[b"/bin/hello\0", b"/bin/hello-musl\0", b"/bin/threads-musl\0", b"/bin/orphans\0"];
const ENVIRONMENT: &[&[u8]] = &[b"HOME=/\0", b"TERM=linux\0"];
const ECHILD: isize = syscall::failed(syscall::Errno::ECHILD);

fn name(path: &[u8]) -> &str {
    core::str::from_utf8(&path[..path.len() - 1]).unwrap_or("?")
}

/// Sends SIGKILL and SIGTERM to pid 1 from itself and from a child; true if init is still
/// here and the child exited normally.
fn survives_signals_to_itself() -> bool {
    let own = [syscall::kill(1, SIGKILL), syscall::kill(1, SIGTERM)];
    let child = syscall::fork();
    if child == 0 {
        let code = if syscall::kill(1, SIGKILL) == 0 && syscall::kill(1, SIGTERM) == 0 { 0 } else { 1 };
        syscall::exit_group(code);
    }
    let (_, status) = syscall::wait4(child, 0);
    if own != [0, 0] || status != 0 {
        println!(
            "init: kill(1, ...) from pid 1 returned {own:?}, from a child ended {status:#x}; want [0, 0], 0"
        );
        return false;
    }
    println!("init: still here after SIGKILL and SIGTERM to pid 1");
    true
}

fn main() -> i32 {
    println!("init: pid {} starting {} programs", syscall::getpid(), PROGRAMS.len());
    let mut failures = 0;
    if !survives_signals_to_itself() {
        failures += 1;
    }
    for &path in PROGRAMS {
        let pid = syscall::fork();
        if pid == 0 {
            let error = syscall::execve(path, &[path], ENVIRONMENT);
            println!("init: cannot run {}: error {}", name(path), -error);
            syscall::exit_group(127);
        }
        if pid < 0 {
            println!("init: fork failed: error {}", -pid);
            failures += 1;
            continue;
        }
        let (_, status) = syscall::wait4(pid, 0);
        match (status & 0x7f, (status >> 8) & 0xff) {
            (0, code) => println!("init: {} (pid {pid}) exited with {code}", name(path)),
            (signal, _) => println!("init: {} (pid {pid}) was killed by signal {signal}", name(path)),
        }
        if status != 0 {
            failures += 1;
        }
    }
    // Orphans handed to init: collect them all (waiting for those still running).
    let mut orphans = 0;
    loop {
        let (pid, status) = syscall::wait4(-1, 0);
        if pid == ECHILD {
            break;
        }
        if pid > 0 {
            orphans += 1;
            println!("init: collected orphan pid {pid} (status {status:#x})");
        }
    }
    let leftover = syscall::wait4(-1, WNOHANG).0;
    println!("init: done; {orphans} orphan(s) collected, {failures} failure(s), wait4 now says {leftover}");
    if failures == 0 && leftover == ECHILD { 0 } else { 1 }
}
