//! The `idgate` command.

/// mimalloc instead of glibc's allocator: a sign-in allocates and frees many small
/// buffers across worker threads, and glibc's malloc/free (with its arena locks and
/// fastbin consolidation) was ~13% of the server's CPU under sign-in load (`perf`, see
/// docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let code = idgate::main_entry().await;
    std::process::exit(code);
}
