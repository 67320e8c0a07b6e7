fn main() -> std::process::ExitCode {
    rapidata::cli::main()
}
