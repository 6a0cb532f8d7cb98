// mimalloc, not the system allocator: the request path allocates and frees small blocks on
// every request, and glibc's malloc took about 12 % of the proxied path's CPU (bench/README.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(regpilot_cli::main())
}
