fn main() -> std::process::ExitCode {
    latentlabel_cli::main_entry()
}
