fn main() -> std::process::ExitCode {
    v5c::cli::main()
}
