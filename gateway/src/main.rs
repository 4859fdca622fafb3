//! Entry point: parse the command line and hand over. All logic lives in the library.

fn main() -> std::process::ExitCode {
    healing_space::cli::main()
}
