// mimalloc instead of glibc malloc: allocation and free were ~12 % of the ingest benchmark's
// samples (per-record buffers, one String per term), see bench/ingest/RESULTS.md.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    latentlabel_cli::main_entry()
}
