fn main() {
    std::process::exit(regpilot_cli::main())
}
