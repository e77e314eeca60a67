//! The `latentlabel` command, built as part of the test crate so tests can run it as a separate
//! process (kill -9, `up --demo`) through `CARGO_BIN_EXE_latentlabel-node`.

fn main() -> std::process::ExitCode {
    latentlabel_cli::main_entry()
}
