fn main() -> std::process::ExitCode {
    placemat::cli::main()
}
