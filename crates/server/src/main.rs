fn main() -> std::process::ExitCode {
    circles_server::cli::main()
}
